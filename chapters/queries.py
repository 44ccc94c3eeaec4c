"""Read side of the network structure: pages and the API load through these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import abort
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from chapters.models import (
    CcimeTerm,
    Chapter,
    ChapterMembership,
    ChapterRole,
    ChapterStatus,
    MembershipStatus,
    Node,
    Region,
)
from network.auth.models import User
from network.db import db, utcnow
from network.members.models import Profile
from network.security import Role, is_ime_admin


@dataclass(frozen=True)
class NetworkFigures:
    chapters: int
    countries: int
    members: int
    regions: int


def _listed() -> list:
    """What the public sees of chapters: approved and active. Proposals are inactive too, but the
    status is checked as well so that a proposal can never be listed by an is_active slip."""
    return [Chapter.status == ChapterStatus.APPROVED, Chapter.is_active.is_(True)]


def counted_members() -> list[Any]:
    """Who the network's figures count: confirmed member accounts that are not suspended (the
    home page, public statistics and IME's dashboard agree on it)."""
    return [
        User.role == Role.MEMBER,
        User.email_confirmed_at.is_not(None),
        User.suspended_at.is_(None),
    ]


def get_network_figures() -> NetworkFigures:
    """The home page's headline numbers: active chapters, their countries, skilled members."""
    chapters, countries = db.session.execute(
        select(func.count(Chapter.id), func.count(func.distinct(Chapter.country))).where(*_listed())
    ).one()
    members = db.session.scalar(select(func.count(User.id)).where(*counted_members()))
    regions = db.session.scalar(select(func.count(Region.id)))
    return NetworkFigures(chapters or 0, countries or 0, members or 0, regions or 0)


def _approved() -> list:
    return [ChapterMembership.status == MembershipStatus.APPROVED]


def count_members_by_chapter() -> dict[int, int]:
    """Approved members per chapter id, in one query for list pages."""
    rows = db.session.execute(
        select(ChapterMembership.chapter_id, func.count(ChapterMembership.id))
        .where(*_approved())
        .group_by(ChapterMembership.chapter_id)
    )
    return {chapter_id: count for chapter_id, count in rows}


def count_chapter_members(chapter: Chapter) -> int:
    return (
        db.session.scalar(
            select(func.count(ChapterMembership.id)).where(
                ChapterMembership.chapter_id == chapter.id, *_approved()
            )
        )
        or 0
    )


def list_regions() -> list[Region]:
    """Regions in their set order, with their approved chapters loaded (one query each, not per
    chapter). Pages filter active ones themselves; proposals never reach a template this way."""
    approved = Region.chapters.and_(Chapter.status == ChapterStatus.APPROVED)
    return list(
        db.session.scalars(select(Region).options(selectinload(approved)).order_by(Region.position))
    )


def get_region_by_slug(slug: str) -> Region:
    return db.first_or_404(select(Region).where(Region.slug == slug))


def get_chapter_by_slug(slug: str) -> Chapter:
    """An approved chapter (active or not), or 404: every page that works on a chapter loads it
    here, so a proposal cannot be joined, edited or given events by guessing its address."""
    return db.first_or_404(
        select(Chapter)
        .where(Chapter.slug == slug, Chapter.status == ChapterStatus.APPROVED)
        .options(selectinload(Chapter.nodes), selectinload(Chapter.region))
    )


def can_see_proposal(viewer: Any, chapter: Chapter) -> bool:
    """A proposed or declined chapter exists only for IME and the member who proposed it."""
    if chapter.status == ChapterStatus.APPROVED:
        return True
    if is_ime_admin(viewer):
        return True
    return bool(
        getattr(viewer, "is_authenticated", False)
        and chapter.proposed_by_id is not None
        and chapter.proposed_by_id == viewer.id
    )


def get_chapter_for_viewer(slug: str, viewer: Any) -> Chapter:
    """The chapter page's loader: approved chapters for everyone, a proposal for IME and its
    proposer (to follow the review), 404 for anyone else, as if it did not exist."""
    chapter = db.first_or_404(
        select(Chapter)
        .where(Chapter.slug == slug)
        .options(selectinload(Chapter.nodes), selectinload(Chapter.region))
    )
    if not can_see_proposal(viewer, chapter):
        abort(404)
    return chapter


