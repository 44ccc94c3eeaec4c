"""What a search answers, whichever backend ran it, and its results reloaded from the database.

The index only ranks: what a page shows is read again from the database, as the viewer may see it
now, so an object changed or hidden since it was indexed never shows as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from chapters.models import Chapter
from network.events.models import Event, EventStatus, EventVisibility
from network.extensions import db
from network.members import queries as member_queries
from network.members.models import Profile
from network.needs.models import PUBLISHED_STATUSES, Need
from network.visibility import name_is_visible, visible_fields

# What the search page shows of a member (templates/search/results.html): name and headline.
CARD_FIELDS = ("headline",)


@dataclass
class Why:
    """One reason a result matched: a query word (`query`) found in a field, as `matched`
    names it to the viewer (a concept's label in their language, or the words themselves)."""

    field: str
    matched: str
    query: str
    via: str = "text"


@dataclass
class Hit:
    kind: str
    obj_id: int
    score: float
    why: list[Why] = field(default_factory=list)
    snippets: dict[str, str] = field(default_factory=dict)
    stale: bool = False
    # Breaks ties between equal scores, higher first: when a member's profile was confirmed,
    # a need opened, or (negated) an event starts.
    confirmed: int = 0
    docnum: int = field(default=-1, repr=False)


@dataclass
class SearchResult:
    query: str
    terms: list[str]
    total: int
    hits: list[Hit]
    corrected: str | None = None
    message: str | None = None
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def mark_incomplete() -> None:
    """Say that this request's search ran out of SEARCH_TIME_BUDGET: its answer is partial (or
    empty), so no cache may keep it as the answer (`network.pagecache`)."""
    g.search_incomplete = True


def load_results(
    result: SearchResult, viewer: Any, language: str, *, cards: bool = False
) -> list[dict[str, Any]]:
    """Reload the ranked hits from the database, in rank order, as the viewer may see them.

    `cards`: members as the search page lists them (name and headline), not the whole profile
    the API returns: the page then reads one row per member instead of every relation of 20
    profiles (about 650 objects, a third of the page's time at 100,000 members)."""
    if not result.hits:
        return []
    if cards and result.hits[0].kind == "member":
        return _member_cards(result.hits, viewer)
    loader = _LOADERS.get(result.hits[0].kind, _chapter_rows)
    return loader(result.hits, viewer, language)


def _member_cards(hits: list[Hit], viewer: Any) -> list[dict[str, Any]]:
    """Members' names and headlines, decided by the same two visibility functions as
    `present_profile` (a member whose name the viewer may not see is not listed)."""
    profiles = db.session.scalars(
        member_queries.listed_members()
        .where(Profile.user_id.in_([hit.obj_id for hit in hits]))
        .options(contains_eager(Profile.user))
    ).all()
    by_id = {p.user_id: p for p in profiles}
    rows = []
    for hit in hits:
        profile = by_id.get(hit.obj_id)
        if profile is None or not name_is_visible(viewer, profile.user_id, profile.name_public):
            continue
        card: dict[str, Any] = {"id": profile.user_id, "full_name": profile.user.full_name}
        shown = visible_fields(viewer, profile.user_id, profile.visibility)
        for name in CARD_FIELDS:
            if name in shown and getattr(profile, name):
                card[name] = getattr(profile, name)
        rows.append({"hit": hit, "member": card})
    return rows


def _member_rows(hits: list[Hit], viewer: Any, language: str) -> list[dict[str, Any]]:
    ids = [hit.obj_id for hit in hits]
    profiles = db.session.scalars(
        member_queries.eager_profiles(
            member_queries.listed_members().where(Profile.user_id.in_(ids))
        )
    ).all()
    by_id = {p.user_id: p for p in profiles}
    rows = []
    for hit in hits:
        profile = by_id.get(hit.obj_id)
        data = member_queries.present_profile(profile, viewer, language) if profile else None
        if data is not None:
            rows.append({"hit": hit, "member": data})
    return rows


def _event_rows(hits: list[Hit], viewer: Any, language: str) -> list[dict[str, Any]]:
    """The database decides again: an event unpublished since it was indexed is not shown."""
    query = select(Event).where(
        Event.id.in_([hit.obj_id for hit in hits]), Event.status == EventStatus.PUBLISHED
    )
    if not viewer.sees_members_events:
        query = query.where(Event.visibility == EventVisibility.PUBLIC)
    events = db.session.scalars(
        query.options(selectinload(Event.hosts), selectinload(Event.topics))
    ).all()
    by_event = {e.id: e for e in events}
    return [{"hit": h, "event": by_event[h.obj_id]} for h in hits if h.obj_id in by_event]


def _need_rows(hits: list[Hit], viewer: Any, language: str) -> list[dict[str, Any]]:
    """Needs in rank order, each with its concepts in the viewer's language and whether the query
    matched them. The database decides again: a need closed since it was indexed is not shown."""
    needs = db.session.scalars(
        select(Need)
        .where(Need.id.in_([hit.obj_id for hit in hits]), Need.status.in_(PUBLISHED_STATUSES))
        .options(
            selectinload(Need.organisation),
            selectinload(Need.node),
            selectinload(Need.required_concepts),
            selectinload(Need.nice_concepts),
        )
    ).all()
    by_id = {n.id: n for n in needs}
    rows = []
    for hit in hits:
        need = by_id.get(hit.obj_id)
        if need is None:
            continue
        matched = {(w.field, w.matched) for w in hit.why if w.via == "concept"}
        concepts = [
            {
                "label": c.label(language),
                "required": field == "required",
                "matched": (field, c.label(language)) in matched,
            }
            for field, items in (("required", need.required_concepts), ("nice", need.nice_concepts))
            for c in items
        ]
        rows.append({"hit": hit, "need": need, "concepts": concepts})
    return rows


def _chapter_rows(hits: list[Hit], viewer: Any, language: str) -> list[dict[str, Any]]:
    chapters = db.session.scalars(
        select(Chapter)
        .where(Chapter.id.in_([hit.obj_id for hit in hits]))
        .options(selectinload(Chapter.region))
    ).all()
    by_id = {c.id: c for c in chapters}
    return [{"hit": h, "chapter": by_id[h.obj_id]} for h in hits if h.obj_id in by_id]


_LOADERS = {"member": _member_rows, "event": _event_rows, "need": _need_rows}
