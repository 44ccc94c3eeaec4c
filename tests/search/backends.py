"""The search contract on both backends in one run: Whoosh always, PostgreSQL too where
TEST_DATABASE_URL names a PostgreSQL database (`make test-postgres`). A module takes it with
`app = backends.app` (the shared `app` follows SEARCH_BACKEND, one backend per run)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask

from network.config import TestConfig
from tests.conftest import app_for

BACKENDS = ["whoosh"]
if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
    BACKENDS.append("postgres")


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """An app searching with this backend."""
    config = type("BackendConfig", (TestConfig,), {"SEARCH_BACKEND": request.param})
    yield from app_for(config)
