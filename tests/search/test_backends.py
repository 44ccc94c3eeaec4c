"""The backends behind the facade: chosen by SEARCH_BACKEND, one protocol, announced writes.

A wrong choice stops the app at start with a clear message, rather than answering searches from
an index that does not exist. The search contract itself (folding, concepts, visibility,
explanations, pending writes) is the rest of `tests/search`, run on every registered backend
that can serve the test database (see conftest.py)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from flask import g
from sqlalchemy import select, text

from network import create_app
from network.auth.models import User
from network.config import TestConfig
from network.extensions import db
from network.members.profile_input import parse_profile
from network.members.queries import build_viewer
from network.members.services import update_profile
from network.signals import index_written
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
