"""Keeping the index in step with the database, as Warehouse does it.

`after_flush` collects what changed into `session.info` (and `before_flush` the documents holding a
changed concept, sector or state); `after_commit` writes it with one writer through a separate
session; a rollback drops it. No domain module knows any of this happens. If a
write fails, the keys are kept in `search_pending` and retried by the next write and by
`flask search reindex --pending`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, delete, func, inspect, or_, select
from sqlalchemy.orm import Session, selectinload

from chapters.models import Chapter, ChapterMembership, Node
from network.auth.models import User
from network.db import db, listen_to_session
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
from network.signals import index_written
from search.backends import create_backend, get_backend
from search.bulk import member_documents
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

log = logging.getLogger(__name__)
_INFO_KEY = "search_changes"
_PROFILE_CHILDREN = (FreeTag, ProfileLanguage, ProfileMode, EducationEntry)
_NEED_CHILDREN = (NeedLanguage, NeedMode)


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
            backend = get_backend()
            backend.write(updates, deletions)
            if keys:  # cached pages made from the index before this write are stale
                index_written.send(backend, keys=sorted(keys))
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
    """Every searchable document, members first (in id order), for a full rebuild.

    Members are read in bulk (`search.bulk`): the same documents as `_documents_for` makes, at
    a fraction of the cost. Chapters, events and needs are a few thousand rows at most, loaded
    through the ORM as the session hooks load them."""
    made = chain(
        member_documents(session),
        *(
            _made_by(session, query, make_document)
            for kind, (query, _column, make_document) in _SOURCES.items()
            if kind != "member"
        ),
    )
    return (document for document in made if document is not None)


def _made_by(
    session: Session, query: Callable[[], Any], make_document: Callable[[Any], dict | None]
) -> Iterator[dict[str, Any] | None]:
    for row in session.scalars(query().execution_options(yield_per=500)):
        yield make_document(row)


def count_documents(session: Session) -> int:
    """An upper bound for the progress bar (unlisted members are skipped while indexing)."""
    return sum(
        session.scalar(select(func.count(column))) or 0
        for column in (Profile.id, Chapter.id, Event.id, Need.id)
    )


def rebuild(session: Session, progress: Callable[[int], None]) -> int:
    """Rebuild the index from the database (the truth), reading it through `session`; returns
    how many documents were written. Announced like any write: no cached page outlives it."""
    backend = get_backend()
    written = backend.rebuild(all_documents(session), progress)
    index_written.send(backend, keys=[])
    return written


def register_indexer(app: Flask) -> None:
    """Make the app's backend (SEARCH_BACKEND) and listen to the session's flushes and commits."""
    app.extensions["search_index"] = create_backend(app)
    listen_to_session(
        ("before_flush", _before_flush),
        ("after_flush", _after_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_rollback),
    )
