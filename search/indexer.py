"""Keeping the index in step with the database, as Warehouse does it.

`after_flush` collects what changed into `session.info`; `after_commit` writes it with one writer
through a separate session; a rollback drops it. No domain module knows any of this happens. If a
write fails, the keys are kept in `search_pending` and retried by the next write and by
`flask search reindex --pending`.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import LockError
from whoosh.searching import Searcher

from chapters.models import Chapter, ChapterMembership
from network.auth.models import User
from network.db import db
from network.members.models import (
    EducationEntry,
    FreeTag,
    Profile,
    ProfileLanguage,
    ProfileMode,
)
from network.members.queries import eager_profiles
from search.documents import chapter_document, chapter_key, member_document, member_key
from search.models import SearchPending
from search.schema import SCHEMA

log = logging.getLogger(__name__)
_INFO_KEY = "search_changes"
_PROFILE_CHILDREN = (FreeTag, ProfileLanguage, ProfileMode, EducationEntry)


class SearchIndex:
    """The app's index: one per process, with a reusable searcher per thread."""

    def __init__(self, app: Flask) -> None:
        if app.config["SEARCH_STORAGE"] == "ram":
            # Whoosh's RAM writers sort in /tmp/<index name>.tmp: a unique name keeps parallel
            # processes (two test runs, say) out of each other's temporary files.
            self.index = RamStorage().create_index(SCHEMA, indexname=f"ram{secrets.token_hex(8)}")
        else:
            path = Path(app.config["SEARCH_INDEX_DIR"] or Path(app.instance_path) / "search_index")
            path.mkdir(parents=True, exist_ok=True)
            storage = FileStorage(str(path))
            self.index = (
                storage.open_index()
                if whoosh_index.exists_in(str(path))
                else storage.create_index(SCHEMA)
            )
        self._local = threading.local()

    def searcher(self) -> Searcher:
        """A searcher reused across requests and refreshed after commits (opening one is slow)."""
        current = getattr(self._local, "searcher", None)
        # Whoosh's refresh() reuses segment readers that miss newer deletions (an updated
        # document would show twice), so a stale searcher is replaced, not refreshed. With
        # non-compound segments opening one costs well under a millisecond.
        if current is None or not current.up_to_date():
            if current is not None:
                current.close()
            current = self.index.searcher()
            self._local.searcher = current
        return current

    def write(self, updates: list[dict[str, Any]], deletions: list[str]) -> None:
        """Apply documents in one writer; wait and retry while another process holds the lock."""
        if not updates and not deletions:
            return
        delay = 0.05
        for attempt in range(8):
            try:
                writer = self.index.writer(timeout=2.0, compound=False)
            except LockError:
                if attempt == 7:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            try:
                for key in deletions:
                    writer.delete_by_term("key", key)
                for document in updates:
                    writer.update_document(**document)
            except Exception:
                writer.cancel()
                raise
            writer.commit()
            return

    def rebuild(self, documents: Iterable[dict[str, Any]], progress: Callable[[int], None]) -> int:
        """Replace the whole index with these documents."""
        writer = self.index.writer(timeout=10.0, compound=False)
        count = 0
        try:
            from whoosh.writing import CLEAR

            for document in documents:
                writer.add_document(**document)
                count += 1
                progress(1)
        except Exception:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR, optimize=True)
        return count


def get_index() -> SearchIndex:
    return current_app.extensions["search_index"]


# ---------------------------------------------------------------- collecting changes


def _keys_for(obj: Any) -> Iterator[tuple[str, int]]:
    if isinstance(obj, User):
        yield "member", obj.id
    elif isinstance(obj, (Profile, ChapterMembership)):
        yield "member", obj.user_id
    elif isinstance(obj, _PROFILE_CHILDREN):
        yield "profile", obj.profile_id
    elif isinstance(obj, Chapter):
        yield "chapter", obj.id


# What a member document reads from the account; other account changes (a log-in time, a
# language) need no index write.
_INDEXED_USER_ATTRIBUTES = ("full_name", "email", "role", "email_confirmed_at")


def _needs_indexing(obj: Any) -> bool:
    if not isinstance(obj, User):
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _INDEXED_USER_ATTRIBUTES)


