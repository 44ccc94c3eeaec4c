"""Calendar files parse back with icalendar and carry the right instants, zones and updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from network.auth.models import User
from network.events import services
from network.events.models import Event, EventStatus
from network.extensions import db
from tests.conftest import login


def _parse(response) -> Calendar:
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def _only_event(calendar: Calendar):
    (component,) = calendar.walk("VEVENT")
    return component


def test_event_file_carries_the_zone_and_the_right_utc_instants_across_dst(
    app, network, make_event
):
    # 26 March 2027 is winter time in Madrid (UTC+1); the 30th is summer time (UTC+2).
    winter = make_event(
        starts_local=datetime(2027, 3, 26, 18), ends_local=datetime(2027, 3, 26, 20)
    )
    summer = make_event(
        starts_local=datetime(2027, 3, 30, 18), ends_local=datetime(2027, 3, 30, 20)
    )
    overnight = make_event(
        starts_local=datetime(2027, 3, 27, 22), ends_local=datetime(2027, 3, 28, 4)
    )
    client = app.test_client()
    expected = {
        winter.id: (datetime(2027, 3, 26, 17, tzinfo=UTC), datetime(2027, 3, 26, 19, tzinfo=UTC)),
        summer.id: (datetime(2027, 3, 30, 16, tzinfo=UTC), datetime(2027, 3, 30, 18, tzinfo=UTC)),
        overnight.id: (datetime(2027, 3, 27, 21, tzinfo=UTC), datetime(2027, 3, 28, 2, tzinfo=UTC)),
    }
    for event_id, (start, end) in expected.items():
        calendar = _parse(client.get(f"/events/{event_id}.ics"))
        (zone,) = calendar.walk("VTIMEZONE")
        assert str(zone["TZID"]) == "Europe/Madrid"
        component = _only_event(calendar)
        assert component["DTSTART"].params["TZID"] == "Europe/Madrid"
        assert component.decoded("DTSTART").astimezone(UTC) == start
        assert component.decoded("DTEND").astimezone(UTC) == end
        assert component.decoded("DTSTART").strftime("%H:%M") in {"18:00", "22:00"}
    # The overnight event lasts five real hours, not six, because the clocks jump forward.
    component = _only_event(_parse(client.get(f"/events/{overnight.id}.ics")))
    duration = component.decoded("DTEND").astimezone(UTC) - component.decoded("DTSTART").astimezone(
        UTC
    )
    assert duration == timedelta(hours=5)


def test_uid_is_stable_sequence_grows_and_cancelling_says_cancelled(app, network, make_event):
    event = make_event()
    client = app.test_client()
    before = _only_event(_parse(client.get(f"/events/{event.id}.ics")))
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        editor = db.session.get(User, network.coordinator.id)
        data = services.EventData(
            title=row.title,
            description=row.description,
            hosts=list(row.hosts),
            starts_local=row.local_start.replace(tzinfo=None) + timedelta(hours=1),
            ends_local=row.local_end.replace(tzinfo=None) + timedelta(hours=1),
            timezone=row.timezone,
            format=row.format,
            visibility=row.visibility,
            status=row.status,
            venue=row.venue,
            online_url=row.online_url,
            capacity=row.capacity,
        )
        services.update_event(row, editor, data)
        db.session.commit()
    moved = _only_event(_parse(client.get(f"/events/{event.id}.ics")))
    assert str(moved["UID"]) == str(before["UID"])
    assert int(moved["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert moved.decoded("DTSTART") - before.decoded("DTSTART") == timedelta(hours=1)
    with app.test_request_context():
        services.cancel_event(db.session.get(Event, event.id))
        db.session.commit()
    cancelled = _only_event(_parse(client.get("/chapters/madrid/events.ics")))
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) == int(moved["SEQUENCE"]) + 1
    assert str(cancelled["UID"]) == str(before["UID"])


def test_chapter_feed_has_public_published_events_only_without_links(app, network, make_event):
    from network.events.models import EventVisibility

    make_event(title="Pública")
    make_event(title="Solo socios", visibility=EventVisibility.MEMBERS)
    make_event(title="Borrador", status=EventStatus.DRAFT)
    make_event(title="De París", author=network.other_coordinator, hosts=[network.paris])
    calendar = _parse(app.test_client().get("/chapters/madrid/events.ics"))
    titles = [str(c["SUMMARY"]) for c in calendar.walk("VEVENT")]
    assert titles == ["Pública"]
    assert "secreto-agua" not in calendar.to_ical().decode().replace("\r\n ", "")


def test_personal_feed_includes_members_only_events_with_my_link(
    app, network, make_event, make_members
):
    from network.events.models import EventVisibility

    event = make_event(title="Solo socios", visibility=EventVisibility.MEMBERS, capacity=1)
    other = make_event(title="Lleno")
    seated, waiting = make_members(2)
    login(app.test_client(), seated).post(f"/events/{event.id}/register")
    login(app.test_client(), seated).post(f"/events/{other.id}/register")
    login(app.test_client(), waiting).post(f"/events/{event.id}/register")
    with app.test_request_context():
        token = services.feed_token(db.session.get(User, seated.id))
        waiting_token = services.feed_token(db.session.get(User, waiting.id))
        db.session.commit()
    # Someone still waiting sees the event in their feed, but not the door to the room.
    waiting_feed = _parse(app.test_client().get(f"/calendar/{waiting_token}.ics"))
    assert [str(c["SUMMARY"]) for c in waiting_feed.walk("VEVENT")] == ["Solo socios"]
    assert "secreto-agua" not in waiting_feed.to_ical().decode().replace("\r\n ", "")
    calendar = _parse(app.test_client().get(f"/calendar/{token}.ics"))
    by_title = {str(c["SUMMARY"]): c for c in calendar.walk("VEVENT")}
    assert set(by_title) == {"Solo socios", "Lleno"}
    assert "secreto-agua" in str(by_title["Solo socios"]["LOCATION"])
