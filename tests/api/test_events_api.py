"""Events in the API: the pages' visibility and hosting rules, registration with a waitlist,
JSON errors instead of crashes, and an online link that only hosts and confirmed attendees see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import func, select

from chapters.models import ChapterRole
from network.api.schemas.fields import LOCAL_TIME_PATTERN, LocalDateTime, Problem
from network.auth.services import create_api_token
from network.db import utcnow
from network.events.models import Event
from network.extensions import db

SECRET_LINK = "https://meet.example.org/sala-secreta-8841"


def _headers(app, user) -> dict[str, str]:
    from network.auth.models import User

    with app.test_request_context():
        _token, plain = create_api_token(db.session.get(User, user.id), "t")
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _local(days: float, hour: int = 18) -> str:
    """A wall-clock time `days` from now at `hour` o'clock, as the API takes it."""
    return (utcnow() + timedelta(days=days)).strftime(f"%Y-%m-%dT{hour:02d}:00")


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Agua y ciudades",
        "description": "Una charla sobre hidrología urbana.",
        "chapters": ["madrid"],
        "starts_at": _local(10),
        "ends_at": _local(10, 20),
        "timezone": "Europe/Madrid",
        "format": "hybrid",
        "venue": "Casa de México",
        "online_url": SECRET_LINK,
        "capacity": 10,
        "visibility": "public",
        "status": "published",
    }
    body.update(overrides)
    return body


