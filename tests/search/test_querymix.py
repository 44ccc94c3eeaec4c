"""The bench's and the load test's distinct queries: different from each other (as a person
typing sees them, without accents or case), drawn from the data, repeatable for a seed."""

import unicodedata

import pytest

from network.db import db
from search.querymix import distinct_queries


def _key(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()


def test_queries_are_distinct_repeatable_and_from_the_data(app, vocabulary, network, make_member):
    make_member(full_name="Ana Villaseñor")
    with app.app_context():
        first = distinct_queries(db.session, 25, seed=3, exclude={"hidrologia"})
        again = distinct_queries(db.session, 25, seed=3, exclude={"hidrologia"})
        other = distinct_queries(db.session, 25, seed=4, exclude={"hidrologia"})
    assert first == again
    assert first != other
    keys = [_key(q) for q in first]
    assert len(set(keys)) == 25
    assert "hidrologia" not in keys
    # Labels, synonyms and surnames of this corpus appear, accented or typed without accents.
    assert {"hydrology", "wind energy", "villasenor"} & set(keys)


def test_a_corpus_too_small_for_the_count_says_so(app, vocabulary, network):
    with app.app_context(), pytest.raises(ValueError, match="fewer than 2000"):
        distinct_queries(db.session, 2_000)
