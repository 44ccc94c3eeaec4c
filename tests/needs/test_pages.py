"""Needs pages: posting through the form, the list and its filters, "Needs for you", interest,
the status flow and the outcomes ledger."""

from __future__ import annotations

from sqlalchemy import select

from network.extensions import db
from network.needs.models import Need, NeedStatus, Outcome
from tests.conftest import login

FORM = {
    "title": "Potabilización en comunidades rurales de Sonora",
    "description": "Asesoría para **plantas** pequeñas.",
    "sector": "water",
    "required": "Water treatment; hidrología",
    "nice": "",
    "languages": ["es", "en"],
    "modes": ["remote_advice", "short_visit"],
    "effort_days": "15",
    "starts_on": "2027-02-01",
    "ends_on": "2027-06-30",
    "state": "MX-SON",
    "remote": "y",
    "status": "open",
}


def _need(app, title: str) -> Need:
    with app.app_context():
        need = db.session.scalar(select(Need).where(Need.title == title))
        return need


def test_an_organisation_posts_a_need_with_concepts_in_either_language(app, world):
    client = login(app.test_client(), world.org_user)
    assert client.get("/needs/new").status_code == 200
    response = client.post("/needs/new", data=FORM)
    assert response.status_code == 302
    with app.app_context():
        need = db.session.scalar(select(Need).where(Need.title == FORM["title"]))
        assert need.status == NeedStatus.OPEN and need.opened_at is not None
        assert {c.slug for c in need.required_concepts} == {"water-treatment", "hydrology"}
        assert need.language_codes == ["en", "es"] and need.node.code == "MX-SON"
        assert need.mode_names == ["remote_advice", "short_visit"] and need.effort_days == 15
    page = client.get(response.headers["Location"]).text
    assert "<strong>plantas</strong>" in page and "Sonora" in page


def test_bad_input_is_explained_and_nothing_is_lost(app, world):
    client = login(app.test_client(), world.org_user)
    page = client.post(
        "/needs/new",
        data={**FORM, "required": "hidrologia; cosmología cuántica", "ends_on": "2027-01-01"},
    )
    assert page.status_code == 200
    assert "cosmología cuántica" in page.text  # named as not a concept
    assert FORM["title"] in page.text  # what was typed is still there
    assert _need(app, FORM["title"]) is None
    dates = client.post("/needs/new", data={**FORM, "ends_on": "2027-01-01"})
    assert dates.status_code == 200 and _need(app, FORM["title"]) is None
    none = client.post("/needs/new", data={**FORM, "required": ""})
    assert none.status_code == 200 and _need(app, FORM["title"]) is None


def test_the_list_filters_and_hides_drafts(app, world, make_need):
    make_need(world.org_user, title="Borrador secreto de energía", status=NeedStatus.DRAFT)
    national = make_need(world.org_user, title="Estrategia nacional de agua", node=None)
    page = app.test_client().get("/needs").text
    assert "Modelo hidrológico de la cuenca del río Sonora" in page
    assert "Estrategia nacional de agua" in page and "Borrador secreto" not in page
    only_sonora = app.test_client().get("/needs?state=MX-SON").text
    assert "Modelo hidrológico" in only_sonora and "Estrategia nacional" not in only_sonora
    only_national = app.test_client().get("/needs?state=national").text
    assert "Estrategia nacional" in only_national and "Modelo hidrológico" not in only_national
    assert app.test_client().get(f"/needs/{national}").status_code == 200
    ours = login(app.test_client(), world.org_user).get("/needs/ours").text
    assert "Borrador secreto de energía" in ours


def test_needs_for_you_ranks_by_the_members_own_expertise(app, world, make_need):
    make_need(world.org_user, title="Eólica en La Rumorosa", required=["wind-power"], nice=[])
    second = make_need(
        world.org_user,
        title="Tratamiento de agua en Cajeme",
        required=["water-treatment", "wind-power"],
        nice=[],
    )
    page = login(app.test_client(), world.elena).get("/needs/for-you").text
    assert "Eólica en La Rumorosa" not in page  # nothing in common with Elena
    assert page.index("Modelo hidrológico") < page.index("Tratamiento de agua en Cajeme")
    assert "potabilización" in page
    assert second


