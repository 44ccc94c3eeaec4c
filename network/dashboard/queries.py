"""The dashboard's figures about members, and the public aggregates with small-cell suppression.

The member figures live here rather than in members/queries.py: they exist for the dashboard's
panels and the public statistics (and the API, which serves the same panels), and no domain
reads them. They count only what members show to whoever is looking.

Public figures are suppressed when small: a count below SMALL_CELL is given as "< 5", so that
nobody can be singled out (five members of one sector in one region are a crowd; two are two
people). Figures of other domains (events held, needs completed) come from their own queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from chapters import queries as chapter_queries
from chapters.models import ChapterMembership, MembershipStatus, Region
from network.auth.models import User
from network.db import db, month_key, year_month
from network.events.queries import count_events_held
from network.members.models import Concept, Profile, Sector, profile_concepts
from network.members.queries import visible_clause
from network.needs.queries import count_needs_completed
from network.visibility import ORGANISATION_VIEWER, Tier, Viewer

SMALL_CELL = 5
SUPPRESSED = f"< {SMALL_CELL}"


def suppress(count: int) -> int | str:
    """The count, or "< 5" when it is small enough to point at someone."""
    return count if count >= SMALL_CELL else SUPPRESSED


def public_statistics(language: str) -> dict[str, Any]:
    """What anyone may know of the network, every count of people suppressed when small."""
    figures = chapter_queries.get_network_figures()
    by_region = chapter_queries.count_members_by_region()
    by_sector = count_members_by_sector()
    regions = sorted(db.session.scalars(db.select(Region)), key=lambda r: r.position)
    sectors = sorted(db.session.scalars(db.select(Sector)), key=lambda s: s.label(language))
    return {
        "chapters": figures.chapters,
        "countries": figures.countries,
        "members": suppress(figures.members),
        "events_held": suppress(count_events_held()),
        "needs_completed": suppress(count_needs_completed()),
        "members_by_region": [
            {
                "slug": r.slug,
                "name": r.name(language),
                "members": suppress(by_region.get(r.slug, 0)),
            }
            for r in regions
        ],
        "members_by_sector": [
            {
                "slug": s.slug,
                "name": s.label(language),
                "members": suppress(by_sector.get(s.slug, 0)),
            }
            for s in sectors
        ],
        "suppressed_below": SMALL_CELL,
    }


# ---------------------------------------------------------------- figures for IME's dashboard
# The dashboard reads a field only where the member shows it to whoever is looking: IME holds
# every tier but "only me"; a coordinator, what their chapter's members show coordinators. It
# counts confirmed member accounts that are not suspended.


def _shown(field: str, viewer: Viewer | None) -> Any:
    """Rows whose `field` the viewer may read; without a viewer, all but "only me" (the public
    figures, which are aggregated and suppressed when small)."""
    if viewer is None:
        return getattr(Profile, f"{field}_visibility") != Tier.PRIVATE
    return visible_clause(field, viewer)


def _country(viewer: Viewer | None) -> Any:
    """The country of residence where shown, else NULL (counted as "not given or not shown")."""
    return case(
        (and_(Profile.country.is_not(None), _shown("country", viewer)), Profile.country), else_=None
    )


def _members_in_scope(since: datetime | None, chapter_id: int | None) -> list[Any]:
    """Confirmed member accounts, joined since `since` when given, and members of one chapter
    when given (a coordinator's dashboard)."""
    clauses: list[Any] = chapter_queries.counted_members()
    if since is not None:
        clauses.append(User.created_at >= since)
    if chapter_id is not None:
        clauses.append(
            User.id.in_(
                select(ChapterMembership.user_id).where(
                    ChapterMembership.chapter_id == chapter_id,
                    ChapterMembership.status == MembershipStatus.APPROVED,
                )
            )
        )
    return clauses


def _profile_sectors() -> Any:
    """Each (profile, sector) pair once, however many of the sector's concepts the member holds:
    counting these rows counts members, which reads a third less than counting distinct profiles
    per group over every concept they hold (measured on the 100,000-member bench)."""
    return (
        select(profile_concepts.c.profile_id, Concept.sector_id)
        .join(Concept, Concept.id == profile_concepts.c.concept_id)
        .distinct()
        .subquery()
    )


def count_members_by_sector(
    *, since: datetime | None = None, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[str, int]:
    """Confirmed members holding at least one concept of each sector, by sector slug. A member
    who keeps their expertise to themselves ("only me") is not counted, nor one who hides it
    from the viewer when one is given."""
    pairs = _profile_sectors()
    rows = db.session.execute(
        select(Sector.slug, func.count(pairs.c.profile_id))
        .join(pairs, pairs.c.sector_id == Sector.id)
        .join(Profile, Profile.id == pairs.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id), _shown("expertise", viewer))
        .group_by(Sector.slug)
    )
    return {slug: count for slug, count in rows}


def count_members_by_country(
    *, since: datetime | None = None, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[str | None, int]:
    """Members by country of residence; None gathers those who give none or hide it from the
    viewer."""
    country = _country(viewer)
    rows = db.session.execute(
        select(country, func.count(Profile.id))
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id))
        .group_by(country)
    )
    return {code or None: count for code, count in rows}