def _after_flush(session: Session, flush_context: Any) -> None:
    changes = session.info.setdefault(_INFO_KEY, set())
    dirty = (obj for obj in session.dirty if _needs_indexing(obj))
    for obj in chain(session.new, dirty, session.deleted):
        for kind, ident in _keys_for(obj):
            if ident is not None:
                changes.add((kind, ident))


def _after_commit(session: Session) -> None:
    changes = session.info.pop(_INFO_KEY, None)
    if changes:
        apply_changes(changes)


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_INFO_KEY, None)


# ---------------------------------------------------------------- writing


def _member_query() -> Any:
    return eager_profiles(select(Profile))


def _documents_for(session: Session, keys: set[str]) -> tuple[list[dict], list[str]]:
    member_ids = {int(k.split(":")[1]) for k in keys if k.startswith("member:")}
    chapter_ids = {int(k.split(":")[1]) for k in keys if k.startswith("chapter:")}
    updates: list[dict] = []
    found: set[str] = set()
    if member_ids:
        for profile in session.scalars(_member_query().where(Profile.user_id.in_(member_ids))):
            document = member_document(profile)
            if document is not None:
                updates.append(document)
                found.add(document["key"])
    if chapter_ids:
        chapters = session.scalars(
            select(Chapter).where(Chapter.id.in_(chapter_ids)).options(selectinload(Chapter.region))
        )
        for chapter in chapters:
            document = chapter_document(chapter)
            if document is not None:
                updates.append(document)
                found.add(document["key"])
    return updates, sorted(keys - found)


def apply_changes(changes: set[tuple[str, int]]) -> bool:
    """Write the collected changes (and anything pending). Returns False if it had to defer."""
    keys: set[str] = set()
    try:
        with Session(db.engine) as session:
            profile_ids = {i for kind, i in changes if kind == "profile"}
            if profile_ids:
                owners = session.scalars(select(Profile.user_id).where(Profile.id.in_(profile_ids)))
                changes = changes | {("member", uid) for uid in owners}
            keys = {
                member_key(i) if kind == "member" else chapter_key(i)
                for kind, i in changes
                if kind in {"member", "chapter"}
            }
            pending = set(session.scalars(select(SearchPending.key)))
            keys |= pending
            updates, deletions = _documents_for(session, keys)
            get_index().write(updates, deletions)
            if pending:
                session.execute(delete(SearchPending).where(SearchPending.key.in_(pending)))
                session.commit()
        return True
    except Exception as exc:  # the data is committed; remember what the index is missing
        log.warning("Search index write failed, kept for retry: %s", exc)
        _remember(keys, exc)
        return False


def _remember(keys: set[str], error: Exception) -> None:
    try:
        with Session(db.engine) as session:
            existing = {p.key: p for p in session.scalars(select(SearchPending))}
            for key in keys:
                row = existing.get(key) or SearchPending(key=key, attempts=0)
                row.attempts += 1
                row.last_error = f"{type(error).__name__}: {error}"[:1000]
                session.add(row)
            session.commit()
    except Exception:
        log.exception("Could not record pending search changes; run `flask search reindex`")


def retry_pending() -> tuple[int, bool]:
    """Apply what earlier writes could not. Returns (how many were pending, success)."""
    with Session(db.engine) as session:
        count = len(session.scalars(select(SearchPending.id)).all())
    if not count:
        return 0, True
    return count, apply_changes(set())


def all_documents(session: Session) -> Iterator[dict[str, Any]]:
    for profile in session.scalars(_member_query().execution_options(yield_per=500)):
        document = member_document(profile)
        if document is not None:
            yield document
    for chapter in session.scalars(select(Chapter).options(selectinload(Chapter.region))):
        document = chapter_document(chapter)
        if document is not None:
            yield document


def count_documents(session: Session) -> int:
    """An upper bound for the progress bar (unlisted members are skipped while indexing)."""
    return (session.scalar(select(func.count(Profile.id))) or 0) + (
        session.scalar(select(func.count(Chapter.id))) or 0
    )


def register_indexer(app: Flask) -> None:
    app.extensions["search_index"] = SearchIndex(app)
    for name, listener in (
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_rollback),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
