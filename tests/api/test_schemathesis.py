"""Schemathesis against a live server: every operation of /api/v1/openapi.json, with valid and
invalid input, as each kind of account, must answer without a 5xx and as the document says.

`case.call_and_validate()` runs schemathesis' default checks, all of its built-in ones: among them
not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, negative_data_rejection (invalid input gets a 4xx) and
positive_data_acceptance (valid input is not refused; see NAMES_LOOKED_UP for what may be).

The run is bounded for CI: a fixed number of derandomized examples per operation, each operation
against a fresh seeded database. State-changing operations run for real, as accounts that may
use them and as accounts that may not, so a failure may depend on what an earlier example of the
same operation changed (the report shows the request that failed).

Not `schemathesis.pytest.from_fixture`: in 4.32.5 it sets `request.node._nodeid`, which pytest
9.2 no longer has (AttributeError). The operations are parametrized here instead, from the
generator that serves the document, and each runs `operation.as_strategy()` under hypothesis.

Exploring further: `st run` with every phase and check against the same live server, e.g. from a
throwaway test that starts it with these fixtures and passes a token with `-H`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.checks import positive_data_acceptance
from werkzeug.serving import make_server

from network import create_app
from network.api import openapi_document
from network.auth.models import User
from network.config import TestConfig
from network.dashboard.panels import PANELS
from network.events import services as event_services
from network.events.models import Event, EventStatus, EventVisibility
from network.extensions import db
from network.needs import services as need_services
from network.needs.models import Need, NeedStatus
from tests.conftest import bearer
from tests.events import conftest as events_fixtures
from tests.events.conftest import local_in
from tests.needs import conftest as needs_fixtures

# The events and needs tests' fixtures, found by pytest under these names.
make_event = events_fixtures.make_event
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
sonora = needs_fixtures.sonora

EXAMPLES_PER_OPERATION = 25

# The account whose token an operation is mostly called with: one that may use it. Every other
# account gets some of the examples too, so refusals (403, 404) are checked against the document.
PREFERRED = {
    "create_event": "coordinator",
    "update_event": "coordinator",
    "dashboard_panel": "ime",
    "create_need": "organisation",
    "need_candidates": "organisation",
    "request_contact": "organisation",
}
ACCOUNTS = ("anonymous", "member", "coordinator", "organisation", "ime")

# Schema-valid input the API may still refuse, as its document says. 422 ("Invalid values"):
# rules a JSON schema cannot state (an event ends after it starts, a time zone or ORCID iD that
# exists), for every operation with a request body. 400: input naming what the database does not
# hold (a chapter, region, concept, sector, state or country) or a search with neither words nor
# a filter, for these operations only.
NAMES_LOOKED_UP = {"chapters", "members", "events", "needs", "search_endpoint", "create_need"}


@pytest.fixture
def api_world(
    app: Flask,
    network: SimpleNamespace,
    sonora: Any,
    make_event: Callable[..., Any],
    make_need: Callable[..., int],
    make_expert: Callable[..., User],
) -> SimpleNamespace:
    """Chapters, members, events of each visibility and status, a verified organisation with open
    and draft needs, pending contact requests to an expert, and a token per kind of account."""
    elena = make_expert(
        {"expertise": "hydrology; potabilización", "state_of_origin": "MX-SON"},
        full_name="Elena Ruiz Castro",
        email="elena@ejemplo.mx",
    )
    marco = make_expert(
        {"expertise": "hydrology", "languages": "en:native"},
        full_name="Marco Díaz",
        email="marco@ejemplo.mx",
    )
    events = [
        make_event(),
        make_event(title="Energía solar", visibility=EventVisibility.MEMBERS, capacity=1),
        make_event(title="Borrador", status=EventStatus.DRAFT),
        make_event(
            network.other_coordinator,
            title="En París",
            hosts=[network.paris],
            timezone="Europe/Paris",
            starts_local=local_in(30),
            ends_local=local_in(30, 21),
        ),
    ]
    open_need = make_need(network.org_user)
    unasked_need = make_need(network.org_user, title="Potabilización en Hermosillo")
    draft_need = make_need(network.org_user, title="Borrador de necesidad", status=NeedStatus.DRAFT)
    requests = []
    with app.test_request_context():
        org_user = db.session.get(User, network.org_user.id)
        need = db.session.get(Need, open_need)
        for expert in (elena, marco):
            message = "¿Nos ayudaría con el modelo hidrológico de la cuenca?"
            requests.append(need_services.request_contact(org_user, need, expert.id, message).id)
        # A seat for the member whose token the registration operations mostly use.
        event_services.register(db.session.get(User, elena.id), db.session.get(Event, events[1].id))
        db.session.commit()
    tokens = {
        "anonymous": {},
        "member": bearer(app, elena),
        "coordinator": bearer(app, network.coordinator),
        "organisation": bearer(app, network.org_user),
        "ime": bearer(app, network.ime),
    }
    return SimpleNamespace(
        tokens=tokens,
        # Rows that exist, those most operations succeed with first (hypothesis starts there).
        known={
            "event_id": [e.id for e in events],
            "need_id": [unasked_need, open_need, draft_need],
            "member_id": [elena.id, marco.id, network.member.id, network.org_user.id],
            "request_id": requests,
            "slug": list(PANELS),
        },
        # Leaving wants the event the member holds a seat at, first.
        known_for={
            "cancel_my_registration": {"event_id": [events[1].id, events[0].id, events[3].id]},
        },
        bodies=_accepted_bodies(marco),
    )


def _accepted_bodies(expert: User) -> dict[str, dict[str, Any]]:
    """A body each state-changing operation accepts from the account that may send it (random
    bodies almost never pass the rules, which would leave the 2xx answers unchecked)."""
    starts = local_in(20).strftime("%Y-%m-%dT%H:%M")
    return {
        "create_event": {
            "title": "Taller de hidrología",
            "chapters": ["madrid"],
            "starts_at": starts,
            "ends_at": local_in(20, 20).strftime("%Y-%m-%dT%H:%M"),
            "timezone": "Europe/Madrid",
            "format": "online",
            "online_url": "https://meet.example.org/taller",
            "status": "published",
            "topics": ["hydrology"],
            "questions": ["¿Alguna alergia?"],
        },
        "update_event": {"title": "Agua y ciudades, segunda edición", "capacity": 30},
        "create_need": {
            "title": "Planta potabilizadora en Guaymas",
            "sector": "water",
            "required_concepts": ["hydrology"],
            "state": "MX-SON",
            "starts_on": "2031-03-01",
            "ends_on": "2031-06-30",
            "status": "open",
        },
        "request_contact": {
            "member_id": expert.id,
            "message": "¿Nos ayudaría con la planta potabilizadora?",
        },
        "accept_contact_request": {"reply": "Con gusto."},
        "decline_contact_request": {"reply": "Ahora no puedo, lo siento."},
        "update_my_profile": {
            "headline": "Hidróloga",
            "city": "Tucson",
            "city_visibility": "members",
        },
    }


@pytest.fixture
def live_api(app: Flask, api_world: SimpleNamespace) -> Iterator[str]:
    """The real app served on a free loopback port from a thread, one request at a time (the
    in-memory SQLite database is one shared connection)."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def api_schema(live_api: str) -> Any:
    """The document as the live server serves it; requests go to that server."""
    schema = schemathesis.openapi.from_url(f"{live_api}/api/v1/openapi.json", timeout=10)
    schema.config.update(base_url=live_api)
    # The API refuses a NUL in any text with a 400 (PostgreSQL cannot store one), as its
    # document says: valid data holds none.
    schema.config.generation.update(allow_x00=False)
    return schema