def _held_in_the_past(app, event_id: int, days: int) -> int:
    """An event that already took place: created ahead (as the rules demand), then time passed."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        event.starts_at -= timedelta(days=days)
        event.ends_at -= timedelta(days=days)
        db.session.commit()
    return event_id


def _create(client, headers, **overrides: Any) -> int:
    response = client.post("/api/v1/events", headers=headers, json=_payload(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _event_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Event.id)))


ENGLISH = {"Accept-Language": "en"}  # the API's messages are asked for in English here


@pytest.fixture
def api(app, network):
    """A test client and a token header per account of the network fixture."""

    class Api:
        client = app.test_client()
        coordinator = _headers(app, network.coordinator)
        other_coordinator = _headers(app, network.other_coordinator)
        member = _headers(app, network.member)
        org = _headers(app, network.org_user)
        ime = _headers(app, network.ime)

    return Api


# ---------------------------------------------------------------- creating


def test_a_coordinator_creates_an_event_that_then_appears(app, network, api, vocabulary):
    response = api.client.post(
        "/api/v1/events",
        headers=api.coordinator,
        json=_payload(
            starts_at="2031-03-05T18:00",
            ends_at="2031-03-05T20:00",
            topics=["hydrology", "Tratamiento de agua"],
            address="Calle Alcalá 21",
            language="en",
            questions=["¿Alguna alergia?"],
        ),
    )
    assert response.status_code == 201
    event_id = response.get_json()["id"]
    assert response.get_json() == {"id": event_id}

    body = api.client.get(f"/api/v1/events/{event_id}").get_json()
    assert body["title"] == "Agua y ciudades"
    assert body["chapters"] == [{"slug": "madrid", "name": "Madrid"}]
    assert body["starts_at"] == "2031-03-05T18:00:00+01:00", "wall-clock time in its zone"
    assert body["ends_at"] == "2031-03-05T20:00:00+01:00"
    assert body["starts_at_utc"] == "2031-03-05T17:00:00+00:00"
    assert body["timezone"] == "Europe/Madrid"
    assert (body["format"], body["visibility"], body["status"]) == ("hybrid", "public", "published")
    assert (body["venue"], body["address"], body["city"]) == (
        "Casa de México",
        "Calle Alcalá 21",
        "Madrid",
    )
    assert (body["country"], body["language"], body["capacity"]) == ("ES", "en", 10)
    assert (body["seats_taken"], body["waitlist_length"]) == (0, 0)
    assert [t["slug"] for t in body["topics"]] == ["hydrology", "water-treatment"]
    assert body["topics"][0] == {
        "slug": "hydrology",
        "label_es": "Hidrología",
        "label_en": "Hydrology",
    }
    assert body["url"].endswith(f"/events/{event_id}")
    assert body["ics_url"].endswith(f"/events/{event_id}.ics")
    assert body["registration_opens_at"] is None and body["registration_closes_at"] is None
    assert "my_registration" not in body

    listed = api.client.get("/api/v1/events?upcoming=true").get_json()
    assert [e["id"] for e in listed["items"]] == [event_id]
    assert listed["items"][0] == body, "list items and the detail are the same shape"


def test_hosting_a_chapter_one_does_not_coordinate_is_403(app, network, api, add_membership):
    for chapters in (["paris"], ["madrid", "paris"]):
        response = api.client.post(
            "/api/v1/events", headers=api.coordinator, json=_payload(chapters=chapters)
        )
        assert response.status_code == 403 and response.is_json, chapters
        assert "París" in response.get_json()["error"]["message"]
    for not_a_coordinator in (api.member, api.org):
        response = api.client.post("/api/v1/events", headers=not_a_coordinator, json=_payload())
        assert response.status_code == 403 and response.is_json
    assert _event_count(app) == 0

    # Co-hosting needs the coordination of every hosting chapter.
    add_membership(network.coordinator, network.paris, role=ChapterRole.COORDINATOR)
    event_id = _create(api.client, _headers(app, network.coordinator), chapters=["madrid", "paris"])
    body = api.client.get(f"/api/v1/events/{event_id}").get_json()
    assert [c["slug"] for c in body["chapters"]] == ["madrid", "paris"]


def test_ime_hosts_network_wide_events_and_coordinators_name_a_chapter(app, network, api):
    event_id = _create(api.client, api.ime, chapters=[], format="online", venue="")
    body = api.client.get(f"/api/v1/events/{event_id}").get_json()
    assert body["chapters"] == [] and body["country"] is None
    assert _create(api.client, api.ime, chapters=["paris"])

    response = api.client.post(
        "/api/v1/events", headers=api.coordinator, json=_payload(chapters=[])
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["error"]["fields"]] == ["chapters"]


def test_defaults_make_a_draft_in_person_public_event(app, network, api):
    minimal = {
        "title": "Reunión",
        "chapters": ["madrid"],
        "starts_at": _local(5),
        "ends_at": _local(5, 19),
        "timezone": "Europe/Madrid",
        "venue": "Bar",
    }
    response = api.client.post("/api/v1/events", headers=api.coordinator, json=minimal)
    assert response.status_code == 201, response.get_json()
    body = api.client.get(
        f"/api/v1/events/{response.get_json()['id']}", headers=api.coordinator
    ).get_json()
    assert (body["status"], body["format"], body["visibility"]) == ("draft", "in_person", "public")
    assert body["capacity"] is None and body["language"] == "es"


# ---------------------------------------------------------------- editing


def test_patch_changes_only_the_fields_sent(app, network, api, vocabulary):
    event_id = _create(
        api.client,
        api.coordinator,
        starts_at="2031-03-05T18:00",
        ends_at="2031-03-05T20:00",
        topics=["hydrology"],
        registration_closes_at="2031-03-05T12:00",
    )
    before = api.client.get(f"/api/v1/events/{event_id}", headers=api.coordinator).get_json()

    response = api.client.patch(
        f"/api/v1/events/{event_id}",
        headers=api.coordinator,
        json={"title": "Agua y ciudades, segunda parte", "capacity": None},
    )
    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert after["title"] == "Agua y ciudades, segunda parte" and after["capacity"] is None
    unchanged = {k: v for k, v in before.items() if k not in {"title", "capacity"}}
    assert {k: after[k] for k in unchanged} == unchanged
    assert after["online_url"] == SECRET_LINK and after["topics"][0]["slug"] == "hydrology"

    # A new zone alone keeps the wall-clock times, as the edit form does.
    moved = api.client.patch(
        f"/api/v1/events/{event_id}",
        headers=api.coordinator,
        json={"timezone": "America/Mexico_City"},
    ).get_json()
    assert moved["starts_at"] == "2031-03-05T18:00:00-06:00"
    assert moved["registration_closes_at"] == "2031-03-05T12:00:00-06:00"

    # The country follows the hosts unless it is sent.
    rehosted = api.client.patch(
        f"/api/v1/events/{event_id}", headers=api.ime, json={"chapters": ["paris"]}
    ).get_json()
    assert [c["slug"] for c in rehosted["chapters"]] == ["paris"] and rehosted["country"] == "FR"
    pinned = api.client.patch(
        f"/api/v1/events/{event_id}", headers=api.ime, json={"chapters": [], "country": "de"}
    ).get_json()
    assert pinned["chapters"] == [] and pinned["country"] == "DE"


def test_patch_permissions(app, network, api, add_membership):
    event_id = _create(api.client, api.coordinator)
    draft_id = _create(api.client, api.coordinator, status="draft")
    path = f"/api/v1/events/{event_id}"
    for headers, status in (
        (api.other_coordinator, 403),
        (api.member, 403),
        (api.org, 403),
        ({}, 401),
    ):
        response = api.client.patch(path, headers=headers, json={"title": "Mío"})
        assert response.status_code == status and response.is_json, headers
    response = api.client.patch(
        f"/api/v1/events/{draft_id}", headers=api.other_coordinator, json={"title": "Mío"}
    )
    assert response.status_code == 404, "a draft is invisible to other chapters"
    assert api.client.patch(path, headers=api.ime, json={"capacity": 3}).status_code == 200

    # Co-hosts: a coordinator adds or removes only their own chapters.
    adding = api.client.patch(path, headers=api.coordinator, json={"chapters": ["madrid", "paris"]})
    assert adding.status_code == 403
    assert (
        api.client.patch(path, headers=api.ime, json={"chapters": ["madrid", "paris"]}).status_code
        == 200
    )
    dropping_madrid = api.client.patch(
        path, headers=api.other_coordinator, json={"chapters": ["paris"]}
    )
    assert dropping_madrid.status_code == 403
    leaving = api.client.patch(path, headers=api.other_coordinator, json={"chapters": ["madrid"]})
    assert leaving.status_code == 200
    assert [c["slug"] for c in leaving.get_json()["chapters"]] == ["madrid"]
    assert api.client.get(path).get_json()["title"] == "Agua y ciudades", (
        "refused edits left no trace"
    )


def test_patching_unknown_events_and_cancelling_through_patch(app, network, api, make_user, outbox):
    assert api.client.patch("/api/v1/events/9999", headers=api.ime, json={}).status_code == 404
    event_id = _create(api.client, api.coordinator)
    attendee = make_user()
    api.client.post(f"/api/v1/events/{event_id}/registrations", headers=_headers(app, attendee))
    response = api.client.patch(
        f"/api/v1/events/{event_id}", headers=api.coordinator, json={"status": "cancelled"}
    )
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert [m.recipient for m in outbox() if m.kind == "event_cancelled"] == [attendee.email]
    reopen = api.client.patch(
        f"/api/v1/events/{event_id}", headers=api.coordinator, json={"status": "published"}
    )
    assert reopen.status_code == 422
    assert reopen.get_json()["error"]["fields"][0]["field"] == "status"


# ---------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"starts_at": "2031-03-05T18:00", "ends_at": "2031-03-05T17:00"}, "ends_at"),
        ({"format": "zoom"}, "format"),
        ({"visibility": "secret"}, "visibility"),
        ({"chapters": ["atlantis"]}, "chapters"),
        ({"topics": ["hydrology", "alquimia"]}, "topics"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"language": "xx"}, "language"),
        ({"country": "ZZ"}, "country"),
        ({"capacity": 0}, "capacity"),
        ({"venue": "", "format": "in_person"}, "venue"),
        ({"online_url": "", "format": "online"}, "online_url"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"status": "cancelled"}, "status"),
        (
            {
                "starts_at": "2031-03-05T18:00",
                "ends_at": "2031-03-05T20:00",
                "registration_closes_at": "2031-03-05T19:00",
            },
            "registration_closes_at",
        ),
        ({"questions": ["¿?"] * 6}, "questions"),
        # Well formed, as the document's pattern says, but no such day (schemathesis: was a 400).
        ({"starts_at": "2031-02-30T18:00"}, "starts_at"),
        ({"registration_opens_at": "2031-04-31T09:00"}, "registration_opens_at"),
    ],
)
def test_invalid_values_answer_422_with_the_field(app, network, api, vocabulary, changes, field):
    response = api.client.post("/api/v1/events", headers=api.coordinator, json=_payload(**changes))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == 422 and error["message"]
    assert field in [e["field"] for e in error["fields"]]
    assert _event_count(app) == 0


def test_missing_required_fields_are_all_named(app, network, api):
    response = api.client.post("/api/v1/events", headers=api.coordinator, json={"venue": "Bar"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["error"]["fields"]}
    assert fields == {"title", "starts_at", "ends_at", "timezone"}


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"json": _payload(starts_at="2031-03-05T18:00+01:00")}, "without an offset"),
        ({"json": _payload(starts_at="2031-03-05T17:00Z")}, "without an offset"),
        ({"json": _payload(ends_at="mañana a las seis")}, "like 2027-03-05T18:00"),
        ({"json": _payload(starts_at="2031-03-05")}, "like 2027-03-05T18:00"),
        ({"json": _payload(capacity="diez")}, "'capacity' must be a whole number or null"),
        ({"json": _payload(capacity=True)}, "'capacity' must be a whole number"),
        ({"json": _payload(chapters="madrid")}, "'chapters' must be a list of strings"),
        ({"json": _payload(title=None)}, "'title' must be a string"),
        ({"json": _payload(colour="red")}, "Unknown fields: colour"),
        ({"json": ["not", "an", "object"]}, "JSON object"),
        (
            {"data": "title=Agua", "content_type": "application/x-www-form-urlencoded"},
            "JSON object",
        ),
        ({"data": "{not json", "content_type": "application/json"}, "JSON object"),
    ],
)
def test_malformed_bodies_answer_400(app, network, api, kwargs, fragment):
    headers = {**api.coordinator, **ENGLISH}
    response = api.client.post("/api/v1/events", headers=headers, **kwargs)
    assert response.status_code == 400 and response.is_json
    assert fragment in response.get_json()["error"]["message"]
    assert _event_count(app) == 0


def test_patch_refuses_malformed_and_invalid_values(app, network, api):
    event_id = _create(api.client, api.coordinator)
    path = f"/api/v1/events/{event_id}"
    bad_time = api.client.patch(
        path, headers=api.coordinator, json={"starts_at": "2031-03-05T18:00-05:00"}
    )
    assert bad_time.status_code == 400
    no_title = api.client.patch(path, headers=api.coordinator, json={"title": None})
    assert no_title.status_code == 400
    inverted = api.client.patch(path, headers=api.coordinator, json={"ends_at": _local(9)})
    assert inverted.status_code == 422
    assert inverted.get_json()["error"]["fields"][0]["field"] == "ends_at"
    assert api.client.patch(path, headers=api.coordinator, data="x").status_code == 400


# ---------------------------------------------------------------- registration


def test_registrations_are_confirmed_then_waitlisted_in_order(app, network, api, make_user):
    event_id = _create(api.client, api.coordinator, capacity=1)
    people = [make_user() for _ in range(3)]
    headers = [_headers(app, person) for person in people]
    path = f"/api/v1/events/{event_id}/registrations"
    answers = [api.client.post(path, headers=h) for h in headers]
    assert [r.status_code for r in answers] == [201, 201, 201]
    assert [r.get_json() for r in answers] == [
        {"status": "confirmed", "position": None},
        {"status": "waitlisted", "position": 1},
        {"status": "waitlisted", "position": 2},
    ]
    again = api.client.post(path, headers=headers[1])
    assert again.status_code == 409 and again.is_json and again.get_json()["error"]["message"]

    body = api.client.get(f"/api/v1/events/{event_id}", headers=headers[2]).get_json()
    assert (body["seats_taken"], body["waitlist_length"]) == (1, 2)
    assert body["my_registration"] == {"status": "waitlisted", "position": 2}
    listed = api.client.get("/api/v1/events", headers=headers[0]).get_json()["items"][0]
    assert listed["my_registration"] == {"status": "confirmed", "position": None}


def test_registration_is_refused_when_closed_or_not_for_this_account(app, network, api):
    past = _held_in_the_past(app, _create(api.client, api.coordinator), days=12)
    closed = _create(api.client, api.coordinator, registration_closes_at=_local(-1))
    for event_id in (past, closed):
        response = api.client.post(f"/api/v1/events/{event_id}/registrations", headers=api.member)
        assert response.status_code == 409 and response.is_json, event_id
    open_id = _create(api.client, api.coordinator)
    path = f"/api/v1/events/{open_id}/registrations"
    for account in (api.org, api.ime):
        assert api.client.post(path, headers=account).status_code == 403
    assert api.client.post(path).status_code == 401
    assert (
        api.client.post("/api/v1/events/9999/registrations", headers=api.member).status_code == 404
    )


def test_leaving_promotes_the_head_of_the_waitlist(app, network, api, make_user, outbox):
    event_id = _create(api.client, api.coordinator, capacity=1)
    seated, first, second = [make_user() for _ in range(3)]
    headers = {p.id: _headers(app, p) for p in (seated, first, second)}
    path = f"/api/v1/events/{event_id}/registrations"
    for person in (seated, first, second):
        api.client.post(path, headers=headers[person.id])

    response = api.client.delete(f"{path}/me", headers=headers[seated.id])
    assert response.status_code == 200
    assert response.get_json() == {"status": "cancelled", "promoted": first.id}
    assert [m.recipient for m in outbox() if m.kind == "event_promoted"] == [first.email]
    body = api.client.get(f"/api/v1/events/{event_id}", headers=headers[second.id]).get_json()
    assert body["my_registration"] == {"status": "waitlisted", "position": 1}
    gone = api.client.get(f"/api/v1/events/{event_id}", headers=headers[seated.id]).get_json()
    assert "my_registration" not in gone

    waiting_leaves = api.client.delete(f"{path}/me", headers=headers[second.id])
    assert waiting_leaves.get_json() == {"status": "cancelled", "promoted": None}
    assert api.client.delete(f"{path}/me", headers=headers[second.id]).status_code == 404
    assert api.client.post(path, headers=headers[seated.id]).get_json() == {
        "status": "waitlisted",
        "position": 1,
    }, "coming back joins the end of the queue"


def test_leaving_after_the_start_is_409(app, network, api):
    event_id = _create(api.client, api.coordinator)
    path = f"/api/v1/events/{event_id}/registrations"
    assert api.client.post(path, headers=api.member).status_code == 201
    with freeze_time(utcnow() + timedelta(days=10, hours=23)):
        response = api.client.delete(f"{path}/me", headers=api.member)
    assert response.status_code == 409 and response.is_json


# ---------------------------------------------------------------- who sees what


def test_the_online_link_reaches_only_hosts_and_confirmed_attendees(app, network, api, make_user):
    event_id = _create(api.client, api.coordinator, capacity=1)
    seated, waiting = make_user(), make_user()
    seated_h, waiting_h = _headers(app, seated), _headers(app, waiting)
    path = f"/api/v1/events/{event_id}"
    api.client.post(f"{path}/registrations", headers=seated_h)
    api.client.post(f"{path}/registrations", headers=waiting_h)

    hidden = {
        "anonymous": {},
        "other member": api.member,
        "waitlisted": waiting_h,
        "organisation": api.org,
        "other chapter's coordinator": api.other_coordinator,
    }
    for who, headers in hidden.items():
        for url in (path, "/api/v1/events", "/api/v1/events?chapter=madrid"):
            response = api.client.get(url, headers=headers)
            assert response.status_code == 200, (who, url)
            assert SECRET_LINK not in response.get_data(as_text=True), (who, url)
            body = response.get_json()
            for item in body.get("items", [body]):
                assert "online_url" not in item, (who, url)

    shown = {"confirmed attendee": seated_h, "host coordinator": api.coordinator, "IME": api.ime}
    for who, headers in shown.items():
        assert api.client.get(path, headers=headers).get_json()["online_url"] == SECRET_LINK, who
        listed = api.client.get("/api/v1/events", headers=headers).get_json()["items"]
        assert listed[0]["online_url"] == SECRET_LINK, who

    # Once the seat is given up, so is the link.
    api.client.delete(f"{path}/registrations/me", headers=seated_h)
    assert SECRET_LINK not in api.client.get(path, headers=seated_h).get_data(as_text=True)
    promoted = api.client.get(path, headers=waiting_h).get_json()
    assert promoted["online_url"] == SECRET_LINK


def test_members_only_events_need_a_member_or_ime_token(app, network, api):
    event_id = _create(api.client, api.coordinator, visibility="members")
    path = f"/api/v1/events/{event_id}"
    assert api.client.get("/api/v1/events").get_json()["items"] == []
    assert api.client.get(path).status_code == 401
    assert api.client.get("/api/v1/events", headers=api.org).get_json()["items"] == []
    assert api.client.get(path, headers=api.org).status_code == 403
    assert api.client.post(f"{path}/registrations", headers=api.org).status_code == 403
    for headers in (api.member, api.ime, api.other_coordinator):
        assert api.client.get(path, headers=headers).status_code == 200
        assert [
            e["id"] for e in api.client.get("/api/v1/events", headers=headers).get_json()["items"]
        ] == [event_id]
    assert api.client.post(f"{path}/registrations", headers=api.member).status_code == 201


def test_drafts_are_invisible_but_to_their_hosts(app, network, api):
    draft_id = _create(api.client, api.coordinator, status="draft")
    path = f"/api/v1/events/{draft_id}"
    for headers in ({}, api.member, api.org, api.other_coordinator):
        response = api.client.get(path, headers=headers)
        assert response.status_code == 404 and response.is_json
        assert api.client.get("/api/v1/events", headers=headers).get_json()["total"] == 0
    assert api.client.post(f"{path}/registrations", headers=api.member).status_code == 404
    for host in (api.coordinator, api.ime):
        body = api.client.get(path, headers=host).get_json()
        assert body["status"] == "draft" and body["online_url"] == SECRET_LINK
    assert api.client.get("/api/v1/events", headers=api.coordinator).get_json()["total"] == 0, (
        "lists never show drafts; their hosts read them by id"
    )


def test_cancelled_events_stay_listed_and_refuse_registration(app, network, api):
    event_id = _create(api.client, api.coordinator)
    api.client.patch(
        f"/api/v1/events/{event_id}", headers=api.coordinator, json={"status": "cancelled"}
    )
    items = api.client.get("/api/v1/events").get_json()["items"]
    assert [(e["id"], e["status"]) for e in items] == [(event_id, "cancelled")]
    response = api.client.post(f"/api/v1/events/{event_id}/registrations", headers=api.member)
    assert response.status_code == 409


# ---------------------------------------------------------------- lists


def test_list_filters_pages_and_bounds(app, network, api, count_queries):
    soon = _create(api.client, api.coordinator, starts_at=_local(3), ends_at=_local(3, 20))
    later = _create(api.client, api.coordinator, starts_at=_local(6), ends_at=_local(6, 20))
    paris = _create(
        api.client, api.ime, chapters=["paris"], starts_at=_local(9), ends_at=_local(9, 20)
    )
    past = _held_in_the_past(app, _create(api.client, api.coordinator), days=13)

    upcoming = api.client.get("/api/v1/events").get_json()
    assert [e["id"] for e in upcoming["items"]] == [soon, later, paris], "soonest first"
    assert api.client.get("/api/v1/events?upcoming=false").get_json()["items"][0]["id"] == past
    madrid = api.client.get("/api/v1/events?chapter=madrid&upcoming=true").get_json()
    assert [e["id"] for e in madrid["items"]] == [soon, later]

    page = api.client.get("/api/v1/events?per_page=2&page=2").get_json()
    assert [e["id"] for e in page["items"]] == [paris]
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 2, 3, 2)
    beyond = api.client.get("/api/v1/events?per_page=2&page=50").get_json()
    assert beyond["items"] == [] and beyond["total"] == 3

    for query, fragment in (
        ("page=0", "between"),
        ("per_page=101", "between 1 and 100"),
        ("per_page=abc", "whole number"),
        ("upcoming=soon", "true or false"),
        ("upcoming=", "true or false"),  # schemathesis: was the default
        ("chapter=atlantis", "Unknown chapter"),
    ):
        response = api.client.get(f"/api/v1/events?{query}", headers=ENGLISH)
        assert response.status_code == 400 and response.is_json, query
        assert fragment in response.get_json()["error"]["message"], query

    bad_token = api.client.get("/api/v1/events", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401, "a bad token is an error, not anonymity"

    # Constant number of queries per page, whatever its length (after the token's first use,
    # which records last_used_at).
    api.client.get("/api/v1/events", headers=api.member)
    with count_queries() as one:
        api.client.get("/api/v1/events?per_page=1", headers=api.member)
    with count_queries() as three:
        api.client.get("/api/v1/events?per_page=3", headers=api.member)
    assert three.count == one.count


def test_unknown_event_is_a_json_404(client, network):
    response = client.get("/api/v1/events/424242")
    assert response.status_code == 404 and response.is_json


# ---------------------------------------------------------------- the document


def test_openapi_describes_the_event_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    events = spec["paths"]["/api/v1/events"]
    assert set(events) == {"get", "post"}
    assert events["get"]["security"] == [{}, {"bearerAuth": []}], "a token is optional"
    assert {p["name"] for p in events["get"]["parameters"]} == {
        "chapter",
        "upcoming",
        "page",
        "per_page",
    }
    assert set(events["post"]["responses"]) >= {"201", "400", "401", "403", "422"}
    assert "200" not in events["post"]["responses"]
    one = spec["paths"]["/api/v1/events/{event_id}"]
    assert set(one) == {"get", "patch"}
    registrations = spec["paths"]["/api/v1/events/{event_id}/registrations"]["post"]
    assert set(registrations["responses"]) >= {"201", "403", "404", "409"}
    assert "delete" in spec["paths"]["/api/v1/events/{event_id}/registrations/me"]

    schemas = spec["components"]["schemas"]
    event = schemas["EventOut"]
    assert {"online_url", "my_registration"} <= set(event["properties"])
    assert not {"online_url", "my_registration"} & set(event["required"]), "absent, not null"
    assert set(schemas["EventIn"]["required"]) == {"title", "starts_at", "ends_at", "timezone"}
    assert schemas["EventIn"]["properties"]["format"]["enum"] == ["in_person", "online", "hybrid"]
    assert "required" not in schemas["EventPatchIn"], "a partial edit needs nothing"
    assert set(schemas["EventPatchIn"]["properties"]) == set(schemas["EventIn"]["properties"])
    assert "fields" in schemas["Error"]["properties"]["error"]["properties"]


def test_every_time_the_document_allows_is_parsed_or_refused_by_value(app):
    """The document's pattern for local times and the API's parser agree (schemathesis found
    "0000-01-01T00:00" and "5727-09-31T20:15:17" valid by the document, refused as malformed):
    whatever matches the pattern is a time, or a 422 naming the field, never a 400."""

    @given(st.from_regex(LOCAL_TIME_PATTERN, fullmatch=True))
    @settings(max_examples=200, derandomize=True, database=None, deadline=None)
    def parsed_or_a_problem(text: str) -> None:
        with app.test_request_context("/api/v1/events", headers=ENGLISH):
            try:
                LocalDateTime().deserialize(text)
            except ValidationError as error:
                (problem,) = error.messages
                assert isinstance(problem, Problem) and not problem.malformed, "a 422, never a 400"
                assert problem.render("starts_at") == f"No such date or time: {text!r}."

    parsed_or_a_problem()
