"""Event pages as people use them: registering, the waitlist, the online link, times, hosts' tools."""

from __future__ import annotations

import csv
import io
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from network.auth.models import User
from network.events import services
from network.events.models import Event, EventFormat, EventStatus, EventVisibility, Registration
from network.extensions import db
from network.members.models import Concept
from tests.conftest import login
from tests.events.conftest import local_in

SECRET = "https://meet.example.org/secreto-agua"


def _text(response) -> str:
    body = response.get_data(as_text=True)
    if response.mimetype == "text/calendar":
        body = body.replace("\r\n ", "")  # unfold long iCalendar lines before looking inside
    return body


def test_register_waitlist_cancel_and_promotion_through_the_page(
    app, network, make_event, make_members, outbox
):
    event = make_event(capacity=1)
    first, second = make_members(2)
    a = login(app.test_client(), first)
    b = login(app.test_client(), second)
    a.post(f"/events/{event.id}/register")
    page = _text(a.get(f"/events/{event.id}"))
    assert "You have a seat" in page or "Tienes un lugar" in page
    assert SECRET in page
    b.post(f"/events/{event.id}/register")
    page = _text(b.get(f"/events/{event.id}"))
    assert re.search(r'data-testid="registration-status">[^<]*\b1\b', page)
    assert SECRET not in page
    a.post(f"/events/{event.id}/cancel-registration")
    page = _text(b.get(f"/events/{event.id}"))
    assert SECRET in page
    assert [m.recipient for m in outbox() if m.kind == "event_promoted"] == [second.email]


@pytest.mark.parametrize(
    "who", ["anonymous", "member", "waitlisted", "other_coordinator", "org_user"]
)
def test_the_online_link_never_reaches_those_without_a_seat(
    app, network, make_event, make_members, who
):
    event = make_event(capacity=1)
    seated, waiting = make_members(2)
    for person in (seated, waiting):
        login(app.test_client(), person).post(f"/events/{event.id}/register")
    viewer = {"anonymous": None, "waitlisted": waiting}.get(who, getattr(network, who, None))
    client = login(app.test_client(), viewer)
    for url in (
        f"/events/{event.id}",
        f"/events/{event.id}.ics",
        "/events",
        "/chapters/madrid",
        "/chapters/madrid/events.ics",
        "/events/mine",
        "/search?q=agua&kind=events",
    ):
        body = _text(client.get(url))
        assert SECRET not in body, f"{who} saw the link on {url}"
        assert "secreto-agua" not in body


def test_hosts_and_confirmed_attendees_get_the_link_in_calendar_files(
    app, network, make_event, make_members
):
    event = make_event()
    (person,) = make_members(1)
    client = login(app.test_client(), person)
    client.post(f"/events/{event.id}/register")
    assert SECRET in _text(client.get(f"/events/{event.id}.ics"))
    assert SECRET in _text(
        login(app.test_client(), network.coordinator).get(f"/events/{event.id}.ics")
    )


def test_members_only_events_are_not_listed_for_visitors(app, network, make_event):
    make_event(title="Cena de socios", visibility=EventVisibility.MEMBERS)
    make_event(title="Charla abierta")
    anonymous = _text(app.test_client().get("/events"))
    assert "Charla abierta" in anonymous and "Cena de socios" not in anonymous
    assert "Cena de socios" not in _text(app.test_client().get("/chapters/madrid/events.ics"))
    member = _text(login(app.test_client(), network.member).get("/events"))
    assert "Cena de socios" in member


