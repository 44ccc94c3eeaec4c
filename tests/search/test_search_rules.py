"""Search rules found by review: name visibility, expansions, segments, the two query paths."""

from __future__ import annotations

import pytest

from network.auth.models import User
from network.extensions import db
from network.members.queries import build_viewer
from network.visibility import ANONYMOUS, Viewer
from search.queries import search

SIGNED_IN = Viewer(user_id=-5, is_signed_in=True)


def test_fuzzy_pass_keeps_the_exact_word(app, make_member):
    """sorted(near)[:MAX_EXPANSIONS] is alphabetical: 12 neighbours sorting before the word
    push the word itself out of its own expansion."""
    noise = [
        "gaarcia",
        "gabcia",
        "gaccia",
        "gadcia",
        "gaecia",
        "gafcia",
        "gagcia",
        "gahcia",
        "gaicia",
        "gajcia",
        "gakcia",
        "galcia",
    ]
    make_member({"bio": " ".join(noise)})
    target = make_member({"headline": "Garcia hidrologia"})
    with app.test_request_context():
        result = search("garcia hidrologja", SIGNED_IN)
    assert [h.obj_id for h in result.hits] == [target.id]


def test_coordinator_prefix_not_crowded_by_unreadable_words(app, network, make_member):
    """A coordinator's prefix expands over the coordinators tier of *every* member: words they
    cannot read (other chapters' members) crowd out readable ones and change the total."""
    hidden = " ".join(f"zetaa{c}" for c in "abcdefghijkl")
    for _ in range(2):
        make_member({"bio": hidden, "bio_visibility": "coordinators"})  # in no chapter
    make_member({"headline": "zetazz"})
    with app.test_request_context():
        coordinator = build_viewer(db.session.get(User, network.coordinator.id))
        assert search("zeta*", SIGNED_IN).total == 1
        assert search("zeta*", coordinator).total == 1


@pytest.mark.whoosh
def test_own_hidden_document_in_another_segment(app, make_member):
    from network.members.profile_input import parse_profile
    from network.members.services import update_profile
    from search.backends import get_backend
    from search.backends import whoosh_bitsets as bitsets

    own = make_member(
        {
            "bio": "xylofonia",
            "bio_visibility": "private",
            "country": "CL",
            "country_visibility": "private",
        }
    )
    for _ in range(3):
        make_member({"bio": "xylofonia", "country": "CL"})
    with app.test_request_context():
        update_profile(db.session.get(User, own.id), parse_profile({"headline": "Nueva"}))
        db.session.commit()
    viewer = Viewer(user_id=own.id, is_signed_in=True)
    with app.test_request_context():
        assert len(bitsets.leaves(get_backend().searcher())) > 1  # the update made a segment
        result = search("xylofonia", viewer, with_facets=True)
        assert result.total == 4 and len(result.hits) == 4
        assert result.facets["country"] == {"CL": 4}
        assert search("xylofonia", viewer, filters={"country": "CL"}).total == 4
        assert search("xylof*", viewer).total == 4
        assert search("xylofonia", SIGNED_IN, with_facets=True).facets["country"] == {"CL": 3}


@pytest.mark.whoosh
def test_whoosh_branch_agrees_with_bitsets(app, network, make_member, add_membership, monkeypatch):
    from search.backends import whoosh

    monkeypatch.setattr(whoosh, "SCORE_AMONG", 1)
    words = "alfa bravo charlie delta"
    own = make_member(
        {
            "bio": words,
            "bio_visibility": "private",
            "country": "CL",
            "country_visibility": "private",
        }
    )
    for _ in range(2):
        make_member({"bio": words, "country": "CL"})
    coord = make_member(
        {
            "bio": words,
            "bio_visibility": "coordinators",
            "country": "CL",
            "country_visibility": "coordinators",
        }
    )
    add_membership(coord, network.madrid)
    other = make_member(
        {
            "bio": words,
            "bio_visibility": "coordinators",
            "country": "CL",
            "country_visibility": "coordinators",
        }
    )
    with app.test_request_context():
        viewer = build_viewer(db.session.get(User, network.coordinator.id))
        for v, expect in ((viewer, 3), (Viewer(user_id=own.id, is_signed_in=True), 3)):
            for filters in ({}, {"country": "CL"}):
                r = search(words, v, filters=filters, with_facets=True)
                assert r.total == expect == len(r.hits), (v, filters, r.total, r.hits)
                assert other.id not in [h.obj_id for h in r.hits]


def test_members_whose_name_is_hidden_are_not_found_by_anonymous_visitors(app, make_member):
    """Who may not see a member's name may not see the member (`present_profile`), so search
    neither lists, counts, facets nor explains them for that viewer."""
    from search.queries import kind_counts, load_results

    hidden = make_member(
        {
            "headline": "Vulcanologa",
            "headline_visibility": "public",
            "country": "CL",
            "country_visibility": "public",
        }
    )
    shown = make_member(
        {"headline": "Vulcanologa", "headline_visibility": "public", "name_public": True},
        full_name="Vera Pública",
    )
    with app.test_request_context():
        result = search("vulcanologa", ANONYMOUS, with_facets=True)
        assert result.total == 1 == len(load_results(result, ANONYMOUS, "es"))
        assert [h.obj_id for h in result.hits] == [shown.id]
        assert result.facets["country"] == {}
        assert kind_counts("vulcanologa", ANONYMOUS)["members"] == 1
        assert search("vulcanologa", SIGNED_IN).total == 2
        assert hidden.id in [h.obj_id for h in search("vulcanologa", SIGNED_IN).hits]
    body = app.test_client().get("/api/v1/search?q=vulcanologa&country=CL").get_json()
    assert body["total"] == 0


def test_coordinator_facets_and_filters(app, network, make_member, add_membership):
    mine = make_member({"bio": "acuiferos", "country": "CL", "country_visibility": "coordinators"})
    add_membership(mine, network.madrid)
    make_member({"bio": "acuiferos", "country": "PE", "country_visibility": "coordinators"})
    with app.test_request_context():
        coordinator = build_viewer(db.session.get(User, network.coordinator.id))
        other = build_viewer(db.session.get(User, network.other_coordinator.id))
        r = search("acuiferos", coordinator, with_facets=True)
        assert r.total == 2 and r.facets["country"] == {"CL": 1}
        assert search("acuiferos", coordinator, filters={"country": "CL"}).total == 1
        assert search("acuiferos", coordinator, filters={"country": "PE"}).total == 0
        assert search("acuiferos", other, with_facets=True).facets["country"] == {}
        assert search("acuiferos", other, filters={"country": "CL"}).total == 0
