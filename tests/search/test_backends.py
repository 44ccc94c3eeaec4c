"""Choosing the search backend: a wrong choice stops the app at start with a clear message,
rather than answering searches from an index that does not exist.

The search contract itself (folding, concepts, visibility, explanations, pending writes) is the
rest of `tests/search`: `make test` runs it on Whoosh, `make test-postgres` on PostgreSQL."""

from __future__ import annotations

import os

import pytest

from network import create_app
from network.config import TestConfig
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


@pytest.mark.skipif(
    os.environ.get("SEARCH_BACKEND") != "postgres",
    reason="PostgreSQL's statement timeout; `make test-postgres` runs it",
)
def test_a_postgres_search_out_of_time_says_so_and_the_page_still_works(
    app, client, make_member, monkeypatch
) -> None:
    from sqlalchemy import select, text

    from network.extensions import db
    from search import pg

    make_member({"headline": "Hidróloga"}, full_name="Ana López")
    login(client, make_member({}, full_name="Luis Pérez"))
    app.config["SEARCH_TIME_BUDGET"] = 0.2
    fetch = pg._fetch

    def slow_fetch(*args):
        db.session.execute(text("SELECT pg_sleep(1)"))
        return fetch(*args)

    monkeypatch.setattr(pg, "_fetch", slow_fetch)
    page = client.get("/search?q=hidrologa")
    assert page.status_code == 200
    assert "Esta búsqueda tardó demasiado" in page.get_data(as_text=True)
    with app.test_request_context():
        from flask import g

        from network.auth.models import User
        from network.members.queries import build_viewer
        from search.queries import search

        viewer = build_viewer(db.session.scalars(select(User)).first())
        assert search("hidrologa", viewer).message == "slow"
        assert g.search_incomplete  # no page cache keeps it
    monkeypatch.undo()
    # The budget is lifted afterwards: the next search finds her.
    assert "Ana López" in client.get("/search?q=hidrologa").get_data(as_text=True)
