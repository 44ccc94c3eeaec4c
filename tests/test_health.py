"""`GET /healthz`: what a load balancer sees when the app is well, slow to mail, or cut off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import Limit
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from whoosh.index import EmptyIndexError

from network.db import utcnow
from network.extensions import db, limiter
from network.outbox import OutboxMessage
from search.backends.whoosh import WhooshBackend
from search.models import SearchPending


def _add(app: Flask, *rows: object) -> None:
    """Write rows as they stand after a failed delivery: a plain session, so the outbox's
    after-commit hook (which listens on `db.session`) does not send them at once."""
    with app.app_context(), Session(db.engine) as session:
        session.add_all(rows)
        session.commit()


def test_a_fresh_app_is_ok_for_anyone_and_never_cached(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "search_index", "outbox", "search_pending"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["search_index"]["documents"] == 0
    assert body["checks"]["outbox"]["unsent"] == 0
    assert body["checks"]["outbox"]["oldest_unsent_age_seconds"] is None
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert response.mimetype == "application/json"


def test_counts_are_reported_without_personal_data(app: Flask, client: FlaskClient) -> None:
    _add(
        app,
        OutboxMessage(recipient="ana@ejemplo.mx", subject="Hola", body="Secreto"),
        OutboxMessage(recipient="luis@ejemplo.mx", subject="Hola", body="x", sent_at=utcnow()),
        SearchPending(key="member:7", attempts=1, last_error="OSError: disk full"),
    )

    response = client.get("/healthz")

    assert response.status_code == 200
    checks = response.get_json()["checks"]
    assert checks["outbox"]["unsent"] == 1  # the sent one is not backlog
    assert checks["outbox"]["oldest_unsent_age_seconds"] >= 0
    assert checks["outbox"]["max_age_seconds"] == 3600
    assert checks["search_pending"]["pending"] == 1
    assert checks["outbox"]["status"] == "ok"  # a fresh backlog of mail is normal
    # A pending index change means search shows older text than the pages: degraded, still 200.
    assert checks["search_pending"]["status"] == "degraded"
    assert response.get_json()["status"] == "degraded"
    text = response.get_data(as_text=True)
    assert "ejemplo.mx" not in text and "Secreto" not in text and "disk full" not in text


def test_an_old_unsent_message_makes_it_degraded_but_still_in_rotation(
    app: Flask, client: FlaskClient
) -> None:
    created = utcnow() - timedelta(minutes=61)
    _add(app, OutboxMessage(recipient="a@ejemplo.mx", subject="s", body="b", created_at=created))

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["outbox"]["status"] == "degraded"
    assert body["checks"]["outbox"]["oldest_unsent_age_seconds"] >= 61 * 60
    assert body["checks"]["database"]["status"] == "ok"


def test_the_outbox_threshold_is_configurable(app: Flask, client: FlaskClient) -> None:
    app.config["HEALTH_OUTBOX_MAX_AGE_MINUTES"] = 180
    created = utcnow() - timedelta(minutes=61)
    _add(app, OutboxMessage(recipient="a@ejemplo.mx", subject="s", body="b", created_at=created))

    body = client.get("/healthz").get_json()

    assert body["status"] == "ok"
    assert body["checks"]["outbox"]["max_age_seconds"] == 180 * 60


def test_an_unreachable_database_is_503(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection to db.internal refused"))

    monkeypatch.setattr(db.session, "execute", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == {
        "status": "error",
        "error": "OperationalError",
        "ms": body["checks"]["database"]["ms"],
    }
    assert body["checks"]["outbox"]["status"] == "skipped"
    assert "db.internal" not in response.get_data(as_text=True)  # no host names leak
    assert response.headers["Cache-Control"] == "no-store"


def test_a_database_file_that_cannot_be_opened_is_503(tmp_path) -> None:
    """A real failure, not a patched one: the SQLite file's folder does not exist."""
    from network import create_app
    from network.config import TestConfig

    class Broken(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}"
        SEARCH_BACKEND = "whoosh"  # the PostgreSQL backend needs a PostgreSQL database

    app = create_app(Broken)
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["database"]["status"] == "error"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.whoosh
def test_an_unreadable_search_index_is_503(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(self: WhooshBackend) -> None:
        raise EmptyIndexError("Index 'MAIN' does not exist in FileStorage('/srv/index')")

    monkeypatch.setattr(WhooshBackend, "searcher", unreadable)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["checks"]["search_index"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert "/srv/index" not in response.get_data(as_text=True)


def test_it_is_not_rate_limited_nor_in_the_public_api_document(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Should a deployment add a default limit, a balancer polling from one address every few
    # seconds must not take the servers out of rotation.
    default = Limit("3 per minute", key_function=get_remote_address).bind(limiter)
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [default])
    assert [client.get("/healthz").status_code for _ in range(6)] == [200] * 6
    assert [client.get("/about/stats").status_code for _ in range(4)] == [200] * 3 + [429]

    spec = client.get("/api/v1/openapi.json").get_json()
    assert not any("healthz" in path for path in spec["paths"])
