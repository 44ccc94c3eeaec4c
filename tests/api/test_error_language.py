"""One language per API error: chosen like the pages' (`Accept-Language`, then the token's account,
then the default, Spanish), and every part of the body (title, message, field errors) in it.
An error used to carry a Spanish title with an English message, or "Conflict" over Spanish."""

from __future__ import annotations

import pytest

from network.auth.models import User
from network.extensions import db
from tests.conftest import bearer
from tests.events import conftest as events_fixtures

make_event = events_fixtures.make_event  # found by pytest under this name

# Each error as the English and the Spanish caller read it: (title, message).
EXPECTED = {
    "400": {
        "en": ("Bad request", "'per_page' must be a whole number, not 'abc'."),
        "es": ("Solicitud incorrecta", "'per_page' debe ser un número entero, no 'abc'."),
    },
    "400 type": {
        "en": ("Bad request", "'capacity' must be a whole number or null."),
        "es": ("Solicitud incorrecta", "'capacity' debe ser un número entero o null."),
    },
    "400 NUL": {
        "en": ("Bad request", "The request contains a NUL character, which is not allowed."),
        "es": (
            "Solicitud incorrecta",
            "La solicitud contiene un carácter NUL, que no está permitido.",
        ),
    },
    "401 no token": {
        "en": ("Authentication required", "Send an API token as 'Authorization: Bearer <token>'."),
        "es": (
            "Se requiere autenticación",
            "Envía un token de API como 'Authorization: Bearer <token>'.",
        ),
    },
    "401 bad token": {
        "en": ("Authentication required", "This token is not valid or has been revoked."),
        "es": ("Se requiere autenticación", "Este token no es válido o fue revocado."),
    },
    "403": {
        "en": ("Forbidden", "Only chapter coordinators and IME create events."),
        "es": ("Prohibido", "Solo la coordinación de los capítulos y el IME crean eventos."),
    },
    "404": {
        "en": ("Not found", "No member with this id is visible to you."),
        "es": ("No encontrado", "No hay ningún miembro visible para ti con este id."),
    },
    "404 event": {
        "en": ("Not found", "No such event."),
        "es": ("No encontrado", "No existe ese evento."),
    },
    "404 no route": {
        "en": ("Not found", "There is nothing at this address."),
        "es": ("No encontrado", "No hay nada en esta dirección."),
    },
    "405": {
        "en": ("Method not allowed", "This address does not accept that kind of request."),
        "es": ("Método no permitido", "Esta dirección no acepta ese tipo de solicitud."),
    },
    "409": {
        "en": ("Conflict", "You are already registered for this event."),
        "es": ("Conflicto", "Ya estás inscrito en este evento."),
    },
    "422": {
        "en": ("Invalid values", "timezone: This field is required."),
        "es": ("Valores no válidos", "timezone: Este campo es obligatorio."),
    },
}


@pytest.fixture
def call(app, network, make_event):
    """`call(case, headers)`: the response to the request that meets each error."""
    event_id = make_event().id
    member = bearer(app, network.member)
    coordinator = bearer(app, network.coordinator)
    client = app.test_client()
    assert (
        client.post(f"/api/v1/events/{event_id}/registrations", headers=member).status_code == 201
    )
    no_timezone = {"title": "Agua", "starts_at": "2031-03-05T18:00", "ends_at": "2031-03-05T20:00"}
    requests = {
        "400": ("GET", "/api/v1/chapters?per_page=abc", {}, None),
        "400 type": ("POST", "/api/v1/events", coordinator, {"capacity": "30"}),
        "400 NUL": ("POST", "/api/v1/events", coordinator, {**no_timezone, "title": "A\x00"}),
        "401 no token": ("GET", "/api/v1/me", {}, None),
        "401 bad token": ("GET", "/api/v1/members", {"Authorization": "Bearer nope"}, None),
        "403": ("POST", "/api/v1/events", member, {}),
        "404": ("GET", "/api/v1/members/99999", member, None),
        "404 event": ("GET", "/api/v1/events/99999", member, None),
        "404 no route": ("GET", "/api/v1/nothing-here", member, None),
        "405": ("DELETE", "/api/v1/chapters", member, None),
        "409": ("POST", f"/api/v1/events/{event_id}/registrations", member, None),
        "422": ("POST", "/api/v1/events", coordinator, {**no_timezone, "chapters": ["madrid"]}),
    }

    def make(case: str, headers: dict[str, str]):
        method, path, auth, body = requests[case]
        response = client.open(path, method=method, headers={**auth, **headers}, json=body)
        assert response.status_code == int(case[:3]) and response.is_json, response.get_json()
        return response.get_json()["error"]

    return make


def _said(error: dict) -> tuple[str, str]:
    return error["title"], error["message"]


@pytest.mark.parametrize("case", sorted(EXPECTED))
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_part_of_an_error_speaks_the_asked_language(call, case, language):
    error = call(case, {"Accept-Language": language})
    assert _said(error) == EXPECTED[case][language]
    for field in error.get("fields", ()):
        assert field["message"] in EXPECTED[case][language][1], "field errors agree"


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_without_a_header_the_default_language_is_spanish(call, case):
    assert _said(call(case, {})) == EXPECTED[case]["es"]


@pytest.mark.parametrize("case", ["403", "404", "409", "422", "400 type"])
def test_a_token_speaks_its_accounts_language_unless_the_request_asks(app, network, call, case):
    """The member's and the coordinator's accounts prefer English: with no header, their errors
    are English; a header asking for Spanish wins."""
    with app.app_context():
        for user in (network.member, network.coordinator):
            db.session.get(User, user.id).preferred_language = "en"
        db.session.commit()
    assert _said(call(case, {})) == EXPECTED[case]["en"]
    assert _said(call(case, {"Accept-Language": "es-MX,es;q=0.9"})) == EXPECTED[case]["es"]
    assert _said(call(case, {"Accept-Language": "fr"})) == EXPECTED[case]["en"], "no French"


def test_field_errors_are_in_the_same_language(call):
    for language, required in (
        ("en", "This field is required."),
        ("es", "Este campo es obligatorio."),
    ):
        error = call("422", {"Accept-Language": language})
        assert error["fields"] == [{"field": "timezone", "message": required}]
