"""Calendar files parse back with icalendar and carry the right instants, zones and updates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from network.auth.models import User
from network.events import services
from network.events.calendar import vtimezone
from network.events.models import Event, EventStatus, EventVisibility
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
        services.update_event(editor, row, data)
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


# Daylight-saving changes in 2027 for zones the network's chapters use: two northern rules, a zone
# without daylight saving since 2022, a southern one, and a zone on the North American rule.
DST_CHANGES_2027 = {
    "America/Los_Angeles": [datetime(2027, 3, 14), datetime(2027, 11, 7)],
    "Europe/Madrid": [datetime(2027, 3, 28), datetime(2027, 10, 31)],
    "America/Mexico_City": [datetime(2027, 4, 4), datetime(2027, 10, 31)],
    "Australia/Sydney": [datetime(2027, 4, 4), datetime(2027, 10, 3)],
    "America/Toronto": [datetime(2027, 3, 14), datetime(2027, 11, 7)],
}


def _vobject_read(data: bytes):
    """Parse with vobject as a client built on it would, from a clean slate: vobject keeps the
    first VTIMEZONE it ever saw for a TZID in a process-wide table, which would hide this one."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    for tzid in [tzid for tzid in registry if tzid != "UTC"]:
        del registry[tzid]
    return vobject.readOne(data.decode())


def _instants_by_two_parsers(data: bytes) -> dict[str, tuple[datetime, datetime]]:
    """Each event's UTC start and end, as icalendar and vobject read them; they must agree."""
    by_icalendar = {
        str(c["UID"]): (c.decoded("DTSTART").astimezone(UTC), c.decoded("DTEND").astimezone(UTC))
        for c in Calendar.from_ical(data).walk("VEVENT")
    }
    by_vobject = {
        v.uid.value: (v.dtstart.value.astimezone(UTC), v.dtend.value.astimezone(UTC))
        for v in _vobject_read(data).vevent_list
    }
    assert by_vobject == by_icalendar
    return by_icalendar


def test_every_feed_reads_the_same_instants_in_two_parsers_across_dst_changes(
    app, network, make_event, make_members
):
    (member,) = make_members(1)
    created = []
    for zone, changes in DST_CHANGES_2027.items():
        for change in changes:
            for day in (change - timedelta(days=1), change + timedelta(days=1)):
                created.append(
                    make_event(
                        starts_local=day.replace(hour=18),
                        ends_local=day.replace(hour=20),
                        timezone=zone,
                        capacity=None,
                    )
                )
            # Overnight, across the change itself.
            created.append(
                make_event(
                    starts_local=(change - timedelta(days=1)).replace(hour=22),
                    ends_local=change.replace(hour=6),
                    timezone=zone,
                    capacity=None,
                )
            )
    member_client = login(app.test_client(), member)
    for event in created:
        assert member_client.post(f"/events/{event.id}/register").status_code in {200, 302}
    with app.test_request_context():
        token = services.feed_token(db.session.get(User, member.id))
        db.session.commit()
        stored = {
            row.uid: (row.starts_at.astimezone(UTC), row.ends_at.astimezone(UTC))
            for row in db.session.scalars(db.select(Event))
        }
    # The database holds the wall-clock times in their zones, independently of both parsers.
    for event in created:
        zone = ZoneInfo(event.timezone)
        local = event.local_start.replace(tzinfo=None)
        assert stored[event.uid][0] == local.replace(tzinfo=zone).astimezone(UTC)
    client = app.test_client()
    feeds = {
        "chapter": client.get("/chapters/madrid/events.ics"),
        "personal": client.get(f"/calendar/{token}.ics"),
    }
    for name, response in feeds.items():
        assert response.status_code == 200, name
        assert _instants_by_two_parsers(response.data) == stored, name
    for event in created:
        single = _instants_by_two_parsers(client.get(f"/events/{event.id}.ics").data)
        assert single == {event.uid: stored[event.uid]}


@pytest.mark.parametrize(
    "zone",
    [
        *DST_CHANGES_2027,
        "Europe/London",
        "America/Santiago",  # "first Sunday on or after the 2nd"
        "Asia/Jerusalem",  # "Friday on or after the 23rd"
        "Australia/Lord_Howe",  # half an hour of daylight saving
        "Asia/Tokyo",  # no change at all
    ],
)
def test_vtimezone_gives_vobject_the_offsets_zoneinfo_has_from_1970_to_2045(zone):
    # Noon every third day: a rule read a week off, or a year lost, shows on several samples.
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//\r\n"
    text += vtimezone(zone, date(1970, 1, 1)).to_ical().decode() + "END:VCALENDAR\r\n"
    assert "RDATE" not in text
    described = _vobject_read(text.encode()).vtimezone.gettzinfo()
    wrong = []
    day = datetime(1970, 1, 2, 12)
    while day.year < 2045:
        if described.utcoffset(day) != day.replace(tzinfo=ZoneInfo(zone)).utcoffset():
            wrong.append(day)
        day += timedelta(days=3)
    assert wrong == []


@pytest.mark.parametrize(
    ("address", "city", "location"),
    [
        (
            "1 Paseo de San Antonio, San José, CA 95113",
            "San José",
            "Casa de México, 1 Paseo de San Antonio, San José, CA 95113",
        ),
        ("10 Main St, San Jose, CA", "San José", "Casa de México, 10 Main St, San Jose, CA"),
        ("Calle Alcalá 21", "Madrid", "Casa de México, Calle Alcalá 21, Madrid"),
        ("Calle Leónidas 3", "León", "Casa de México, Calle Leónidas 3, León"),
    ],
)
def test_location_names_the_city_once(app, network, make_event, address, city, location):
    event = make_event(address=address, city=city)
    response = app.test_client().get(f"/events/{event.id}.ics")
    assert str(_only_event(_parse(response))["LOCATION"]) == location
    assert _vobject_read(response.data).vevent.location.value == location
