"""Anonymous visitors' copies of the busiest pages, dropped the moment the data they show changes.

The directory and the search page cost 60-150 ms to render at 100,000 members, and most of their
visitors are anonymous and see the same page. What keeps the copies honest:

- **What is kept.** Only GET requests to `PAGE_CACHE_ENDPOINTS`, from visitors who are not signed
  in, send no Authorization header and whose session holds nothing a page shows (`_flashes`,
  say): a CSRF token is the one exception, see below. Only 200 answers are kept, and only if
  the view set no cookie, flashed nothing, wrote nothing into the session and made no real CSRF
  token (a form's `hidden_tag()`).
- **The key**: method, scheme, host and script root, the full path with its query string, the
  display language (Flask-Babel's resolved locale: the `lang` cookie, else Accept-Language)
  and the viewer's time zone (the `tz` cookie, `network.geo.viewer_zone`): all an anonymous
  page varies on (templates/base.html, network/i18n.py, network/geo.py).
- **Invalidation, not staleness.** The one-row table `page_generation` holds a number that every
  transaction changing page data increases, inside that transaction (`before_commit`). Each
  cacheable request reads it once, before anything else, and a copy made at another number is
  never served, so a hidden field disappears for everyone at the commit. Every worker and host
  share the number through the database. Writes that no page shows do not count: the outbox,
  API tokens, audit entries, calendar feed tokens, pending index keys, and the log-in
  bookkeeping of `users` (`last_login_at`, `auth_stamp`, `password_hash`).
- The search index is written *after* the commit (search.indexer): every successful index write
  or rebuild announces itself (`network.signals.index_written`), and this module's receiver
  increases the number once more, so a search page rendered in between (new data, old index) is
  dropped too, whichever process wrote the index. The indexer knows nothing of this cache.
- A page whose search ran out of `SEARCH_TIME_BUDGET` (`g.search_incomplete`, set by
  `search.results.mark_incomplete`) is not kept: its partial results, or "too slow", must not
  stand for the answer.
- `PAGE_CACHE_SECONDS` bounds an entry's life: pages also show the time ("upcoming events"),
  which no write changes. `PAGE_CACHE_MAX_ENTRIES` bounds the entries per worker (least recently
  used go first).
- **CSRF.** The header's language switcher is a POST form with a per-session CSRF token. While a
  cacheable page renders, `csrf_token()` writes a placeholder; on the way out (a fresh render or
  a copy) the placeholder becomes the visitor's own token from Flask-WTF's `generate_csrf`,
  exactly as the page without the cache would have it (and its session cookie with it).
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.wrappers import Response
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import DDL, BigInteger, event, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, SessionTransaction, mapped_column
from sqlalchemy.sql.elements import TextClause

from network.db import db, listen_to_session
from network.geo import viewer_zone
from network.signals import index_written

log = logging.getLogger(__name__)

# Tables whose rows no page shows: writing them keeps every cached page.
IGNORED_TABLES = frozenset(
    {
        "page_generation",
        "outbox_messages",
        "api_tokens",
        "audit_entries",
        "calendar_feeds",
        "search_pending",
    }
)
# Columns no page shows, of tables whose other columns pages do show: what a log-in, a
# password rehash or "sign out everywhere" writes.
IGNORED_COLUMNS = {"users": frozenset({"last_login_at", "auth_stamp", "password_hash"})}
# Session keys an anonymous page does not depend on: the CSRF token (filled in per visitor) and
# Flask-Login's freshness flag, which it sets on any non-empty anonymous session.
ANONYMOUS_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})

_CHANGED = "page_data_changed"
_WRITE_SQL = re.compile(r"\s*(insert|update|delete|replace)\b", re.IGNORECASE)


class PageGeneration(db.Model):
    """One row (id 1): increased by every transaction that changes what pages show."""

    __tablename__ = "page_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)


# create_all (tests, the bench database) makes the row with the table; the migration inserts it.
event.listen(
    PageGeneration.__table__,
    "after_create",
    DDL("INSERT INTO page_generation (id, generation) VALUES (1, 0)"),
)


# ---------------------------------------------------------------- the shared generation


def read_generation() -> int | None:
    """The current generation, or None if the row is missing (then nothing is cached)."""
    return db.session.scalar(select(PageGeneration.generation).where(PageGeneration.id == 1))


def app_cache(function: Callable[..., Any], size: int) -> Callable[..., Any]:
    """This app's bounded cache of `function`, for results that hold until the data changes:
    callers put `read_generation()` in the arguments, so an older entry is never reached again
    and the LRU drops it.

    Why `functools.lru_cache`: kept, bounded, thread-safe, and nothing else is needed; one per
    app (in `app.extensions`) so that two apps in one process (tests) never share entries."""
    caches = current_app.extensions.setdefault("generation_caches", {})
    key = f"{function.__module__}.{function.__qualname__}"
    cached = caches.get(key)
    if cached is None:
        cached = caches[key] = functools.lru_cache(maxsize=size)(function)
    return cached


def _bump_statement() -> Any:
    table = PageGeneration.__table__
    return update(table).where(table.c.id == 1).values(generation=table.c.generation + 1)


@index_written.connect
def bump_generation(sender: Any, **extra: Any) -> None:
    """Drop every worker's copies when the search index was written, which happens outside the
    app's session: after a commit, a retried pending change, or `flask search reindex`."""
    try:
        with db.engine.begin() as connection:
            connection.execute(_bump_statement())
    except SQLAlchemyError:
        # The data's own commit increased the number already; only a search page rendered in
        # the moment between that commit and the index write may live on, PAGE_CACHE_SECONDS
        # at most.
        log.exception("Could not increase the page generation after a search index write")