def test_list_filters(app, network, make_event, vocabulary):
    with app.app_context():
        hydrology = db.session.get(Concept, vocabulary["hydrology"])
        db.session.expunge(hydrology)
    make_event(title="Hidrología urbana", topics=[hydrology])
    make_event(title="Noche en línea", format=EventFormat.ONLINE, venue="", address="")
    make_event(
        title="Soirée à Paris",
        author=network.other_coordinator,
        hosts=[network.paris],
        timezone="Europe/Paris",
    )
    client = app.test_client()

    def titles(query: str) -> set[str]:
        body = _text(client.get(f"/events?{query}"))
        return {t for t in ("Hidrología urbana", "Noche en línea", "Soirée à Paris") if t in body}

    assert titles("") == {"Hidrología urbana", "Noche en línea", "Soirée à Paris"}
    assert titles("topic=hydrology") == {"Hidrología urbana"}
    assert titles("format=online") == {"Noche en línea"}
    assert titles("chapter=paris") == {"Soirée à Paris"}
    assert titles("country=FR") == {"Soirée à Paris"}
    assert titles("region=europe") == {"Hidrología urbana", "Noche en línea", "Soirée à Paris"}
    assert titles("when=past") == set()


def test_time_notice_names_both_zones_when_they_differ(app, network, make_event):
    event = make_event(starts_local=local_in(30, 18), ends_local=local_in(30, 20))
    client = app.test_client()
    client.set_cookie("tz", "America%2FMexico_City")
    client.set_cookie("lang", "en")
    page = _text(client.get(f"/events/{event.id}"))
    notice = re.search(r'data-testid="time-notice">([^<]*)<', page)
    assert notice, "a viewer in Mexico City is told the time difference"
    text = " ".join(notice.group(1).split())
    assert "18:00 in Madrid" in text and "Mexico City" in text
    with app.app_context():
        starts = db.session.get(Event, event.id).starts_at

    assert starts.astimezone(ZoneInfo("America/Mexico_City")).strftime("%H:%M") in text
    # A viewer in the event's own zone sees no notice.
    client.set_cookie("tz", "Europe%2FMadrid")
    assert 'data-testid="time-notice"' not in _text(client.get(f"/events/{event.id}"))


def test_creating_an_event_through_the_form(app, network):
    client = login(app.test_client(), network.coordinator)
    form = _text(client.get("/events/new?chapter=madrid"))
    assert re.search(r'<option selected value="Europe/Madrid">', form)
    response = client.post(
        "/events/new",
        data={
            "title": "Taller de datos abiertos",
            "description": "Con **ejemplos**.",
            "chapters": [str(network.madrid.id)],
            "starts_at": "2027-03-26T18:00",
            "ends_at": "2027-03-26T20:00",
            "timezone": "Europe/Madrid",
            "format": "in_person",
            "language": "es",
            "venue": "Casa de México",
            "capacity": "25",
            "visibility": "public",
            "status": "published",
            "questions": "¿Alguna alergia?",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.title == "Taller de datos abiertos"
        assert event.starts_at.isoformat() == "2027-03-26T17:00:00+00:00"
        assert [q.label for q in event.questions] == ["¿Alguna alergia?"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_at": "2027-03-26T17:00"}, "ends_at"),
        ({"starts_at": "mañana"}, "starts_at"),
        ({"format": "hybrid"}, "online_url"),
        ({"topics": "cosas raras"}, "topics"),
        ({"chapters": "999"}, "chapters"),
    ],
)
def test_the_form_explains_what_is_wrong_and_keeps_the_input(app, network, changes, field):
    client = login(app.test_client(), network.coordinator)
    client.set_cookie("lang", "en")
    data = {
        "title": "Taller",
        "chapters": str(network.madrid.id),
        "starts_at": "2027-03-26T18:00",
        "ends_at": "2027-03-26T20:00",
        "timezone": "Europe/Madrid",
        "format": "in_person",
        "language": "es",
        "venue": "Casa de México",
        "visibility": "public",
        "status": "draft",
    }
    data.update(changes)
    response = client.post("/events/new", data=data)
    assert response.status_code == 200
    body = _text(response)
    assert re.search(rf'id="{field}-error"[^>]*>\s*\S', body), f"no message next to {field}"
    assert 'value="Taller"' in body
    with app.app_context():
        assert db.session.scalar(select(Event)) is None


def test_attendee_list_and_csv_share_only_what_attendees_allow(
    app, network, make_event, make_member
):
    event = make_event(questions=["¿Dieta?"])
    shares = make_member(
        {"employer": "UNAM", "email_visibility": "coordinators", "position_visibility": "members"},
        email="comparte@ejemplo.mx",
    )
    hides = make_member(
        {"employer": "Secreta SA", "email_visibility": "private", "position_visibility": "private"},
        email="oculta@ejemplo.mx",
    )
    for person in (shares, hides):
        login(app.test_client(), person).post(f"/events/{event.id}/register")
    host = login(app.test_client(), network.coordinator)
    page = _text(host.get(f"/events/{event.id}/attendees"))
    exported = _text(host.get(f"/events/{event.id}/attendees.csv"))
    for body in (page, exported):
        assert "comparte@ejemplo.mx" in body and "UNAM" in body
        assert "oculta@ejemplo.mx" not in body and "Secreta SA" not in body
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["status"] for r in rows} == {"confirmed"} and "¿Dieta?" in rows[0]


