"""Needs in the API: posting with concepts named in either language, explained candidates
without contact details, and contact requests that reveal an expert's e-mail and phone only to
the organisation they accepted, within the fair-load caps, with every step in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from network.audit import AuditEntry
from network.auth.models import User
from network.auth.services import create_api_token
from network.db import utcnow
from network.extensions import db
from network.needs.models import Need, NeedStatus
from network.needs.services import change_status
from network.organisations.models import Organisation, OrganisationKind
from network.outbox import OutboxMessage
from network.security import Role
from tests.conftest import _saved
from tests.needs import conftest as needs_fixtures

# The needs tests' fixtures, found by pytest under these names: a verified organisation's open need
# in Sonora, and two experts to rank (Elena covers both required concepts, Marco one).
sonora = needs_fixtures.sonora
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
world = needs_fixtures.world

PHONE = "+52 662 555 0101"
MESSAGE = "Buscamos apoyo con el modelo hidrológico de la cuenca del río Sonora."


def _headers(app, user) -> dict[str, str]:
    with app.test_request_context():
        _token, plain = create_api_token(db.session.get(User, user.id), "t")
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Planta potabilizadora en Hermosillo",
        "description": "Diseño de una planta para 50,000 habitantes.",
        "sector": "Agua",
        "required_concepts": ["Hidrología", "Water treatment"],
        "nice_concepts": ["solar-photovoltaics"],
        "languages": ["es"],
        "modes": ["remote_advice", "short_visit"],
        "effort_days": 15,
        "starts_on": "2031-03-01",
        "ends_on": "2031-06-30",
        "state": "MX-SON",
        "remote": True,
        "status": "open",
    }
    body.update(overrides)
    return body


def _audit(app, action: str, subject_id: int) -> list[AuditEntry]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == action, AuditEntry.subject_id == subject_id
                )
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def _mail_to(app, address: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.recipient == address)
        )


@pytest.fixture
def api(app, world, make_user):
    """A test client and a token header per account, plus a second verified organisation and
    an unverified one."""
    other = _saved(
        app,
        Organisation(
            slug="conagua",
            name="Comisión Nacional del Agua",
            kind=OrganisationKind.MINISTRY,
            verified_at=utcnow(),
        ),
    )
    pending = _saved(
        app,
        Organisation(
            slug="agua-sonora", name="Agua de Sonora", kind=OrganisationKind.STATE_GOVERNMENT
        ),
    )
    other_user = make_user(
        email="pedro@conagua.gob.mx", role=Role.ORGANISATION, organisation_id=other.id
    )
    pending_user = make_user(
        email="rosa@aguasonora.gob.mx", role=Role.ORGANISATION, organisation_id=pending.id
    )

    class Api:
        client = app.test_client()
        org = _headers(app, world.org_user)
        english_org = {**org, "Accept-Language": "en"}  # messages asked for in English
        other_org = _headers(app, other_user)
        unverified_org = _headers(app, pending_user)
        member = _headers(app, world.member)
        ime = _headers(app, world.ime)
        elena = _headers(app, world.elena)
        marco = _headers(app, world.marco)

    return Api


def _ask(api, need_id: int, member_id: int, headers=None):
    return api.client.post(
        f"/api/v1/needs/{need_id}/contact-requests",
        headers=headers or api.org,
        json={"member_id": member_id, "message": MESSAGE},
    )


# ---------------------------------------------------------------- posting


def test_an_organisation_posts_a_need_with_labels_in_both_languages(app, world, api):
    response = api.client.post("/api/v1/needs", headers=api.org, json=_payload())
    assert response.status_code == 201, response.get_json()
    need_id = response.get_json()["id"]
    assert response.get_json() == {"id": need_id}

    body = api.client.get(f"/api/v1/needs/{need_id}").get_json()
    assert body["title"] == "Planta potabilizadora en Hermosillo"
    assert body["sector"]["slug"] == "water"
    assert [c["slug"] for c in body["required_concepts"]] == ["hydrology", "water-treatment"]
    assert [c["slug"] for c in body["nice_concepts"]] == ["solar-photovoltaics"]
    assert body["languages"] == ["es"]
    assert body["modes"] == ["remote_advice", "short_visit"]
    assert (body["effort_days"], body["starts_on"], body["ends_on"]) == (
        15,
        "2031-03-01",
        "2031-06-30",
    )
    assert body["state"] == {"code": "MX-SON", "name": "Sonora"}
    assert (body["remote"], body["status"]) == (True, "open")
    assert body["organisation"] == {"slug": "secihti", "name": "Secretaría de Ciencia"}
    assert "close_reason" not in body, "only the organisation and IME read why a need closed"


def test_a_national_draft_stays_with_its_organisation(app, world, api):
    response = api.client.post(
        "/api/v1/needs", headers=api.org, json=_payload(state=None, status="draft")
    )
    assert response.status_code == 201, response.get_json()
    need_id = response.get_json()["id"]
    own = api.client.get(f"/api/v1/needs/{need_id}", headers=api.org).get_json()
    assert own["state"] is None and own["status"] == "draft" and own["close_reason"] == ""
    assert api.client.get(f"/api/v1/needs/{need_id}", headers=api.ime).status_code == 200
    for headers in ({}, api.member, api.other_org):
        assert api.client.get(f"/api/v1/needs/{need_id}", headers=headers).status_code == 404
    listed = api.client.get("/api/v1/needs").get_json()
    assert [n["id"] for n in listed["items"]] == [world.need_id], "drafts are never listed"


@pytest.mark.parametrize(
    "changes, name",
    [
        ({"required_concepts": ["hydrology", "Hidrología marina"]}, "Hidrología marina"),
        ({"nice_concepts": ["Astrofísica"]}, "Astrofísica"),
        ({"sector": "Minería espacial"}, "Minería espacial"),
        ({"state": "MX-XYZ"}, "MX-XYZ"),
        ({"starts_on": "1 de marzo"}, "starts_on"),
        ({"ends_on": "2031-02-30"}, "ends_on"),
    ],
)
def test_unknown_names_and_bad_dates_are_a_400_naming_them(app, world, api, changes, name):
    before = _need_count(app)
    response = api.client.post("/api/v1/needs", headers=api.org, json=_payload(**changes))
    assert response.status_code == 400
    assert name in response.get_json()["error"]["message"]
    assert _need_count(app) == before


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({**_payload(), "budget": 100}, "Unknown fields: budget"),
        (_payload(effort_days="20"), "'effort_days' must be a whole number or null"),
        (_payload(remote="yes"), "'remote' must be true or false"),
        (_payload(required_concepts="hydrology"), "'required_concepts' must be a list of strings"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_wrong_json_is_a_400(app, world, api, body, fragment):
    response = api.client.post("/api/v1/needs", headers=api.english_org, json=body)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"title": "Agua"}, "title"),
        ({"required_concepts": []}, "required_concepts"),
        ({"nice_concepts": ["hydrology"]}, "nice_concepts"),
        ({"modes": ["telepathy"]}, "modes"),
        ({"effort_days": 0}, "effort_days"),
        ({"starts_on": "2031-07-01"}, "ends_on"),
        ({"languages": ["xx"]}, "languages"),
        ({"status": "completed"}, "status"),
    ],
)
def test_values_the_rules_refuse_are_a_422_naming_the_field(app, world, api, changes, field):
    response = api.client.post("/api/v1/needs", headers=api.org, json=_payload(**changes))
    assert response.status_code == 422, response.get_json()
    assert [f["field"] for f in response.get_json()["error"]["fields"]] == [field]


def test_a_missing_field_is_a_422(app, world, api):
    body = {k: v for k, v in _payload().items() if k != "title"}
    response = api.client.post("/api/v1/needs", headers=api.english_org, json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == [
        {"field": "title", "message": "This field is required."}
    ]


def test_only_verified_organisations_post_needs(app, world, api):
    before = _need_count(app)
    for headers in (api.unverified_org, api.member, api.ime):
        response = api.client.post("/api/v1/needs", headers=headers, json=_payload())
        assert response.status_code == 403
    assert api.client.post("/api/v1/needs", json=_payload()).status_code == 401
    assert _need_count(app) == before


def _need_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Need.id)))


def test_the_list_filters_published_needs(app, world, api, make_need):
    completed = make_need(world.org_user, title="Cuenca del río Yaqui", node=None)
    with app.test_request_context():
        need = db.session.get(Need, completed)
        change_status(db.session.merge(world.org_user), need, NeedStatus.COMPLETED)
        db.session.commit()
    everything = api.client.get("/api/v1/needs").get_json()
    assert {n["id"] for n in everything["items"]} == {world.need_id, completed}
    done = api.client.get("/api/v1/needs?status=completed").get_json()
    assert [n["id"] for n in done["items"]] == [completed]
    national = api.client.get("/api/v1/needs?state=national").get_json()
    assert [n["id"] for n in national["items"]] == [completed]
    sonoran = api.client.get("/api/v1/needs?state=MX-SON&sector=water").get_json()
    assert [n["id"] for n in sonoran["items"]] == [world.need_id]
    assert api.client.get("/api/v1/needs?sector=energy").get_json()["total"] == 0
    for query in ("status=draft", "sector=mining", "state=MX-XYZ", "per_page=0"):
        assert api.client.get(f"/api/v1/needs?{query}").status_code == 400


# ---------------------------------------------------------------- candidates


def test_candidates_are_explained_and_carry_no_contact_details(app, world, api):
    response = api.client.get(f"/api/v1/needs/{world.need_id}/candidates", headers=api.org)
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 2
    assert [c["member_id"] for c in body["results"]] == [world.elena.id, world.marco.id]
    elena, marco = body["results"]
    assert elena["full_name"] == "Elena Ruiz Castro"
    assert elena["score"] > marco["score"]
    for candidate in body["results"]:
        assert round(sum(f["contribution"] for f in candidate["factors"]), 3) == candidate["score"]
        assert candidate["at_capacity"] is False
    factors = {f["name"]: f for f in elena["factors"]}
    assert factors["required_concepts"] == {
        "name": "required_concepts",
        "weight": 0.35,
        "value": 1.0,
        "contribution": 0.35,
        "detail": factors["required_concepts"]["detail"],
    }
    assert "potabilización" in factors["required_concepts"]["detail"], "reached by a synonym"
    assert elena["missing_concepts"] == []
    assert marco["missing_concepts"] == ["Tratamiento de agua"], "in the caller's language"
    text = response.get_data(as_text=True)
    for secret in ("elena@ejemplo.mx", "marco@ejemplo.mx", PHONE, '"email"', '"phone"'):
        assert secret not in text

    assert (
        api.client.get(
            f"/api/v1/needs/{world.need_id}/candidates?limit=1", headers=api.ime
        ).get_json()["total"]
        == 2
    )


def test_candidates_are_for_the_organisation_and_ime_only(app, world, api):
    url = f"/api/v1/needs/{world.need_id}/candidates"
    for headers in (api.other_org, api.member, api.elena):
        assert api.client.get(url, headers=headers).status_code == 403
    assert api.client.get(url).status_code == 401
    assert (
        api.client.get(f"{url}?limit=1", headers=api.org).get_json()["results"][0]["member_id"]
        == world.elena.id
    )
    for limit in ("0", "101", "many"):
        assert api.client.get(f"{url}?limit={limit}", headers=api.org).status_code == 400


# ---------------------------------------------------------------- contact requests


def test_contact_details_only_after_the_expert_accepts(app, world, api, outbox):
    response = _ask(api, world.need_id, world.elena.id)
    assert response.status_code == 201, response.get_json()
    request_id = response.get_json()["id"]
    assert response.get_json() == {"id": request_id, "status": "pending"}
    assert [m.recipient for m in outbox()][-1] == "elena@ejemplo.mx", "the expert is asked"

    url = f"/api/v1/contact-requests/{request_id}"
    before = api.client.get(url, headers=api.org)
    assert before.status_code == 200
    body = before.get_json()
    assert body["status"] == "pending" and "contact" not in body
    assert (body["need_id"], body["member_id"]) == (world.need_id, world.elena.id)
    assert body["member_full_name"] == "Elena Ruiz Castro"
    assert body["organisation"] == {"slug": "secihti", "name": "Secretaría de Ciencia"}
    assert body["message"] == MESSAGE and body["answered_at"] is None
    assert "elena@ejemplo.mx" not in before.get_data(as_text=True)
    assert PHONE not in before.get_data(as_text=True)

    accepted = api.client.post(
        f"{url}/accept", headers=api.elena, json={"reply": "Con gusto, escríbanme."}
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted"
    assert "contact" not in accepted.get_json()

    seen = api.client.get(url, headers=api.org).get_json()
    assert seen["status"] == "accepted" and seen["reply"] == "Con gusto, escríbanme."
    assert seen["contact"] == {"email": "elena@ejemplo.mx", "phone": PHONE}
    assert seen["answered_at"] is not None

    mine = api.client.get(url, headers=api.elena).get_json()
    assert mine["status"] == "accepted" and "contact" not in mine
    ime = api.client.get(url, headers=api.ime).get_json()
    assert ime["status"] == "accepted" and "contact" not in ime
    for headers in (api.other_org, api.marco, api.member):
        assert api.client.get(url, headers=headers).status_code == 404

    assert len(_audit(app, "contact.requested", world.elena.id)) == 1
    assert len(_audit(app, "contact.accepted", world.elena.id)) == 1
    views = _audit(app, "contact.viewed", world.elena.id)
    assert [v.actor_id for v in views] == [world.org_user.id], "one read, by the organisation"


def test_the_expert_declines(app, world, api):
    request_id = _ask(api, world.need_id, world.elena.id).get_json()["id"]
    url = f"/api/v1/contact-requests/{request_id}"
    declined = api.client.post(f"{url}/decline", headers=api.elena)
    assert declined.status_code == 200, declined.get_json()
    assert declined.get_json()["status"] == "declined"
    body = api.client.get(url, headers=api.org).get_json()
    assert body["status"] == "declined" and "contact" not in body
    assert api.client.post(f"{url}/accept", headers=api.elena).status_code == 409
    assert len(_audit(app, "contact.declined", world.elena.id)) == 1
    assert _audit(app, "contact.viewed", world.elena.id) == []


def test_only_the_expert_answers(app, world, api):
    request_id = _ask(api, world.need_id, world.elena.id).get_json()["id"]
    url = f"/api/v1/contact-requests/{request_id}"
    for headers in (api.marco, api.other_org, api.member):
        assert api.client.post(f"{url}/accept", headers=headers).status_code == 404
    for headers in (api.org, api.ime):
        assert api.client.post(f"{url}/accept", headers=headers).status_code == 403
    assert api.client.post(f"{url}/accept").status_code == 401
    assert (
        api.client.post(f"{url}/accept", headers=api.elena, json={"answer": "sí"}).status_code
        == 400
    )
    assert api.client.get(url, headers=api.org).get_json()["status"] == "pending"
    assert api.client.get("/api/v1/contact-requests/999", headers=api.elena).status_code == 404


def test_beyond_the_pending_cap_the_expert_is_not_asked(app, world, api, make_need):
    app.config["CONTACT_MAX_PENDING"] = 3
    needs = [world.need_id] + [
        make_need(world.org_user, title=f"Acuífero número {n}") for n in range(2, 5)
    ]
    for need_id in needs[:3]:
        assert _ask(api, need_id, world.elena.id).status_code == 201
    assert _mail_to(app, "elena@ejemplo.mx") == 3

    refused = _ask(api, needs[3], world.elena.id)
    assert refused.status_code == 429
    # Service messages follow the account's language (Spanish here).
    assert "3 solicitudes" in refused.get_json()["error"]["message"]
    assert _mail_to(app, "elena@ejemplo.mx") == 3, "no e-mail for the refused request"
    assert len(_audit(app, "contact.requested", world.elena.id)) == 3

    candidates = api.client.get(f"/api/v1/needs/{needs[3]}/candidates", headers=api.org)
    elena = next(c for c in candidates.get_json()["results"] if c["member_id"] == world.elena.id)
    assert elena["at_capacity"] is True


def test_refusals_by_the_state_are_a_409(app, world, api, make_expert):
    closed = make_expert({"open_to_requests": "no"}, email="nadie@ejemplo.mx")
    response = _ask(api, world.need_id, closed.id)
    assert response.status_code == 409
    assert "no acepta solicitudes" in response.get_json()["error"]["message"]
    assert _mail_to(app, "nadie@ejemplo.mx") == 0

    assert _ask(api, world.need_id, world.elena.id).status_code == 201
    assert _ask(api, world.need_id, world.elena.id).status_code == 409, "asked twice"


def test_who_may_ask_for_contact(app, world, api):
    for headers in (api.other_org, api.ime, api.member):
        assert _ask(api, world.need_id, world.elena.id, headers).status_code == 403
    assert _ask(api, 999, world.elena.id).status_code == 404
    short = api.client.post(
        f"/api/v1/needs/{world.need_id}/contact-requests",
        headers=api.org,
        json={"member_id": world.elena.id, "message": "Hola"},
    )
    assert short.status_code == 422 and short.get_json()["error"]["fields"][0]["field"] == "message"
    assert _mail_to(app, "elena@ejemplo.mx") == 0


REFUSALS = {
    "en": {
        409: ("Conflict", "You have already asked this expert about this need."),
        429: (
            "Too many requests",
            "This expert already has 1 requests waiting for an answer. Please choose another "
            "candidate.",
        ),
    },
    "es": {
        409: (
            "Conflicto",
            "Ya le enviaste una solicitud a esta persona experta sobre esta necesidad.",
        ),
        429: (
            "Demasiadas solicitudes",
            "Esta persona experta ya tiene 1 solicitudes en espera de respuesta. Por favor, elige "
            "a otra persona candidata.",
        ),
    },
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_refusals_speak_one_language_title_and_message(app, world, api, make_need, language):
    """A 409 used to be titled "Conflict" over a Spanish message: now both follow the request."""
    app.config["CONTACT_MAX_PENDING"] = 1
    headers = {**api.org, "Accept-Language": language}
    assert _ask(api, world.need_id, world.elena.id, headers).status_code == 201
    for status, need_id in (
        (409, world.need_id),
        (429, make_need(world.org_user, title="Otra necesidad")),
    ):
        response = _ask(api, need_id, world.elena.id, headers)
        assert response.status_code == status
        error = response.get_json()["error"]
        assert (error["title"], error["message"]) == REFUSALS[language][status]