def _touches_pages(obj: Any, *, dirty: bool) -> bool:
    """Does writing this object change anything a page may show?"""
    state = inspect(obj)
    tables = {table.name for table in state.mapper.tables}
    if tables <= IGNORED_TABLES:
        return False
    if not dirty:
        return True
    ignored = frozenset().union(*(IGNORED_COLUMNS.get(name, ()) for name in tables))
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    return bool(changed - ignored)


def _after_flush(session: Session, flush_context: Any) -> None:
    if session.info.get(_CHANGED):
        return
    for obj in session.new:
        if _touches_pages(obj, dirty=False):
            session.info[_CHANGED] = True
            return
    for obj in session.deleted:
        if _touches_pages(obj, dirty=False):
            session.info[_CHANGED] = True
            return
    for obj in session.dirty:
        if _touches_pages(obj, dirty=True):
            session.info[_CHANGED] = True
            return


def _on_execute(state: ORMExecuteState) -> None:
    """Bulk statements (`session.execute(update(...))`) bypass the flush: look at them here."""
    if state.is_select or state.session.info.get(_CHANGED):
        return
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        name = getattr(getattr(statement, "table", None), "name", None)
        if name not in IGNORED_TABLES:
            state.session.info[_CHANGED] = True
    elif isinstance(statement, TextClause) and _WRITE_SQL.match(statement.text):
        state.session.info[_CHANGED] = True


def _before_commit(session: Session) -> None:
    """Increase the generation inside the transaction that changed page data, as its last
    statement (so on PostgreSQL the row is locked only for the moment before the commit)."""
    session.flush()  # the commit's own flush comes after this hook: see its changes now
    if session.info.pop(_CHANGED, False):
        session.execute(_bump_statement())


def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_CHANGED, None)


def register_generation_hooks() -> None:
    """Every writer increases the generation, whether or not its own app caches pages."""
    listen_to_session(
        ("after_flush", _after_flush),
        ("do_orm_execute", _on_execute),
        ("before_commit", _before_commit),
        ("after_soft_rollback", _after_rollback),
    )


# ---------------------------------------------------------------- the per-worker store


@dataclass(frozen=True)
class Entry:
    generation: int
    expires: float
    body: bytes
    headers: tuple[tuple[str, str], ...]


class PageCache:
    """A bounded, least-recently-used store of pages, all of one generation at a time."""

    def __init__(self, endpoints: Any, max_entries: int, seconds: float) -> None:
        self.endpoints = frozenset(endpoints)
        self.max_entries = max_entries
        self.seconds = seconds
        # Random per process, so no page text can contain it by chance or on purpose.
        self.placeholder = f"pagecache-csrf-{secrets.token_hex(16)}"
        self._entries: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self._generation: int | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _see(self, generation: int) -> None:
        # Another number than the last one seen: every entry is of the old one, drop them all.
        if generation != self._generation:
            self._entries.clear()
            self._generation = generation

    def get(self, key: tuple[str, ...], generation: int) -> Entry | None:
        with self._lock:
            self._see(generation)
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.generation != generation or entry.expires <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, ...], generation: int, body: bytes, headers: Any) -> None:
        with self._lock:
            if generation != self._generation:
                return  # read before a change another request has already seen
            self._entries[key] = Entry(
                generation, time.monotonic() + self.seconds, body, tuple(headers)
            )
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class _Candidate:
    key: tuple[str, ...]
    generation: int
    hit: bool = False