def list_chapters(
    *, region_slug: str | None = None, include_inactive: bool = False
) -> list[Chapter]:
    """Approved chapters by name; `include_inactive` adds the deactivated ones (IME's table, filters
    of past events), never proposals, which have their own queue."""
    query = (
        select(Chapter)
        .where(Chapter.status == ChapterStatus.APPROVED)
        .options(selectinload(Chapter.region))
        .order_by(Chapter.name)
    )
    if region_slug:
        query = query.join(Chapter.region).where(Region.slug == region_slug)
    if not include_inactive:
        query = query.where(Chapter.is_active.is_(True))
    return list(db.session.scalars(query))


def paginate_chapters(*, region_slug: str | None, page: int, per_page: int) -> Pagination:
    """Active chapters for the API, ordered by name."""
    query = (
        select(Chapter)
        .where(*_listed())
        .options(selectinload(Chapter.region))
        .order_by(Chapter.name)
    )
    if region_slug:
        query = query.join(Chapter.region).where(Region.slug == region_slug)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def list_coordinators(chapter: Chapter, *, listed_only: bool = False) -> list[User]:
    """The chapter's coordinators; `listed_only` leaves out suspended accounts (the public page;
    IME's coordinators page keeps them, to remove them)."""
    return list(
        db.session.scalars(
            select(User)
            .join(ChapterMembership, ChapterMembership.user_id == User.id)
            .where(
                ChapterMembership.chapter_id == chapter.id,
                ChapterMembership.role == ChapterRole.COORDINATOR,
                *_approved(),
                *([User.suspended_at.is_(None)] if listed_only else []),
            )
            .options(selectinload(User.profile))
            .order_by(User.full_name)
        )
    )


def get_membership(user: User, chapter: Chapter) -> ChapterMembership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(ChapterMembership).where(
            ChapterMembership.user_id == user.id, ChapterMembership.chapter_id == chapter.id
        )
    )


def get_membership_by_id(chapter: Chapter, membership_id: int) -> ChapterMembership:
    return db.first_or_404(
        select(ChapterMembership).where(
            ChapterMembership.id == membership_id, ChapterMembership.chapter_id == chapter.id
        )
    )


def list_pending_requests(chapter: Chapter) -> list[ChapterMembership]:
    """Join requests waiting for a coordinator, oldest first (first come, first answered)."""
    return list(
        db.session.scalars(
            select(ChapterMembership)
            .where(
                ChapterMembership.chapter_id == chapter.id,
                ChapterMembership.status == MembershipStatus.PENDING,
            )
            .options(selectinload(ChapterMembership.user))
            .order_by(ChapterMembership.requested_at, ChapterMembership.id)
        )
    )


