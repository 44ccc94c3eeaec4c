"""Hyphenated and compound surnames, a contract both search backends keep in one run: Whoosh
always, PostgreSQL too where TEST_DATABASE_URL names a PostgreSQL database (`make
test-postgres`), so the two cannot drift apart unnoticed."""

from __future__ import annotations

import pytest
from flask import Flask

from network.visibility import Viewer
from search.queries import search

SIGNED_IN = Viewer(user_id=-5, is_signed_in=True)


def _found(app: Flask, text: str) -> set[int]:
    with app.test_request_context():
        return {hit.obj_id for hit in search(text, SIGNED_IN).hits}


@pytest.fixture
def zoe(make_member):
    return make_member(
        {"headline": "Investigadora en hidrogeología y recarga-de-acuíferos"},
        full_name="Zoë Müller-García",
    )


@pytest.mark.parametrize(
    "text",
    ["müller-garcía", "muller garcia", "muller", "garcia", "Müller-García", "zoe garcia-muller"],
)
def test_each_part_and_the_whole_of_a_hyphenated_surname_find_her(app, zoe, text):
    assert _found(app, text) == {zoe.id}


def test_a_hyphenated_query_finds_the_same_surname_written_apart_and_no_one_else(
    app, zoe, make_member
):
    apart = make_member({}, full_name="Luis Müller García")
    other = make_member({}, full_name="Ana García Ruiz")
    assert _found(app, "müller-garcía") == {zoe.id, apart.id}
    assert _found(app, "garcia") == {zoe.id, apart.id, other.id}
    assert _found(app, "garcia ruiz") == {other.id}


def test_a_hyphenated_word_matches_by_its_parts_and_is_highlighted_alone(app, zoe):
    with app.test_request_context():
        [hit] = search("acuiferos", SIGNED_IN).hits
    assert hit.obj_id == zoe.id
    assert [(w.field, w.matched) for w in hit.why] == [("headline", "acuifero")]
    assert "recarga-de-<mark" in hit.snippets["headline"]