def _documented_operations() -> list[tuple[str, str, str]]:
    """(operationId, method, path) of every operation, from the generator that serves the
    document: known at collection, so each operation is its own test with its own database."""
    spec = openapi_document(create_app(TestConfig))
    return sorted(
        (entry["operationId"], method.upper(), path)
        for path, methods in spec["paths"].items()
        for method, entry in methods.items()
    )


OPERATIONS = _documented_operations()


def _cases(
    operation: APIOperation, known: dict[str, list[Any]], body: dict[str, Any] | None
) -> st.SearchStrategy[Case]:
    """Valid and invalid requests; some valid ones aim at rows that exist (random ids almost
    always miss) and, for state-changing operations, send a body the API accepts."""
    valid, invalid = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
    strategies = [operation.as_strategy(valid), operation.as_strategy(invalid)]
    names = [p.name for p in operation.path_parameters]
    ids: st.SearchStrategy[dict[str, Any]] = st.just({})
    if names and all(name in known for name in names):
        ids = st.fixed_dictionaries({name: st.sampled_from(known[name]) for name in names})
        strategies.append(
            ids.flatmap(lambda chosen: operation.as_strategy(valid, path_parameters=chosen))
        )
    if body is not None:
        strategies.append(
            ids.flatmap(
                lambda chosen: operation.as_strategy(
                    valid, path_parameters=chosen or None, body=body
                )
            )
        )
    return st.one_of(strategies)


def test_the_live_document_lists_the_collected_operations(api_schema):
    """Nothing is left untested: the live document has the operations collected above. (Its own
    operation, which serves it, schemathesis leaves out of a schema's operations.)"""
    live = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    collected = {(method, path) for _id, method, path in OPERATIONS}
    assert live == collected - {("GET", "/api/v1/openapi.json")}


@pytest.mark.parametrize(
    "operation_id, method, path", OPERATIONS, ids=[operation[0] for operation in OPERATIONS]
)
def test_operation_answers_as_documented(api_schema, api_world, operation_id, method, path):
    operation = api_schema[path][method]
    preferred = PREFERRED.get(operation_id, "member")
    refusals = {422} if operation.body else set()
    if operation_id in NAMES_LOOKED_UP:
        refusals.add(400)

    def valid_data_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        """schemathesis' positive_data_acceptance, but for the refusals listed above."""
        if response.status_code in refusals:
            return None
        return positive_data_acceptance(ctx, response, case)

    @given(
        case=_cases(
            operation,
            api_world.known | api_world.known_for.get(operation_id, {}),
            api_world.bodies.get(operation_id),
        ),
        account=st.one_of(st.just(preferred), st.sampled_from(ACCOUNTS)),
    )
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case, account: str) -> None:
        headers = api_world.tokens[account]
        if any(
            location == "header" and not generated.mode.is_positive
            for location, generated in case.meta.components.items()
        ):
            headers = {}  # the case leaves out or spoils the token on purpose: keep it that way
        case.call_and_validate(
            headers=headers,
            timeout=10,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[valid_data_accepted],
        )

    check()
