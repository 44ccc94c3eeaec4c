"""Broader concepts in the search box, on both backends: "renewable energy" finds the solar and
wind experts, and the "why" line names their concept as part of the broader one."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from network.extensions import db
from network.members.models import Concept
from network.visibility import Viewer
from search.queries import search

SIGNED_IN = Viewer(user_id=-5, is_signed_in=True)


def _broader(slug: str, es: str, en: str, narrower: list[str], synonyms_es: str = "") -> None:
    """A broader concept over these, added the way an administrator's edit is: one commit."""
    concepts = {c.slug: c for c in db.session.scalars(select(Concept))}
    concept = Concept(
        slug=slug,
        sector=concepts["solar-photovoltaics"].sector,
        label_es=es,
        label_en=en,
        synonyms_es=synonyms_es,
        narrower=[concepts[s] for s in narrower],
    )
    db.session.add(concept)
    db.session.commit()


@pytest.fixture
def experts(app: Flask, make_member, vocabulary):
    people = {
        "sol": make_member({"expertise": "solar-photovoltaics"}, full_name="Sol Ángeles"),
        "eolo": make_member({"expertise": "wind-power"}, full_name="Eolo Vega"),
        "hidra": make_member({"expertise": "hydrology"}, full_name="Hidra Luna"),
    }
    with app.app_context():
        _broader(
            "renewable-energy",
            "Energías renovables",
            "Renewable energy",
            ["solar-photovoltaics", "wind-power"],
            "energías limpias",
        )
        _broader("energy-transition", "Transición energética", "Energy transition", [])
        transition = db.session.scalar(select(Concept).where(Concept.slug == "energy-transition"))
        renewable = db.session.scalar(select(Concept).where(Concept.slug == "renewable-energy"))
        transition.narrower = [renewable]  # a level above: linked after the fact
        db.session.commit()
    return people


def _why(app: Flask, text: str, language: str) -> dict[int, list[str]]:
    with app.test_request_context():
        hits = search(text, SIGNED_IN, language=language).hits
    return {hit.obj_id: [w.matched for w in hit.why] for hit in hits}


@pytest.mark.parametrize(
    "text", ["renewable energy", "energías renovables", "renovables", "energias limpias"]
)
def test_a_broader_concept_finds_the_experts_of_the_narrower_ones(app, experts, text):
    assert set(_why(app, text, "en")) == {experts["sol"].id, experts["eolo"].id}


def test_the_why_line_says_which_concept_is_part_of_the_broader_one(app, experts):
    english = _why(app, "renewable energy", "en")
    # "energy" is a word of her own concept too ("solar energy"): that word is explained by it.
    assert english[experts["sol"].id] == [
        "Solar photovoltaics (part of Renewable energy)",
        "Solar photovoltaics",
    ]
    spanish = _why(app, "renovables", "es")
    assert spanish[experts["eolo"].id] == ["Energía eólica (parte de Energías renovables)"]
    # Two levels up, through "Renewable energy".
    assert _why(app, "transicion energetica", "en")[experts["sol"].id][0] == (
        "Solar photovoltaics (part of Energy transition)"
    )
    # A word of her own concept is explained by it, not by the broader one.
    assert _why(app, "solar", "en")[experts["sol"].id] == ["Solar photovoltaics"]


def test_unlinking_a_narrower_concept_reindexes_its_experts(app, experts):
    with app.app_context():
        renewable = db.session.scalar(select(Concept).where(Concept.slug == "renewable-energy"))
        renewable.narrower = [c for c in renewable.narrower if c.slug != "wind-power"]
        db.session.commit()
    assert set(_why(app, "renewable energy", "en")) == {experts["sol"].id}
    assert set(_why(app, "energy transition", "en")) == {experts["sol"].id}


def test_merging_a_narrower_concept_keeps_it_under_the_broader_one(app, experts, make_member):
    """IME merges "Wind power" into "Hydrology" (say, a duplicate): the wind expert now holds the
    target, which takes the source's place under "Renewable energy", so the broader concept
    still reaches her; a merge loses no link of the hierarchy."""
    from network.members.vocabulary import merge_concepts

    with app.test_request_context():
        concepts = {c.slug: c for c in db.session.scalars(select(Concept))}
        merge_concepts(None, concepts["wind-power"], concepts["hydrology"], across_sectors=True)
        db.session.commit()
        renewable = db.session.scalar(select(Concept).where(Concept.slug == "renewable-energy"))
        assert sorted(c.slug for c in renewable.narrower) == ["hydrology", "solar-photovoltaics"]
    assert set(_why(app, "renewable energy", "en")) == {
        experts["sol"].id,
        experts["eolo"].id,
        experts["hidra"].id,
    }