def paginate_chapter_members(chapter: Chapter, page: int, per_page: int) -> Pagination:
    """The chapter's approved members for its coordinators; IME-suspended accounts are left out,
    as everywhere people are listed."""
    query = (
        select(ChapterMembership)
        .join(ChapterMembership.user)
        .where(
            ChapterMembership.chapter_id == chapter.id, *_approved(), User.suspended_at.is_(None)
        )
        .options(selectinload(ChapterMembership.user).selectinload(User.profile))
        .order_by(User.full_name, User.id)
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def list_user_memberships(user: User) -> list[ChapterMembership]:
    return list(
        db.session.scalars(
            select(ChapterMembership)
            .where(ChapterMembership.user_id == user.id)
            .options(selectinload(ChapterMembership.chapter))
            .order_by(ChapterMembership.requested_at)
        )
    )


def list_nodes() -> list[Node]:
    return list(db.session.scalars(select(Node).order_by(Node.name)))


def get_node_by_slug(slug: str) -> Node:
    code = f"MX-{slug.upper()}"
    return db.first_or_404(
        select(Node).where(Node.code == code).options(selectinload(Node.chapters))
    )


def count_members_by_region(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> dict[str, int]:
    """Distinct confirmed members with an approved membership in a region's active chapters,
    by region slug (a member of two chapters in one region counts once); only those who joined
    since `since`, or only one chapter's members, when given (the dashboard's scope)."""
    query = (
        select(Region.slug, func.count(func.distinct(ChapterMembership.user_id)))
        .join(Chapter, Chapter.region_id == Region.id)
        .join(ChapterMembership, ChapterMembership.chapter_id == Chapter.id)
        .join(User, User.id == ChapterMembership.user_id)
        .where(*_approved(), *_listed(), *counted_members())
        .group_by(Region.slug)
    )
    if since is not None:
        query = query.where(User.created_at >= since)
    if chapter_id is not None:
        query = query.where(Chapter.id == chapter_id)
    return {slug: count for slug, count in db.session.execute(query)}


@dataclass(frozen=True)
class ChapterFreshness:
    chapter: Chapter
    members: int
    confirmed: int  # profiles confirmed on or after the cut-off


def profile_freshness_by_chapter(
    cutoff: datetime, *, chapter_id: int | None = None
) -> list[ChapterFreshness]:
    """Per active chapter, its approved members with a profile and how many of them confirmed
    their profile since `cutoff`: a chapter whose directory is going stale shows up first."""
    fresh = case((Profile.confirmed_at >= cutoff, 1))
    query = (
        select(Chapter, func.count(Profile.id), func.count(fresh))
        .join(ChapterMembership, ChapterMembership.chapter_id == Chapter.id)
        .join(User, User.id == ChapterMembership.user_id)
        .join(Profile, Profile.user_id == User.id)
        .where(*_approved(), *_listed(), *counted_members())
        .group_by(Chapter.id)
        .order_by(Chapter.name)
    )
    if chapter_id is not None:
        query = query.where(Chapter.id == chapter_id)
    return [
        ChapterFreshness(c, members, confirmed)
        for c, members, confirmed in db.session.execute(query)
    ]


# ---------------------------------------------------------------- proposals


def list_chapter_proposals() -> list[Chapter]:
    """Proposals waiting for IME, oldest first, with who proposed them and their region."""
    return list(
        db.session.scalars(
            select(Chapter)
            .where(Chapter.status == ChapterStatus.PROPOSED)
            .options(
                selectinload(Chapter.region),
                selectinload(Chapter.proposed_by).selectinload(User.profile),
            )
            .order_by(Chapter.created_at, Chapter.id)
        )
    )


def count_chapter_proposals() -> int:
    """How many proposals wait for IME: shown on the administration page's button."""
    return (
        db.session.scalar(
            select(func.count(Chapter.id)).where(Chapter.status == ChapterStatus.PROPOSED)
        )
        or 0
    )


def get_chapter_proposal(chapter_id: int) -> Chapter:
    """A proposal still waiting for a decision, or 404 (a decided one is not decided twice)."""
    return db.first_or_404(
        select(Chapter).where(Chapter.id == chapter_id, Chapter.status == ChapterStatus.PROPOSED)
    )


def list_proposals_by(user: User) -> list[Chapter]:
    """The chapters a member proposed, newest first, so they can follow IME's decision."""
    return list(
        db.session.scalars(
            select(Chapter)
            .where(Chapter.proposed_by_id == user.id)
            .options(selectinload(Chapter.region))
            .order_by(Chapter.created_at.desc(), Chapter.id.desc())
        )
    )


# ---------------------------------------------------------------- CCIME


def _today() -> date:
    return utcnow().date()


def list_current_ccime(chapter: Chapter, today: date | None = None) -> list[CcimeTerm]:
    """The chapter's representatives whose term covers today, with their profile loaded so that
    the page can ask whether the viewer may see each name."""
    today = today or _today()
    return list(
        db.session.scalars(
            select(CcimeTerm)
            .join(CcimeTerm.user)
            .where(
                CcimeTerm.chapter_id == chapter.id,
                CcimeTerm.starts_on <= today,
                CcimeTerm.ends_on >= today,
                User.suspended_at.is_(None),
            )
            .options(selectinload(CcimeTerm.user).selectinload(User.profile))
            .order_by(User.full_name, CcimeTerm.id)
        )
    )


def ccime_terms_of(user: User, *, current: bool = False) -> list[CcimeTerm]:
    """A member's CCIME terms, latest first; with `current`, only those covering today (the
    profile's badge: a past term is history, not a role the member holds)."""
    query = select(CcimeTerm).where(CcimeTerm.user_id == user.id)
    if current:
        today = _today()
        query = query.where(CcimeTerm.starts_on <= today, CcimeTerm.ends_on >= today)
    return list(
        db.session.scalars(
            query.options(selectinload(CcimeTerm.chapter)).order_by(
                CcimeTerm.starts_on.desc(), CcimeTerm.id.desc()
            )
        )
    )


def list_ccime_terms() -> list[CcimeTerm]:
    """Every term for IME's page, latest ending first, with member and chapter loaded."""
    return list(
        db.session.scalars(
            select(CcimeTerm)
            .options(
                selectinload(CcimeTerm.user).selectinload(User.profile),
                selectinload(CcimeTerm.chapter),
            )
            .order_by(CcimeTerm.ends_on.desc(), CcimeTerm.starts_on.desc(), CcimeTerm.id.desc())
        )
    )


def get_ccime_term(term_id: int) -> CcimeTerm:
    return db.first_or_404(select(CcimeTerm).where(CcimeTerm.id == term_id))
