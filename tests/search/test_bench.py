"""The bench's FTS5 reference answers the question our search answers: the same members for
the same words, concepts, tiers, prefixes and typos, so `make bench`'s ratio compares engines,
not queries; and a reused bench corpus is recognised, or rebuilt when it is not the one asked."""

from __future__ import annotations

import json

import pytest

from network.auth.models import User
from network.extensions import db
from network.members.queries import build_viewer
from network.visibility import ANONYMOUS
from search import fts5ref
from search.bench import corpus_members
from search.fts5ref import Fts5Reference
from search.queries import search

# (query, filters): concepts in either language and their synonyms, plurals, accents, a typo
# (the fuzzy pass), a prefix, a facet filter, and words only some viewers may read.
QUERIES = [
    ("hidrologia", {}),
    ("watershed science", {}),
    ("paneles solares", {}),
    ("ingenieros", {}),
    ("hidrologai", {}),
    ("hidro*", {}),
    ("acuiferos", {}),
    ("acuiferos", {"country": "CL"}),
    ("xylofonia", {}),
    ("Villaseñor", {}),
    ("", {"country": "CL"}),
]


@pytest.fixture
def corpus(app, network, vocabulary, make_member, add_membership):
    """Members whose words sit in different tiers, one in the coordinator's chapter."""
    mine = make_member(
        {"bio": "acuiferos", "country": "CL", "country_visibility": "coordinators"},
        full_name="Rosa Villaseñor",
    )
    add_membership(mine, network.madrid)
    make_member({"bio": "acuiferos de Sonora", "bio_visibility": "coordinators"})
    make_member({"expertise": "hydrology", "headline": "Ingeniero hidrólogo", "country": "CL"})
    make_member({"expertise": "solar-photovoltaics", "headline": "Ingeniera"})
    make_member({"bio": "xylofonia", "bio_visibility": "ime"}, full_name="Oculta Nombre")
    secret = make_member({"bio": "xylofonia", "bio_visibility": "private", "name_public": True})
    with app.test_request_context():
        users = {
            "member": network.member.id,
            "coordinator": network.coordinator.id,
            "organisation": network.org_user.id,
            "ime": network.ime.id,
            "owner": secret.id,
        }
        viewers = {name: build_viewer(db.session.get(User, uid)) for name, uid in users.items()}
    viewers["anonymous"] = ANONYMOUS
    return viewers


@pytest.mark.whoosh
def test_the_reference_finds_what_our_search_finds_for_every_viewer(app, corpus, tmp_path):
    seconds, members = fts5ref.build(app, tmp_path / "fts5.db")
    assert members == 6 and seconds >= 0
    reference = Fts5Reference(tmp_path / "fts5.db")
    with app.test_request_context():
        for text, filters in QUERIES:
            for name, viewer in corpus.items():
                ours = search(text, viewer, filters=filters).total
                assert reference.search(text, filters, viewer) == ours, (text, filters, name)
        # The comparison compares something: hidden words and typos behave as users see them.
        assert reference.search("xylofonia", {}, corpus["member"]) == 0
        assert reference.search("xylofonia", {}, corpus["owner"]) == 1
        assert reference.search("xylofonia", {}, corpus["ime"]) == 1  # not the private one
        assert reference.search("acuiferos", {}, corpus["coordinator"]) == 1
        assert reference.search("hidrologai", {}, corpus["member"]) == 1
        assert reference.search("ingenieros", {}, corpus["member"]) == 1
        # Who may not see a member's name (kept for members) may not find the member at all.
        assert reference.search("ingenieros", {}, corpus["anonymous"]) == 0
    reference.close()


@pytest.mark.whoosh
def test_a_reference_of_another_layout_is_not_reused(app, corpus, tmp_path, monkeypatch):
    path = tmp_path / "fts5.db"
    assert fts5ref.stored_members(path) is None
    fts5ref.build(app, path)
    assert fts5ref.stored_members(path) == 6
    monkeypatch.setattr(fts5ref, "LAYOUT_VERSION", fts5ref.LAYOUT_VERSION + 1)
    assert fts5ref.stored_members(path) is None


def test_a_corpus_is_known_by_the_members_it_was_seeded_with(tmp_path):
    assert corpus_members(tmp_path) is None
    (tmp_path / "corpus.json").write_text(json.dumps({"members": 20_000, "seed": 2026}))
    assert corpus_members(tmp_path) == 20_000
