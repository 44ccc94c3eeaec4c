"""Choosing the search backend: a wrong choice stops the app at start with a clear message,
rather than answering searches from an index that does not exist.

The search contract itself (folding, concepts, visibility, explanations, pending writes) is the
rest of `tests/search`: `make test` runs it on Whoosh, `make test-postgres` on PostgreSQL."""

from __future__ import annotations

import pytest

from network import create_app
from network.config import TestConfig


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
