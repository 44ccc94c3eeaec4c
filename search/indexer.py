"""Keeping the index in step with the database, as Warehouse does it.

`after_flush` collects what changed into `session.info` (and `before_flush` the documents holding a
changed concept, sector or state); `after_commit` writes it with one writer through a separate
session; a rollback drops it. No domain module knows any of this happens. If a
write fails, the keys are kept in `search_pending` and retried by the next write and by
`flask search reindex --pending`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import ColumnElement, delete, event, func, inspect, or_, select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import LockError
from whoosh.searching import Searcher
from whoosh.util.filelock import try_for
from whoosh.writing import CLEAR

from chapters.models import Chapter, ChapterMembership, Node
from network.auth.models import User
from network.config import ConfigurationError
from network.db import db
from network.events.models import Event, event_topics
from network.members.models import (
    Concept,
    EducationEntry,
    FreeTag,
    Profile,
    ProfileLanguage,
    ProfileMode,
    Sector,
    profile_concepts,
)
from network.members.queries import eager_profiles
from network.members.vocabulary import narrower_of
from network.needs.models import (
    Need,
    NeedLanguage,
    NeedMode,
    need_nice_concepts,
    need_required_concepts,
)
from network.organisations.models import Organisation
from network.pagecache import bump_generation
from network.visibility import Tier
from search.documents import (
    chapter_document,
    chapter_key,
    event_document,
    event_key,
    member_document,
    member_key,
    need_document,
    need_key,
)
from search.models import SearchPending
from search.schema import SCHEMA, tier_field

log = logging.getLogger(__name__)
_INFO_KEY = "search_changes"
_PROFILE_CHILDREN = (FreeTag, ProfileLanguage, ProfileMode, EducationEntry)
_NEED_CHILDREN = (NeedLanguage, NeedMode)
# A full rebuild: at most this many worker processes, and this much memory (MB) of postings
# each before Whoosh sorts them out to a temporary file. Fewer, larger runs cut the rebuild of
# 100,000 members by about a third, for well under a GiB per worker.
MAX_REBUILD_PROCS = 4
REBUILD_LIMIT_MB = 512
# How long a write waits for another process's write (a rebuild holds the lock longer: its
# changes then stay pending and are retried).
WRITE_LOCK_WAIT_S = 10.0


def _same_schema(schema: Any) -> bool:
    """Whether an opened index has this version's fields and analyzer (Whoosh keeps the
    analyzer it was built with, pickled, and writes with it)."""
    if set(schema.names()) != set(SCHEMA.names()):
        return False
    name = tier_field("high", str(Tier.PUBLIC))
    return schema[name].analyzer == SCHEMA[name].analyzer


class SearchIndex:
    """The app's index: one per process, with a reusable searcher per thread."""

    def __init__(self, app: Flask) -> None:
        if app.config["SEARCH_STORAGE"] == "ram":
            # Whoosh's RAM writers sort in /tmp/<index name>.tmp: a unique name keeps parallel
            # processes (two test runs, say) out of each other's temporary files.
            self.index = RamStorage().create_index(SCHEMA, indexname=f"ram{secrets.token_hex(8)}")
        else:
            path = Path(app.config["SEARCH_INDEX_DIR"] or Path(app.instance_path) / "search_index")
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                # A setting that cannot work: one line from `flask` and gunicorn, not a traceback.
                raise ConfigurationError(
                    f"the search index folder {path} cannot be created ({error.strerror}): "
                    "set SEARCH_INDEX_DIR to a writable folder"
                ) from error
            storage = FileStorage(str(path))
            try:
                self.index = (
                    storage.open_index()
                    if whoosh_index.exists_in(str(path))
                    else storage.create_index(SCHEMA)
                )
            except (AttributeError, ImportError, EOFError):  # its pickled schema names old code
                self.index = storage.create_index(SCHEMA)
            if not _same_schema(self.index.schema):
                # Built by an older version: start empty (`make run` and `flask search reindex
                # --if-empty` then rebuild it) rather than answer queries with missing fields,
                # or keep writing words the queries' analyzer no longer makes.
                log.warning("the search index has an older schema; run `flask search reindex`")
                self.index = storage.create_index(SCHEMA)
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

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def close(self) -> None:
        """Close this thread's reused searcher (its open segment files), e.g. at shutdown."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

    def kinds(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for stored in self.searcher().all_stored_fields():
            kinds[stored["kind"]] = kinds.get(stored["kind"], 0) + 1
        return kinds

    def size_bytes(self) -> int:
        storage = self.index.storage
        return sum(storage.file_length(name) for name in storage.list())

    def write(self, updates: list[dict[str, Any]], deletions: list[str]) -> None:
        """Apply documents in one writer; wait (up to WRITE_LOCK_WAIT_S) while another process
        holds the lock.

        The lock is taken here and released in `finally`, not by Whoosh's writer: a writer that
        fails while creating its segment (an unwritable index directory) raises from its
        constructor holding the lock, and would keep every later write on this host waiting
        until the garbage collector freed it, so a recovered directory stayed unusable."""
        if not updates and not deletions:
            return
        lock = self.index.lock("WRITELOCK")
        if not try_for(lambda: lock.acquire(blocking=False), WRITE_LOCK_WAIT_S, delay=0.05):
            raise LockError("another process has been writing the search index for too long")
        try:
            writer = self.index.writer(_lk=False, compound=False)
            try:
                for key in deletions:
                    writer.delete_by_term("key", key)
                for document in updates:
                    writer.update_document(**document)
                writer.commit()
            except Exception:
                with contextlib.suppress(Exception):
                    writer.cancel()
                raise
        finally:
            lock.release()

    def rebuild(self, documents: Iterable[dict[str, Any]], progress: Callable[[int], None]) -> int:
        """Replace the whole index with these documents.

        On disk, Whoosh's multiprocess writer analyses and writes the documents in worker
        processes while this one builds them from the database; each worker keeps its own
        segment (`multisegment`), which saves a final single-threaded merge of all postings.
        RAM indexes (tests) keep the plain writer: worker processes cannot share them.
        """
        procs = self._rebuild_procs()
        options: dict[str, Any] = {"timeout": 10.0, "compound": False, "limitmb": REBUILD_LIMIT_MB}
        if procs > 1:
            options.update(procs=procs, multisegment=True)
        writer = self.index.writer(**options)
        count = 0
        try:
            for document in documents:
                writer.add_document(**document)
                count += 1
                progress(1)
        except BaseException:
            # Workers wait for more work forever unless stopped; cancel() does not reach them.
            for task in getattr(writer, "tasks", ()):
                task.terminate()
                task.join()
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        # Whoosh's multiprocess writer drops a worker's segment silently if the worker died.
        written = self.index.doc_count_all()
        if written != count:
            raise RuntimeError(
                f"the rebuilt index holds {written} of {count} documents (a worker process "
                "failed); run `flask search reindex` again"
            )
        return count

    def _rebuild_procs(self) -> int:
        if not isinstance(self.index.storage, FileStorage):
            return 1
        return max(1, min(len(os.sched_getaffinity(0)), MAX_REBUILD_PROCS))


def get_index() -> Any:
    """The app's search backend: a `SearchIndex` (Whoosh), or a `search.pg.PostgresIndex`. Both
    take the same documents (`write`, `rebuild`) and count them (`doc_count`)."""
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
    elif isinstance(obj, Event):
        yield "event", obj.id
    elif isinstance(obj, Need):
        yield "need", obj.id
    elif isinstance(obj, _NEED_CHILDREN):
        yield "need", obj.need_id
    elif isinstance(obj, Organisation):
        yield "organisation", obj.id


# What a member document reads from the account; other account changes (a log-in time, a
# language) need no index write. A suspension or reinstatement removes or restores the document.
_INDEXED_USER_ATTRIBUTES = ("full_name", "email", "role", "email_confirmed_at", "suspended_at")
# What a need document reads from the need (its languages and modes are also caught as rows,
# see `_keys_for`); interest, shortlists and contact requests need no index write. Both sides of
# each relationship: a flush may not have copied an assigned object's key into its column yet.
_INDEXED_NEED_ATTRIBUTES = (
    "title",
    "description",
    "status",
    "remote",
    "opened_at",
    "sector",
    "sector_id",
    "node",
    "node_id",
    "organisation",
    "organisation_id",
    "required_concepts",
    "nice_concepts",
    "languages",
    "modes",
)
# Of an organisation, the needs' documents hold only its name.
_INDEXED_ORGANISATION_ATTRIBUTES = ("name",)
_INDEXED_ATTRIBUTES: dict[type, tuple[str, ...]] = {
    User: _INDEXED_USER_ATTRIBUTES,
    Need: _INDEXED_NEED_ATTRIBUTES,
    Organisation: _INDEXED_ORGANISATION_ATTRIBUTES,
}


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _needs_indexing(obj: Any) -> bool:
    for model, names in _INDEXED_ATTRIBUTES.items():
        if isinstance(obj, model):
            return _changed(obj, names)
    return True


# What the documents copy of the vocabulary and of places. A row of these is no document of its
# own, but its holders' documents hold a copy: a concept's labels, synonyms, slug and sector
# (members, events, needs); a sector's labels (needs) and slug (the sector facet of needs, and of
# members through their concepts); a state's name (members' state of origin, needs' place) and
# code (their state facet). Chapter documents hold no state. `search_text` is left out: no
# document reads it, and it changes only together with the labels.
_CONCEPT_ATTRIBUTES = (
    "slug",
    "label_es",
    "label_en",
    "synonyms_es",
    "synonyms_en",
    "sector",
    "sector_id",
    "broader",
    "narrower",
)
_SECTOR_ATTRIBUTES = ("slug", "label_es", "label_en")
_NODE_ATTRIBUTES = ("code", "name")


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Queue the documents of whoever holds a changed or deleted concept, sector or state.

    This runs before the flush, not after it, because a deleted concept's or state's links go
    with it (ON DELETE CASCADE / SET NULL): afterwards nobody would be found holding it. Holders
    linked or unlinked in this same flush are changed rows themselves, caught by `_after_flush`.
    The holders are read with one query per kind of document whatever the number of changed
    rows, and queued as ordinary keys, so a failed write is kept and retried like any other."""
    concepts: set[int] = set()
    sectors: set[int] = set()
    sector_slugs: set[int] = set()
    nodes: set[int] = set()
    for obj, deleted in chain(
        ((o, False) for o in session.dirty), ((o, True) for o in session.deleted)
    ):
        if isinstance(obj, Concept) and (deleted or _changed(obj, _CONCEPT_ATTRIBUTES)):
            concepts.add(obj.id)
            # Narrower concepts linked or unlinked here: their holders' broader lines change.
            history = inspect(obj).attrs.narrower.history
            concepts.update(c.id for c in chain(history.added, history.deleted) if c.id)
        elif isinstance(obj, Sector) and (deleted or _changed(obj, _SECTOR_ATTRIBUTES)):
            sectors.add(obj.id)
            if deleted or _changed(obj, ("slug",)):
                sector_slugs.add(obj.id)
        elif isinstance(obj, Node) and (deleted or _changed(obj, _NODE_ATTRIBUTES)):
            nodes.add(obj.id)
    if concepts:
        # Member documents copy the labels of every concept above theirs (`_expertise`).
        concepts.update(chain.from_iterable(narrower_of(concepts).values()))
    if concepts or sectors or nodes:
        changes = session.info.setdefault(_INFO_KEY, set())
        changes.update(_holders(session, concepts, sectors, sector_slugs, nodes))


