"""The backends behind the facade: chosen by SEARCH_BACKEND, one protocol, announced writes.

A wrong choice stops the app at start with a clear message, rather than answering searches from
an index that does not exist. The search contract itself (folding, concepts, visibility,
explanations, pending writes) is the rest of `tests/search`, run on every registered backend
that can serve the test database (see conftest.py)."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

import pytest
from flask import g
from sqlalchemy import select, text

from network import create_app
from network.auth.models import User
from network.config import TestConfig
from network.db import utcnow
from network.extensions import db
from network.members.models import Profile
from network.members.profile_input import parse_profile
from network.members.queries import build_viewer
from network.members.services import update_profile
from network.signals import index_written
from network.visibility import Viewer
from search import parsing
from search.backends import BACKENDS, SearchBackend, postgres
from search.queries import search
from tests.conftest import login


def test_the_postgres_backend_needs_a_postgres_database(tmp_path) -> None:
    class OnSqlite(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        SEARCH_BACKEND = "postgres"

    with pytest.raises(RuntimeError, match="postgresql\\+psycopg://"):
        create_app(OnSqlite)


def test_an_unknown_backend_is_refused() -> None:
    class Elastic(TestConfig):
        SEARCH_BACKEND = "elasticsearch"

    with pytest.raises(RuntimeError, match="'whoosh' or 'postgres'"):
        create_app(Elastic)


PROTOCOL = [
    name
    for name, member in inspect.getmembers(SearchBackend, inspect.isfunction)
    if not name.startswith("_")
]


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_registered_backend_implements_the_whole_protocol(name: str) -> None:
    """Every method the facade, the indexer, the CLI and the health check call, with the
    protocol's parameters, and its registry name."""
    backend = BACKENDS[name]
    assert backend.name == name
    assert PROTOCOL  # the comparison below must compare something
    for method in PROTOCOL:
        ours = inspect.signature(getattr(backend, method))
        theirs = inspect.signature(getattr(SearchBackend, method))
        assert list(ours.parameters) == list(theirs.parameters), (name, method)


def test_an_index_write_announces_itself_with_its_keys(app, make_member, search_backend) -> None:
    """The indexer knows nothing of who cares (the page cache does): it sends `index_written`,
    with the backend as sender, after each write and rebuild."""
    ana = make_member({"headline": "Hidróloga"}, full_name="Ana López")
    heard: list[tuple[Any, list[str]]] = []

    def listen(sender: Any, keys: list[str], **extra: Any) -> None:
        heard.append((sender, keys))

    with index_written.connected_to(listen):
        with app.test_request_context():
            update_profile(db.session.get(User, ana.id), parse_profile({"headline": "Geóloga"}))
            db.session.commit()
        result = app.test_cli_runner().invoke(args=["search", "reindex"])
        assert result.exit_code == 0, result.output
    backend = app.extensions["search_index"]
    assert backend.name == search_backend
    assert heard == [(backend, [f"member:{ana.id}"]), (backend, [])]


def test_a_postgres_search_out_of_time_says_so_and_the_page_still_works(
    app, client, make_member, monkeypatch, search_backend
) -> None:
    if search_backend != "postgres":
        pytest.skip("PostgreSQL's statement timeout; Whoosh's budget is tested in test_search")
    make_member({"headline": "Hidróloga"}, full_name="Ana López")
    login(client, make_member({}, full_name="Luis Pérez"))
    app.config["SEARCH_TIME_BUDGET"] = 0.2
    fetch = postgres._fetch

    def slow_fetch(*args):
        db.session.execute(text("SELECT pg_sleep(1)"))
        return fetch(*args)

    monkeypatch.setattr(postgres, "_fetch", slow_fetch)
    page = client.get("/search?q=hidrologa")
    assert page.status_code == 200
    assert "Esta búsqueda tardó demasiado" in page.get_data(as_text=True)
    with app.test_request_context():
        viewer = build_viewer(db.session.scalars(select(User)).first())
        assert search("hidrologa", viewer).message == "slow"
        assert g.search_incomplete  # no page cache keeps it
    monkeypatch.undo()
    # The budget is lifted afterwards: the next search finds her.
    assert "Ana López" in client.get("/search?q=hidrologa").get_data(as_text=True)


def test_own_hidden_words_and_values_count_for_their_owner_only(app, make_member) -> None:
    """A member finds and counts themselves by their private words and values (PostgreSQL reads
    their document apart from the GIN-only match of the held tiers); nobody else does."""
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
    me, stranger = Viewer(user_id=own.id, is_signed_in=True), Viewer(user_id=-5, is_signed_in=True)
    with app.test_request_context():
        mine = search("xylofonia", me, with_facets=True)
        assert mine.total == 4 == len(mine.hits)
        assert mine.facets["country"] == {"CL": 4}
        theirs = search("xylofonia", stranger, with_facets=True)
        assert theirs.total == 3 and own.id not in [h.obj_id for h in theirs.hits]
        assert theirs.facets["country"] == {"CL": 3}


def test_postgres_ranks_heavy_fields_first_past_score_among_from_the_index(
    app, make_member, monkeypatch, search_backend
) -> None:
    """Past SCORE_AMONG matches, the first pass picks the candidates `ts_rank` ranks from the
    GIN index: a word in a headline is picked before fresher bios, and a hidden headline lifts
    nobody; the total stays exact."""
    if search_backend != "postgres":
        pytest.skip("Whoosh's first phase is tested in test_search")
    headline = make_member({"headline": "Oceanografia física"})
    hidden = make_member({"headline": "Oceanografia", "headline_visibility": "private"})
    bios = [make_member({"bio": f"Trabajo en oceanografia desde {2000 + i}."}) for i in range(4)]
    with app.test_request_context():
        # The headline is the least recently confirmed: freshness alone would leave it out.
        for member, days in ((headline, 30), *((b, 1) for b in bios)):
            db.session.scalar(select(Profile).filter_by(user_id=member.id)).confirmed_at = (
                utcnow() - timedelta(days=days)
            )
        db.session.commit()
    monkeypatch.setattr(postgres, "SCORE_AMONG", 2)
    monkeypatch.setattr(parsing, "CANDIDATES", 3)
    with app.test_request_context():
        result = search("oceanografia", Viewer(user_id=-5, is_signed_in=True), per_page=3)
    assert result.total == 5  # the hidden headline matches nothing visible
    assert result.hits[0].obj_id == headline.id
    assert hidden.id not in [h.obj_id for h in result.hits]