def get_page_cache() -> PageCache:
    return current_app.extensions["pagecache"]


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _anonymous_request() -> bool:
    if request.method != "GET" or request.endpoint not in get_page_cache().endpoints:
        return False
    if "Authorization" in request.headers or current_user.is_authenticated:
        return False
    return set(session.keys()) <= ANONYMOUS_SESSION_KEYS


def _key() -> tuple[str, ...]:
    return (
        request.method,
        request.scheme,
        request.host,
        request.script_root,
        request.full_path,
        str(get_locale()),
        viewer_zone() or "",
    )


def _serve_copy() -> Response | None:
    """before_request: a kept page if there is one of the current generation."""
    if not _anonymous_request():
        return None
    try:
        generation = read_generation()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("Could not read the page generation; serving without the page cache")
        return None
    if generation is None:
        return None
    candidate = _Candidate(_key(), generation)
    g._page_cache = candidate
    entry = get_page_cache().get(candidate.key, generation)
    if entry is None:
        return None
    candidate.hit = True
    return current_app.response_class(entry.body, status=200, headers=list(entry.headers))


def _keepable(response: Response, candidate: _Candidate) -> bool:
    # A search that runs out of SEARCH_TIME_BUDGET answers with what it found so far (Whoosh)
    # or says it was too slow (PostgreSQL): such an answer must not stand in for the full one.
    return (
        response.status_code == 200
        and not g.get("search_incomplete")
        and not response.is_streamed
        and not response.direct_passthrough
        and "Set-Cookie" not in response.headers
        and set(session.keys()) <= ANONYMOUS_SESSION_KEYS  # flash() and friends
        and _csrf_field() not in g  # a real token was made (a form's hidden_tag)
    )


def _keep_and_fill(response: Response) -> Response:
    """after_request: keep a fresh page if it may be kept, then put the visitor's CSRF token
    where the placeholder is (in a copy and in a fresh render alike)."""
    candidate: _Candidate | None = g.pop("_page_cache", None)
    if candidate is None or response.is_streamed or response.direct_passthrough:
        return response
    cache = get_page_cache()
    body = response.get_data()
    if not candidate.hit and _keepable(response, candidate):
        headers = [
            (name, value)
            for name, value in response.headers
            if name not in ("Content-Length", "Set-Cookie")
        ]
        cache.put(candidate.key, candidate.generation, body, headers)
    placeholder = cache.placeholder.encode()
    if placeholder in body:
        response.set_data(body.replace(placeholder, generate_csrf().encode()))
    return response


def _csrf_token() -> str:
    """`csrf_token()` in templates: the placeholder while a cacheable page renders."""
    if g.get("_page_cache") is not None:
        return get_page_cache().placeholder
    return generate_csrf()


def register_page_cache(app: Flask) -> None:
    register_generation_hooks()
    endpoints = app.config.get("PAGE_CACHE_ENDPOINTS") or ()
    # Off under the debugger: there templates and code change between requests, not only data.
    if app.debug or not endpoints or app.config.get("PAGE_CACHE_MAX_ENTRIES", 0) <= 0:
        return
    app.extensions["pagecache"] = PageCache(
        endpoints, app.config["PAGE_CACHE_MAX_ENTRIES"], app.config["PAGE_CACHE_SECONDS"]
    )
    # Flask-WTF offers csrf_token() both ways: as a global (macros imported without context)
    # and from a context processor (every render); this one is registered after it, so it wins.
    app.jinja_env.globals["csrf_token"] = _csrf_token
    app.context_processor(lambda: {"csrf_token": _csrf_token})
    app.before_request(_serve_copy)
    # Registered last, so it runs first of the after_request functions and keeps the headers
    # the view made, not the per-request ones added after it (rate-limit figures, security).
    app.after_request(_keep_and_fill)