def _holders(
    session: Session, concepts: set[int], sectors: set[int], sector_slugs: set[int], nodes: set[int]
) -> set[tuple[str, int]]:
    """(kind, id) of the documents holding these concepts, sectors (by labels, or by slug too)
    and states: one query per kind of document that can hold any of them."""
    held: set[tuple[str, int]] = set()

    def collect(kind: str, column: Any, conditions: list[ColumnElement[bool]]) -> None:
        if conditions:
            held.update((kind, i) for i in session.scalars(select(column).where(or_(*conditions))))

    member_concepts = [profile_concepts.c.concept_id.in_(concepts)] if concepts else []
    if sector_slugs:
        in_sector = select(Concept.id).where(Concept.sector_id.in_(sector_slugs))
        member_concepts.append(profile_concepts.c.concept_id.in_(in_sector))
    members: list[ColumnElement[bool]] = []
    if member_concepts:
        holding = select(profile_concepts.c.profile_id).where(or_(*member_concepts))
        members.append(Profile.id.in_(holding))
    if nodes:
        members.append(Profile.state_of_origin_id.in_(nodes))
    collect("member", Profile.user_id, members)
    collect(
        "event",
        event_topics.c.event_id,
        [event_topics.c.concept_id.in_(concepts)] if concepts else [],
    )
    needs: list[ColumnElement[bool]] = []
    if concepts:
        for table in (need_required_concepts, need_nice_concepts):
            needs.append(
                Need.id.in_(select(table.c.need_id).where(table.c.concept_id.in_(concepts)))
            )
    if sectors:
        needs.append(Need.sector_id.in_(sectors))
    if nodes:
        needs.append(Need.node_id.in_(nodes))
    collect("need", Need.id, needs)
    return held


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


