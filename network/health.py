"""`GET /healthz`: whether this app server should receive traffic, for a proxy or load balancer.

The answer is cheap (a handful of indexed queries and a reused searcher), anonymous and carries
only counts and ages, never personal data. The HTTP status says what a balancer needs to know:
503 only when this server cannot serve pages (database or search index unreachable). A backlog
of unsent e-mail, or index changes waiting for a retry, is "degraded" but still 200: taking
every server out of rotation because the mail relay is down or the index directory is read-only
would turn a delay into an outage. The body says why, for a person.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text

from network.db import db, utcnow
from network.extensions import limiter
from network.outbox import unsent_backlog
from search.backends import get_backend
from search.models import SearchPending

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

Check = dict[str, Any]


def _timed(probe: Callable[[], Check]) -> Check:
    """Run one probe and add how long it took: a slow database shows here before it fails."""
    started = time.perf_counter()
    result = probe()
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _failed(name: str, exc: Exception) -> Check:
    # The exception's text can name hosts, paths or a connection URL: log it, answer its class.
    log.warning("health check %s failed: %s", name, exc)
    return {"status": "error", "error": type(exc).__name__}


def _age_seconds(oldest: datetime | None) -> int | None:
    return None if oldest is None else max(0, int((utcnow() - oldest).total_seconds()))


def check_database() -> Check:
    """A trivial round trip: proves a pooled connection works, reads no table."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # OperationalError and whatever the driver raises when down
        return _failed("database", exc)
    return {"status": "ok"}


def check_search_index() -> Check:
    """Read the search backend's document count.

    For Whoosh this opens the reused searcher searches use, so it costs no new reader unless
    the index changed; a deleted or unreadable index directory fails here, as it would for the
    next search. For PostgreSQL it counts the documents' table."""
    try:
        documents = get_backend().doc_count()
    except Exception as exc:  # Whoosh raises OSError, EmptyIndexError, IndexError...
        return _failed("search_index", exc)
    return {"status": "ok", "documents": documents}


def check_outbox() -> Check:
    """Unsent e-mail and the age of the oldest: degraded once it waits longer than allowed."""
    try:
        backlog = unsent_backlog()
    except Exception as exc:
        return _failed("outbox", exc)
    return {
        "status": "degraded" if backlog.stuck else "ok",
        "unsent": backlog.unsent,
        "oldest_unsent_age_seconds": None
        if backlog.age is None
        else int(backlog.age.total_seconds()),
        "max_age_seconds": int(backlog.max_age.total_seconds()),
    }


def check_search_pending() -> Check:
    """Index changes kept for retry (`search_pending`): degraded while any wait, since search
    then shows older text than the pages (an unwritable index directory, say). Still 200: the
    next write or `flask search reindex --pending` clears them, and pages keep answering."""
    try:
        pending, oldest = db.session.execute(
            select(func.count(SearchPending.id), func.min(SearchPending.created_at))
        ).one()
    except Exception as exc:
        return _failed("search_pending", exc)
    return {
        "status": "degraded" if pending else "ok",
        "pending": pending,
        "oldest_pending_age_seconds": _age_seconds(oldest),
    }


@bp.get("/healthz")
@limiter.exempt  # a balancer polls every few seconds from one address: it must never be refused
def healthz() -> ResponseReturnValue:
    checks: dict[str, Check] = {"database": _timed(check_database)}
    if checks["database"]["status"] == "ok":
        checks["outbox"] = _timed(check_outbox)
        checks["search_pending"] = _timed(check_search_pending)
    else:
        # Without a database the counts cannot be read; asking again would only wait again.
        checks["outbox"] = {"status": "skipped"}
        checks["search_pending"] = {"status": "skipped"}
    checks["search_index"] = _timed(check_search_index)

    states = {check["status"] for check in checks.values()}
    unreachable = "error" in (checks["database"]["status"], checks["search_index"]["status"])
    if unreachable:
        status, code = "error", 503
    elif states - {"ok"}:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    response = jsonify({"status": status, "checks": checks})
    response.status_code = code
    # Set before the security headers' default, which only fills in a missing Cache-Control.
    response.headers["Cache-Control"] = "no-store"
    return response
