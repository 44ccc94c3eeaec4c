"""The bilingual expertise vocabulary: the shipped file, the autocomplete, free-tag mapping."""

from __future__ import annotations

from sqlalchemy import func, select

from network.auth.models import User
from network.extensions import db
from network.members.models import Concept, Sector
from network.members.vocabulary import load_vocabulary, narrower_of
from tests.conftest import login


def test_shipped_vocabulary_loads_idempotently(app, runner):
    result = runner.invoke(args=["vocabulary", "load"])
    assert result.exit_code == 0, result.output
    # Into an empty database everything is new: nothing is reported as updated.
    assert result.output.endswith(" concepts created, 0 updated\n"), result.output
    with app.app_context():
        concepts = db.session.scalar(select(func.count(Concept.id)))
        sectors = db.session.scalar(select(func.count(Sector.id)))
        assert concepts >= 250 and sectors >= 12
        per_sector = db.session.execute(
            select(Concept.sector_id, func.count(Concept.id)).group_by(Concept.sector_id)
        ).all()
        assert len(per_sector) == sectors and min(n for _, n in per_sector) >= 10
        assert load_vocabulary() == {"sectors": 0, "concepts": 0, "updated": 0}
        assert db.session.scalar(select(func.count(Concept.id))) == concepts


def _suggest(client, query: str, language: str = "es") -> list[dict]:
    return client.get(
        f"/members/concepts?q={query}", headers={"Accept-Language": language}
    ).get_json()


def test_autocomplete_matches_either_language_and_ignores_accents(client, vocabulary):
    assert _suggest(client, "hidro")[0]["label"] == "Hidrología"
    assert _suggest(client, "hidrologia")[0]["slug"] == "hydrology"
    assert _suggest(client, "HYDRO")[0]["slug"] == "hydrology", "English label, Spanish page"
    english = _suggest(client, "hidro", "en")[0]
    assert english["label"] == "Hydrology" and english["other_label"] == "Hidrología"
    assert [c["slug"] for c in _suggest(client, "energia solar")] == ["solar-photovoltaics"]
    assert [c["slug"] for c in _suggest(client, "solar energy")] == ["solar-photovoltaics"]
    assert _suggest(client, "h") == [], "two characters at least"
    assert _suggest(client, "%") == [] and _suggest(client, "zzzz") == []


def test_ime_maps_a_free_tag_to_a_concept(app, network, make_member, vocabulary):
    ana = make_member({"expertise": "hidrologia subterranea"}, full_name="Ana")
    beto = make_member({"expertise": "hidrologia subterranea; wind-power"}, full_name="Beto")
    ime = login(app.test_client(), network.ime)
    queue = ime.get("/admin/tags").get_data(as_text=True)
    assert "hidrologia subterranea" in queue
    ime.post("/admin/tags", data={"tag": "hidrologia subterranea", "concept": "Hydrology"})
    with app.app_context():
        for member in (ana, beto):
            profile = db.session.get(User, member.id).profile
            assert "hydrology" in {c.slug for c in profile.concepts}
            assert profile.free_tags == []
    assert "hidrologia subterranea" not in ime.get("/admin/tags").get_data(as_text=True)
    unknown = ime.post(
        "/admin/tags", data={"tag": "x", "concept": "no existe"}, follow_redirects=True
    )
    assert "Ningún concepto" in unknown.get_data(as_text=True) or "No concept" in unknown.get_data(
        as_text=True
    )


def test_ime_renames_a_free_tag(app, network, make_member):
    ana = make_member({"expertise": "acuiferos"})
    ime = login(app.test_client(), network.ime)
    ime.post("/admin/tags", data={"tag": "acuiferos", "new_tag": "Acuíferos"})
    with app.app_context():
        assert [t.tag for t in db.session.get(User, ana.id).profile.free_tags] == ["Acuíferos"]


def test_profile_shows_labels_in_the_viewers_language(app, network, make_member, vocabulary):
    ana = make_member(
        {"expertise": "hydrology", "expertise_visibility": "public", "name_public": True}
    )
    client = app.test_client()
    assert "Hidrología" in client.get(f"/members/{ana.id}").get_data(as_text=True)
    english = client.get(f"/members/{ana.id}", headers={"Accept-Language": "en"})
    assert "Hydrology" in english.get_data(as_text=True)


def test_shipped_broader_concepts_reach_their_narrower_ones_and_the_picker_finds_them(
    app, client, runner
):
    assert runner.invoke(args=["vocabulary", "load"]).exit_code == 0
    for text in ("renovable", "energías renovables", "renewable energy"):
        assert _suggest(client, text)[0]["slug"] == "renewable-energy", text
    assert _suggest(client, "renewable energy", "en")[0]["label"] == "Renewable energy"
    assert _suggest(client, "gestion del agua")[0]["slug"] == "water-management"
    assert _suggest(client, "transformacion digital")[0]["slug"] == "digital-transformation"
    with app.app_context():
        by_slug = {c.slug: c for c in db.session.scalars(select(Concept))}
        below = narrower_of({by_slug["renewable-energy"].id, by_slug["energy-transition"].id})
        slugs = {c.id: c.slug for c in by_slug.values()}
        assert {
            "solar-photovoltaics",
            "wind-power",
            "geothermal-energy",
            "hydropower",
            "bioenergy",
        } <= {slugs[i] for i in below[by_slug["renewable-energy"].id]}
        # Two levels: the energy transition reaches solar through renewable energy.
        assert by_slug["solar-photovoltaics"].id in below[by_slug["energy-transition"].id]
        assert "hydrology" in {c.slug for c in by_slug["water-management"].narrower}
        assert "epidemiology" in {c.slug for c in by_slug["public-health"].narrower}
