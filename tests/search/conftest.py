"""The search contract runs on every registered backend that can serve the test database.

Each test of `tests/search` takes an `app` searching with one backend of `search.backends`'
registry, once per backend that works here: Whoosh always; PostgreSQL where TEST_DATABASE_URL
names a PostgreSQL database (`make test-postgres`). A third backend joins the suite by being in
the registry. Tests marked `whoosh` exercise the Whoosh index's own machinery and run on it only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from network.config import ConfigurationError, TestConfig
from search.backends import BACKENDS, create_backend
from tests.conftest import app_for


def _config(name: str) -> type[TestConfig]:
    return type(f"{name.title()}TestConfig", (TestConfig,), {"SEARCH_BACKEND": name})


def _serves_the_test_database(name: str) -> bool:
    """Ask the registry itself: a backend that cannot work with this database refuses to start
    (PostgreSQL's searches the database it is given, so it refuses SQLite)."""
    probe = Flask(__name__)
    probe.config.from_object(_config(name))
    try:
        create_backend(probe).close()
    except ConfigurationError:
        return False
    return True


AVAILABLE = [name for name in BACKENDS if _serves_the_test_database(name)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "search_backend" in metafunc.fixturenames and not metafunc.definition.get_closest_marker(
        "whoosh"
    ):
        metafunc.parametrize("search_backend", AVAILABLE, indirect=True)


@pytest.fixture
def search_backend(request: pytest.FixtureRequest) -> str:
    """The registry name of the backend this test runs on."""
    return getattr(request, "param", "whoosh")


@pytest.fixture
def app(search_backend: str) -> Iterator[Flask]:
    """An app searching with this backend."""
    yield from app_for(_config(search_backend))
