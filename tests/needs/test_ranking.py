"""Explained ranking: the contributions add up, synonyms count, hidden fields never do."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.auth.models import User
from network.extensions import db
from network.members.models import Concept
from network.needs.models import ContactRequest, Need
from network.needs.ranking import WEIGHTS, rank_candidates
from network.needs.services import request_contact
from tests.conftest import login


def _ranking(app, need_id: int, **kwargs):
    with app.test_request_context():
        need = db.session.get(Need, need_id)
        ranking = rank_candidates(need, language="en", **kwargs)
        return ranking


def test_the_weights_add_up_to_one():
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_contributions_add_up_to_the_score_and_values_times_weights(app, world):
    ranking = _ranking(app, world.need_id)
    assert [c.member_id for c in ranking.candidates] == [world.elena.id, world.marco.id]
    for candidate in ranking.candidates:
        assert [f.name for f in candidate.factors] == list(WEIGHTS)
        assert round(sum(f.contribution for f in candidate.factors), 3) == candidate.score
        for factor in candidate.factors:
            assert 0 <= factor.value <= 1
            assert factor.contribution == pytest.approx(factor.weight * factor.value, abs=5e-4)


def test_a_free_tag_that_is_a_synonym_covers_the_concept(app, world):
    elena, marco = _ranking(app, world.need_id).candidates
    required = {f.name: f for f in elena.factors}["required_concepts"]
    assert required.value == 1.0
    assert "Water treatment ≈ potabilización" in required.detail
    assert elena.missing == []
    assert {f.name: f for f in marco.factors}["required_concepts"].value == 0.5
    assert marco.missing == ["Water treatment"]


def test_members_not_open_to_requests_or_hiding_it_never_appear(app, world, make_expert):
    closed = make_expert({"expertise": "hydrology; water-treatment", "open_to_requests": "no"})
    hidden = make_expert(
        {"expertise": "hydrology; water-treatment", "open_to_requests_visibility": "coordinators"}
    )
    secret = make_expert(
        {"expertise": "hydrology; water-treatment", "expertise_visibility": "coordinators"}
    )
    ids = [c.member_id for c in _ranking(app, world.need_id).candidates]
    assert world.elena.id in ids
    assert not {closed.id, hidden.id, secret.id} & set(ids)


def test_a_field_hidden_from_organisations_counts_as_not_given(app, world, make_expert):
    shown = make_expert({"expertise": "hydrology", "full_name": "Shown"})
    hidden = make_expert(
        {
            "expertise": "hydrology",
            "timezone_visibility": "coordinators",
            "days_per_year_visibility": "private",
            "languages_visibility": "ime",
        }
    )
    by_id = {c.member_id: c for c in _ranking(app, world.need_id).candidates}
    factors = {f.name: f for f in by_id[hidden.id].factors}
    assert factors["timezone"].value == 0 and factors["timezone"].detail == "not shown"
    assert factors["availability"].value == 0 and factors["languages"].value == 0
    assert "America/Hermosillo" not in " ".join(f.detail for f in by_id[hidden.id].factors)
    assert by_id[shown.id].score > by_id[hidden.id].score


def test_the_state_tie_is_a_bonus_never_a_filter(app, world):
    elena, marco = _ranking(app, world.need_id).candidates
    assert {f.name: f for f in elena.factors}["state_tie"].value == 1.0
    assert {f.name: f for f in marco.factors}["state_tie"].value == 0.0


def test_recent_requests_lower_the_load_factor_and_change_the_order(
    app, world, make_expert, make_need
):
    twin_a = make_expert({"expertise": "hydrology"}, full_name="Gemela A")
    twin_b = make_expert({"expertise": "hydrology"}, full_name="Gemela B")
    order = [c.member_id for c in _ranking(app, world.need_id).candidates]
    assert order.index(twin_a.id) < order.index(twin_b.id)  # a tie: the lower id first
    other = make_need(world.org_user, title="Calidad del agua en Hermosillo")
    with app.test_request_context():
        request_contact(
            db.session.merge(world.org_user),
            db.session.get(Need, other),
            twin_a.id,
            "¿Podría ayudarnos con la calidad del agua?",
        )
        db.session.commit()
    ranking = _ranking(app, world.need_id)
    order = [c.member_id for c in ranking.candidates]
    assert order.index(twin_b.id) < order.index(twin_a.id)
    load = {f.name: f for f in {c.member_id: c for c in ranking.candidates}[twin_a.id].factors}
    assert load["load"].value == pytest.approx(1 - 1 / 6, abs=1e-3)


def test_ties_are_deterministic(app, world, make_expert):
    twins = [make_expert({"expertise": "hydrology"}) for _ in range(4)]
    first = [c.member_id for c in _ranking(app, world.need_id).candidates]
    second = [c.member_id for c in _ranking(app, world.need_id).candidates]
    assert first == second
    assert [i for i in first if i in {t.id for t in twins}] == sorted(t.id for t in twins)


def test_the_candidates_page_explains_each_score_and_shows_no_contact_details(app, world):
    client = login(app.test_client(), world.org_user)
    page = client.get(f"/needs/{world.need_id}/candidates")
    assert page.status_code == 200
    text = page.text
    assert "Elena Ruiz Castro" in text and "Marco Díaz" in text
    assert text.index("Elena Ruiz Castro") < text.index("Marco Díaz")
    assert "0.350" in text and "0.900" in text  # Elena's points and score
    assert "elena@ejemplo.mx" not in text and "+52 662 555 0101" not in text
    assert "Hidrología" in text and "≈ potabilización" in text
    with app.app_context():
        assert db.session.query(ContactRequest).count() == 0


def test_a_broader_concept_in_a_need_reaches_the_narrower_concepts_experts(
    app, network, make_need, make_expert
):
    with app.app_context():
        concepts = {c.slug: c for c in db.session.scalars(select(Concept))}
        db.session.add(
            Concept(
                slug="renewable-energy",
                sector=concepts["solar-photovoltaics"].sector,
                label_es="Energías renovables",
                label_en="Renewable energy",
                narrower=[concepts["solar-photovoltaics"], concepts["wind-power"]],
            )
        )
        db.session.commit()
    need_id = make_need(network.org_user, required=["renewable-energy"], nice=[])
    solar = make_expert({"expertise": "solar-photovoltaics"}, full_name="Sol Ángeles")
    both = make_expert({"expertise": "wind-power; solar-photovoltaics"}, full_name="Eolo Vega")
    make_expert({"expertise": "hydrology"}, full_name="Hidra Luna")
    ranking = _ranking(app, need_id)
    assert {c.member_id for c in ranking.candidates} == {solar.id, both.id}
    details = {
        c.member_id: {f.name: f for f in c.factors}["required_concepts"] for c in ranking.candidates
    }
    assert details[solar.id].value == 1.0
    assert details[solar.id].detail == "Solar photovoltaics (part of Renewable energy)"
    assert details[both.id].detail == "Solar photovoltaics, Wind power (part of Renewable energy)"
    assert all(c.missing == [] for c in ranking.candidates)


def test_the_kept_ranking_follows_a_change_at_once(app, world, make_expert):
    """Scores are kept per worker between page views; a member who hides their expertise from
    organisations leaves the candidates the next time the page is shown."""
    client = login(app.test_client(), world.org_user)
    first = client.get(f"/needs/{world.need_id}/candidates").text
    assert "Elena Ruiz Castro" in first and "Marco Díaz" in first
    with app.app_context():
        db.session.get(User, world.marco.id).profile.expertise_visibility = "coordinators"
        db.session.commit()
    second = client.get(f"/needs/{world.need_id}/candidates").text
    assert "Elena Ruiz Castro" in second and "Marco Díaz" not in second
