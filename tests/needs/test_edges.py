"""Edges found in review: the outcomes ledger stays private, big numbers are a 404 not a 500,
time zones wrap around the clock, "Needs for you" scores what organisations see, and more."""

from __future__ import annotations

from sqlalchemy import select

from network.auth.models import User
from network.extensions import db
from network.needs.models import ContactRequest, Need, NeedStatus
from network.needs.queries import needs_for_member
from network.needs.ranking import _hours_apart, rank_candidates
from network.needs.services import change_status
from network.organisations.models import Organisation
from tests.conftest import bearer, login

BIG = 10**20


def _accept_and_complete(app, world) -> None:
    org = login(app.test_client(), world.org_user)
    org.post(f"/needs/{world.need_id}/shortlist", data={"member_id": world.elena.id})
    org.post(
        f"/needs/{world.need_id}/contact",
        data={"member_id": world.elena.id, "message": "¿Nos ayuda con el modelo?"},
    )
    with app.app_context():
        contact_id = db.session.scalar(select(ContactRequest.id))
    login(app.test_client(), world.elena).post(
        f"/needs/requests/{contact_id}/answer", data={"decision": "accept"}
    )
    org.post(f"/needs/{world.need_id}/status", data={"status": "completed"})
    org.post(
        f"/needs/{world.need_id}/outcomes",
        data={
            "member_id": world.elena.id,
            "days": "8",
            "achieved": "Modelo calibrado.",
            "rating": "2",
        },
    )


def test_the_outcomes_ledger_is_for_the_organisation_ime_and_the_expert_alone(app, world):
    _accept_and_complete(app, world)
    anonymous = app.test_client().get(f"/needs/{world.need_id}").text
    other_member = login(app.test_client(), world.marco).get(f"/needs/{world.need_id}").text
    for page in (anonymous, other_member):
        assert (
            "Elena Ruiz Castro" not in page and "★★" not in page and "Modelo calibrado." not in page
        )
    assert "★★" in login(app.test_client(), world.org_user).get(f"/needs/{world.need_id}").text
    assert "★★" in login(app.test_client(), world.ime).get(f"/needs/{world.need_id}").text
    own = login(app.test_client(), world.elena).get(f"/needs/{world.need_id}").text
    assert "Modelo calibrado." in own and "★★" not in own  # her row, not the organisation's rating


def test_numbers_too_big_for_the_database_are_refused_not_crashing(app, world):
    client = login(app.test_client(), world.org_user)
    assert client.get(f"/needs/{BIG}").status_code == 404
    assert client.get(f"/needs?page={BIG}").status_code == 200
    assert (
        client.post(f"/needs/{world.need_id}/shortlist", data={"member_id": BIG}).status_code == 302
    )
    assert (
        client.post(
            f"/needs/{world.need_id}/contact",
            data={"member_id": BIG, "message": "Un mensaje largo."},
        ).status_code
        == 302
    )
    assert client.get(f"/events/{BIG}").status_code == 404
    ime = login(app.test_client(), world.ime)
    assert ime.get(f"/admin/audit?subject_id={BIG}&page={BIG}").status_code == 200
    assert login(app.test_client(), world.member).get(f"/mentoring/ask/{BIG}").status_code == 404


def test_time_zones_are_apart_around_the_clock():
    assert _hours_apart(13, -6) == 5  # Auckland in summer and Mexico City
    assert _hours_apart(9, -6) == 9  # Tokyo
    assert _hours_apart(-6, -6) == 0 and _hours_apart(-7, -5) == 2


def test_a_far_eastern_expert_is_not_zeroed_for_the_time_zone(app, world, make_expert):
    auckland = make_expert({"expertise": "hydrology", "timezone": "Pacific/Auckland"})
    with app.test_request_context():
        ranking = rank_candidates(db.session.get(Need, world.need_id), language="en")
    factors = {
        f.name: f for f in next(c for c in ranking.candidates if c.member_id == auckland.id).factors
    }
    assert factors["timezone"].value > 0.2


def test_needs_for_you_scores_what_organisations_see(app, world, make_expert):
    hidden = make_expert(
        {
            "expertise": "hydrology; water-treatment",
            "languages_visibility": "private",
            "open_to_requests": "no",
        },
        email="oculta@ejemplo.mx",
    )
    page = login(app.test_client(), hidden).get("/needs/for-you").text
    assert "Modelo hidrológico" in page  # her expertise still finds the need
    assert 'data-testid="not-a-candidate"' in page  # but organisations do not see her as one
    with app.test_request_context():
        profile = db.session.get(User, hidden.id).profile
        ((_need, fit),) = needs_for_member(profile, "en")
    assert {f.name: f for f in fit.factors}["languages"].value == 0  # hidden from organisations


def test_an_unverified_organisation_reads_no_request_through_the_api(app, world, make_user):
    _accept_and_complete(app, world)
    with app.app_context():
        organisation = db.session.get(Organisation, world.organisation.id)
        organisation.verified_at = None
        db.session.commit()
        contact_id = db.session.scalar(select(ContactRequest.id))
    response = app.test_client().get(
        f"/api/v1/contact-requests/{contact_id}", headers=bearer(app, world.org_user)
    )
    assert response.status_code == 404
    assert "elena@ejemplo.mx" not in response.text


def test_shortlists_are_for_open_needs_and_next_stays_on_the_site(app, world):
    client = login(app.test_client(), world.org_user)
    away = client.post(
        f"/needs/{world.need_id}/shortlist",
        data={"member_id": world.elena.id, "next": "//evil.example/steal"},
    )
    assert away.headers["Location"] == f"/needs/{world.need_id}/shortlist"
    with app.test_request_context():
        need = db.session.get(Need, world.need_id)
        change_status(db.session.merge(world.org_user), need, NeedStatus.CLOSED, "Sin presupuesto.")
        db.session.commit()
    client.post(f"/needs/{world.need_id}/shortlist", data={"member_id": world.marco.id})
    with app.app_context():
        need = db.session.get(Need, world.need_id)
        assert [e.member_id for e in need.shortlist] == [world.elena.id]