def test_interest_is_seen_by_the_organisation_and_can_be_withdrawn(app, world):
    member = login(app.test_client(), world.marco)
    member.post(f"/needs/{world.need_id}/interest", data={"message": "Trabajé en el río Yaqui."})
    org_page = login(app.test_client(), world.org_user).get(f"/needs/{world.need_id}").text
    assert "Marco Díaz" in org_page and "Trabajé en el río Yaqui." in org_page
    public = app.test_client().get(f"/needs/{world.need_id}").text
    assert "Trabajé en el río Yaqui." not in public  # only the organisation (and IME) read it
    member.post(f"/needs/{world.need_id}/interest/withdraw")
    assert (
        "Trabajé en el río Yaqui."
        not in login(app.test_client(), world.org_user).get(f"/needs/{world.need_id}").text
    )


def test_closing_needs_a_reason_and_completion_leads_to_outcomes(app, world, outbox):
    org = login(app.test_client(), world.org_user)
    org.post(f"/needs/{world.need_id}/status", data={"status": "closed", "reason": ""})
    assert _need(app, "Modelo hidrológico de la cuenca del río Sonora").status == NeedStatus.OPEN
    # Elena accepts a request, the need is completed, the organisation records her contribution.
    org.post(f"/needs/{world.need_id}/shortlist", data={"member_id": world.elena.id})
    org.post(
        f"/needs/{world.need_id}/contact",
        data={"member_id": world.elena.id, "message": "¿Nos ayuda con el modelo?"},
    )
    with app.app_context():
        contact_id = (
            db.session.scalar(select(Need).where(Need.id == world.need_id)).contact_requests[0].id
        )
    login(app.test_client(), world.elena).post(
        f"/needs/requests/{contact_id}/answer", data={"decision": "accept"}
    )
    org.post(f"/needs/{world.need_id}/status", data={"status": "in_progress"})
    org.post(f"/needs/{world.need_id}/status", data={"status": "completed"})
    assert (
        _need(app, "Modelo hidrológico de la cuenca del río Sonora").status == NeedStatus.COMPLETED
    )
    org.post(
        f"/needs/{world.need_id}/outcomes",
        data={
            "member_id": world.elena.id,
            "days": "12",
            "achieved": "Modelo calibrado y entregado.",
            "rating": "5",
        },
    )
    with app.app_context():
        outcome = db.session.scalar(select(Outcome))
        assert (outcome.days, outcome.rating, outcome.confirmed_at) == (12, 5, None)
        outcome_id = outcome.id
    assert any(m.recipient == "elena@ejemplo.mx" and "12" in m.body for m in outbox())
    expert = login(app.test_client(), world.elena)
    assert "Modelo calibrado y entregado." in expert.get(f"/needs/{world.need_id}").text
    expert.post(f"/needs/outcomes/{outcome_id}/confirm", data={"comment": "Fue un gusto."})
    with app.app_context():
        outcome = db.session.get(Outcome, outcome_id)
        assert outcome.confirmed_at is not None and outcome.expert_comment == "Fue un gusto."
    # Marco took no part: no outcome can be recorded for him.
    org.post(
        f"/needs/{world.need_id}/outcomes",
        data={"member_id": world.marco.id, "days": "3", "achieved": "Nada que registrar."},
    )
    with app.app_context():
        assert db.session.query(Outcome).count() == 1


def test_a_closed_need_keeps_its_reason_and_leaves_the_public_list(app, world):
    org = login(app.test_client(), world.org_user)
    org.post(
        f"/needs/{world.need_id}/status",
        data={"status": "closed", "reason": "El proyecto perdió su financiamiento."},
    )
    assert "Modelo hidrológico" not in app.test_client().get("/needs?status=all").text
    assert app.test_client().get(f"/needs/{world.need_id}").status_code == 404
    assert "El proyecto perdió su financiamiento." in org.get(f"/needs/{world.need_id}").text