def top_concepts(
    limit: int = 20,
    *,
    since: datetime | None = None,
    chapter_id: int | None = None,
    viewer: Viewer | None = None,
) -> list[tuple[Concept, int]]:
    """The concepts most members hold, most held first (ties by slug, so the list is stable)."""
    count = func.count(profile_concepts.c.profile_id)
    rows = db.session.execute(
        select(profile_concepts.c.concept_id, count)
        .join(Profile, Profile.id == profile_concepts.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id), _shown("expertise", viewer))
        .group_by(profile_concepts.c.concept_id)
        .order_by(count.desc(), profile_concepts.c.concept_id)
        .limit(limit)
    ).all()
    concepts = {
        c.id: c
        for c in db.session.scalars(
            select(Concept)
            .where(Concept.id.in_([concept_id for concept_id, _n in rows]))
            .options(selectinload(Concept.sector))
        )
    }
    return [(concepts[concept_id], n) for concept_id, n in rows]


@dataclass(frozen=True)
class Openness:
    members: int
    mentoring: int
    requests: int


def count_openness(
    *, since: datetime | None = None, chapter_id: int | None = None, viewer: Viewer | None = None
) -> Openness:
    """How many members say they are open to mentoring and to organisations' requests (and
    show it to the viewer)."""
    mentoring = and_(Profile.open_to_mentoring.is_(True), _shown("mentoring", viewer))
    requests = and_(Profile.open_to_requests.is_(True), _shown("open_to_requests", viewer))
    total, open_mentoring, open_requests = db.session.execute(
        select(
            func.count(Profile.id),
            func.count(case((mentoring, 1))),
            func.count(case((requests, 1))),
        )
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id))
    ).one()
    return Openness(total or 0, open_mentoring or 0, open_requests or 0)


def _count_by_month(column: Any, since: datetime | None, chapter_id: int | None) -> dict[str, int]:
    year, month = year_month(column)
    query = (
        select(year, month, func.count(Profile.id))
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(None, chapter_id))
        .group_by(year, month)
    )
    if since is not None:
        query = query.where(column >= since)
    return {month_key(y, m): n for y, m, n in db.session.execute(query)}


def count_new_members_by_month(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> dict[str, int]:
    """Accounts created per calendar month ("2026-03": 41)."""
    return _count_by_month(User.created_at, since, chapter_id)


def count_confirmations_by_month(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> dict[str, int]:
    """Profiles by the month of their latest confirmation: a profile confirmed twice counts in
    the later month only, as only the latest date is kept."""
    return _count_by_month(Profile.confirmed_at, since, chapter_id)


def _available_experts(chapter_id: int | None, viewer: Viewer | None) -> list[Any]:
    """Experts organisations can reach, as the ranking of candidates finds them (open to
    requests and showing it and their expertise to organisations), that the viewer may see
    as such."""
    return [
        *_members_in_scope(None, chapter_id),
        Profile.open_to_requests.is_(True),
        *(
            _shown(field, reader)
            for field in ("open_to_requests", "expertise")
            for reader in (ORGANISATION_VIEWER, viewer)
        ),
    ]


def count_experts_by_sector_and_country(
    *, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[tuple[str, str | None], int]:
    """Available experts per (sector slug, country of residence); the supply side of the gap
    table. A member with concepts in two sectors counts in both."""
    country = _country(viewer)
    pairs = _profile_sectors()
    rows = db.session.execute(
        select(Sector.slug, country, func.count(pairs.c.profile_id))
        .join(pairs, pairs.c.sector_id == Sector.id)
        .join(Profile, Profile.id == pairs.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(*_available_experts(chapter_id, viewer))
        .group_by(Sector.slug, country)
    )
    return {(slug, code or None): n for slug, code, n in rows}


def count_experts_by_concept_and_country(
    concept_ids: list[int], *, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[tuple[int, str | None], int]:
    """Available experts holding each concept, per country of residence."""
    if not concept_ids:
        return {}
    country = _country(viewer)
    rows = db.session.execute(
        select(profile_concepts.c.concept_id, country, func.count(Profile.id))
        .join(Profile, Profile.id == profile_concepts.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(
            *_available_experts(chapter_id, viewer), profile_concepts.c.concept_id.in_(concept_ids)
        )
        .group_by(profile_concepts.c.concept_id, country)
    )
    return {(concept_id, code or None): n for concept_id, code, n in rows}
