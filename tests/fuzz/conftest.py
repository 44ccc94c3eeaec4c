"""The fuzzers' hypothesis settings, and one small world holding a row for every form to act on."""

# The fixtures imported below are requested by name as parameters of `world`.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from sqlalchemy import select

from chapters.models import Chapter, ChapterMembership, MembershipStatus
from network.auth.models import ApiToken, User
from network.events.models import Registration
from network.extensions import db
from network.mentoring.models import Mentorship
from network.needs.models import ContactRequest, Outcome
from network.organisations.models import Organisation
from network.security import Role
from tests.conftest import PASSWORD, login
from tests.events.conftest import local_in, make_event  # noqa: F401
from tests.needs.conftest import make_expert, make_need, sonora  # noqa: F401

# Deterministic and bounded: the same examples on every run, no example database on disk, and
# the function-scoped `app` is shared by a test's examples (each checks its own before/after).
# Applied to the fuzz tests only (`@settings(FUZZ_SETTINGS, ...)`): a profile loaded here would
# become every module's default whenever this folder is collected, so the other property tests
# would run differently depending on which files a run happened to include.
FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    max_examples=10,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _post(app: Flask, user: User, path: str, data: dict[str, Any], ok: int = 302) -> None:
    """A set-up step through the site itself; it must be accepted."""
    response = login(app.test_client(), user).post(path, data=data)
    assert response.status_code == ok, (path, response.status_code)


def _one(app: Flask, model: type, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(model.id).where(*where).order_by(model.id.desc()))


@pytest.fixture
def world(
    app: Flask,
    network: SimpleNamespace,
    sonora: Any,
    make_user: Callable[..., User],
    make_event: Callable[..., Any],
    make_need: Callable[..., int],
    make_expert: Callable[..., User],
) -> SimpleNamespace:
    """The `network` accounts plus: an event with a question and a registration, an open need
    and a completed one with an outcome, a pending contact request, a pending mentorship, a
    pending chapter membership, a chapter proposal, an unverified organisation and an API token."""
    event = make_event(questions=["¿Alguna alergia?"])
    need_id = make_need(network.org_user)
    done_id = make_need(network.org_user, title="Estudio de potabilización")
    elena = make_expert(
        {
            "expertise": "hydrology",
            "state_of_origin": "MX-SON",
            "open_to_mentor": "yes",
            "mentor_capacity": "3",
        },
        full_name="Elena Ruiz Castro",
        email="elena@ejemplo.mx",
    )
    org, expert, member = network.org_user, elena, network.member

    _post(app, member, f"/events/{event.id}/register", {"question-1": "ninguna"})
    # A completed need with an accepted contact and an outcome for Elena to confirm.
    _post(
        app,
        org,
        f"/needs/{done_id}/contact",
        {"member_id": expert.id, "message": "¿Nos ayudaría con el estudio?"},
    )
    done_request = _one(app, ContactRequest, ContactRequest.need_id == done_id)
    _post(app, expert, f"/needs/requests/{done_request}/answer", {"decision": "accept"})
    _post(app, org, f"/needs/{done_id}/status", {"status": "in_progress"})
    _post(app, org, f"/needs/{done_id}/status", {"status": "completed"})
    _post(
        app,
        org,
        f"/needs/{done_id}/outcomes",
        {"member_id": expert.id, "days": "5", "achieved": "Un estudio completo"},
    )
    # A pending contact request on the open need, for Elena to answer.
    _post(
        app,
        org,
        f"/needs/{need_id}/contact",
        {"member_id": expert.id, "message": "¿Podría asesorarnos esta vez?"},
    )
    _post(
        app,
        member,
        f"/mentoring/ask/{expert.id}",
        {"goal": "Aprender modelación hidrológica", "duration_weeks": "12"},
    )
    _post(app, member, "/chapters/madrid/join", {"message": "Hola"})
    _post(
        app,
        member,
        "/chapters/propose",
        {"name": "Nueva York", "city": "Nueva York", "country": "US"} | _proposal(app),
    )
    with app.app_context():
        pending_org = Organisation(slug="conagua", name="Conagua", kind=network.organisation.kind)
        db.session.add(pending_org)
        db.session.flush()
        pending_org_id = pending_org.id
        db.session.commit()
    pending_user = make_user(
        email="luis@conagua.gob.mx", role=Role.ORGANISATION, organisation_id=pending_org_id
    )
    new_org_user = make_user(email="eva@inegi.org.mx", role=Role.ORGANISATION)
    _post(app, member, "/account/tokens", {"token-name": "guion"}, ok=200)
    return SimpleNamespace(
        **vars(network),
        password=PASSWORD,
        event_id=event.id,
        need_id=need_id,
        done_id=done_id,
        expert=expert,
        pending_user=pending_user,
        new_org_user=new_org_user,
        pending_org_id=pending_org_id,
        registration_id=_one(app, Registration, Registration.event_id == event.id),
        contact_id=_one(app, ContactRequest, ContactRequest.need_id == need_id),
        outcome_id=_one(app, Outcome, Outcome.need_id == done_id),
        mentorship_id=_one(app, Mentorship, Mentorship.mentor_id == expert.id),
        membership_id=_one(
            app,
            ChapterMembership,
            ChapterMembership.user_id == member.id,
            ChapterMembership.status == MembershipStatus.PENDING,
        ),
        proposal_id=_one(app, Chapter, Chapter.slug != "madrid", Chapter.slug != "paris"),
        token_id=_one(app, ApiToken, ApiToken.user_id == member.id),
    )


def _proposal(app: Flask) -> dict[str, Any]:
    """The rest of a valid chapter proposal: the region of Madrid, a time zone and a note."""
    with app.app_context():
        region_id = db.session.scalar(select(Chapter.region_id).where(Chapter.slug == "madrid"))
    return {
        "region": str(region_id),
        "timezone": "America/New_York",
        "proposal_note": "Somos veinte personas en la ciudad.",
    }