def _chapter_query() -> Any:
    return select(Chapter).options(selectinload(Chapter.region))


def _event_query() -> Any:
    return select(Event).options(
        selectinload(Event.hosts).selectinload(Chapter.region), selectinload(Event.topics)
    )


def _need_query() -> Any:
    return select(Need).options(
        selectinload(Need.organisation),
        selectinload(Need.sector),
        selectinload(Need.node),
        selectinload(Need.required_concepts),
        selectinload(Need.nice_concepts),
        selectinload(Need.languages),
        selectinload(Need.modes),
    )


# Each kind of document: the query loading its rows, the id column keys refer to, and the
# function making a row's document (None: not searchable, e.g. a draft event).
_SOURCES: dict[str, tuple[Callable[[], Any], Any, Callable[[Any], dict[str, Any] | None]]] = {
    "member": (_member_query, Profile.user_id, member_document),
    "chapter": (_chapter_query, Chapter.id, chapter_document),
    "event": (_event_query, Event.id, event_document),
    "need": (_need_query, Need.id, need_document),
}


def _documents_for(session: Session, keys: set[str]) -> tuple[list[dict], list[str]]:
    updates: list[dict] = []
    found: set[str] = set()
    for kind, (query, id_column, make_document) in _SOURCES.items():
        ids = {int(k.split(":")[1]) for k in keys if k.startswith(f"{kind}:")}
        if not ids:
            continue
        for row in session.scalars(query().where(id_column.in_(ids))):
            document = make_document(row)
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
            organisation_ids = {i for kind, i in changes if kind == "organisation"}
            if organisation_ids:
                needs = session.scalars(
                    select(Need.id).where(Need.organisation_id.in_(organisation_ids))
                )
                changes = changes | {("need", need_id) for need_id in needs}
            key_of = {
                "member": member_key,
                "chapter": chapter_key,
                "event": event_key,
                "need": need_key,
            }
            keys = {key_of[kind](i) for kind, i in changes if kind in key_of}
            pending = set(session.scalars(select(SearchPending.key)))
            keys |= pending
            updates, deletions = _documents_for(session, keys)
            get_index().write(updates, deletions)
            bump_generation()  # cached pages made from the index before this write are stale
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
    for query, _column, make_document in _SOURCES.values():
        for row in session.scalars(query().execution_options(yield_per=500)):
            document = make_document(row)
            if document is not None:
                yield document


def count_documents(session: Session) -> int:
    """An upper bound for the progress bar (unlisted members are skipped while indexing)."""
    return sum(
        session.scalar(select(func.count(column))) or 0
        for column in (Profile.id, Chapter.id, Event.id, Need.id)
    )


def register_indexer(app: Flask) -> None:
    backend = app.config["SEARCH_BACKEND"]
    if backend == "postgres":
        from search.pg import PostgresIndex  # it imports the queries, which import this module

        app.extensions["search_index"] = PostgresIndex(app)
    elif backend == "whoosh":
        app.extensions["search_index"] = SearchIndex(app)
    else:
        raise ConfigurationError(f"SEARCH_BACKEND must be 'whoosh' or 'postgres', not {backend!r}")
    for name, listener in (
        ("before_flush", _before_flush),
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_rollback),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