def test_check_in_by_code_and_from_the_list(app, network, make_event, make_members):
    event = make_event()
    first, second = make_members(2)
    for person in (first, second):
        login(app.test_client(), person).post(f"/events/{event.id}/register")
    page = _text(login(app.test_client(), first).get(f"/events/{event.id}"))
    code = re.search(r'data-testid="checkin-code">(\w+)<', page).group(1)
    host = login(app.test_client(), network.coordinator)
    host.post(f"/events/{event.id}/attendees", data={"code": code.lower()})
    with app.app_context():
        row = db.session.scalar(select(Registration).where(Registration.user_id == second.id))
        host.post(f"/events/{event.id}/attendees/{row.id}/attended", data={"attended": "yes"})
        attended = {r.user_id for r in db.session.scalars(select(Registration)) if r.attended_at}
    assert attended == {first.id, second.id}
    bad = host.post(f"/events/{event.id}/attendees", data={"code": "NOPE00"})
    assert (bad.status_code == 200 and "No confirmed attendee" in _text(bad)) or "Ningún" in _text(
        bad
    )


def test_personal_feed_is_secret_revocable_and_carries_my_links(
    app, network, make_event, make_members
):
    event = make_event(visibility=EventVisibility.MEMBERS)
    (person,) = make_members(1)
    client = login(app.test_client(), person)
    client.post(f"/events/{event.id}/register")
    client.post("/events/mine/feed", data={"action": "create"})
    page = _text(client.get("/events/mine"))
    url = re.search(
        r'id="feed-url" readonly value="http://localhost(/calendar/[^"]+)"', page
    ).group(1)
    feed = app.test_client().get(url)  # calendar programs fetch without cookies
    assert feed.status_code == 200 and SECRET in _text(feed) and event.title in _text(feed)
    client.post("/events/mine/feed", data={"action": "revoke"})
    assert app.test_client().get(url).status_code == 404


def test_chapter_page_lists_its_upcoming_events(app, network, make_event):
    make_event(title="Charla de otoño")
    body = _text(app.test_client().get("/chapters/madrid"))
    assert "Charla de otoño" in body and "/chapters/madrid/events.ics" in body


def test_cancelled_event_page_says_so_and_refuses_registration(
    app, network, make_event, make_members
):
    event = make_event()
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        services.cancel_event(row)
        db.session.commit()
    (person,) = make_members(1)
    client = login(app.test_client(), person)
    page = _text(client.get(f"/events/{event.id}"))
    assert 'data-testid="cancelled"' in page and 'data-testid="registration-closed"' in page
    client.post(f"/events/{event.id}/register")
    with app.app_context():
        assert db.session.scalar(select(Registration)) is None
        assert db.session.get(Event, event.id).status == EventStatus.CANCELLED


def test_no_n_plus_one_on_the_list(app, network, make_event, count_queries):
    make_event()
    client = app.test_client()
    with count_queries() as few:
        client.get("/events")
    for _ in range(6):
        make_event()
    with count_queries() as many:
        client.get("/events")
    assert many.count == few.count
    _ = User
