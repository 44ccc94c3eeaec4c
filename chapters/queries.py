"""Read side of the network structure: pages and the API load through these."""

from __future__ import annotations

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from chapters.models import (
    Chapter,
    ChapterMembership,
    ChapterRole,
    MembershipStatus,
    Node,
    Region,
)
from network.auth.models import User
from network.db import db
from network.security import Role


@dataclass(frozen=True)
class NetworkFigures:
    chapters: int
    countries: int
    members: int
    regions: int


def get_network_figures() -> NetworkFigures:
    """The home page's headline numbers: active chapters, their countries, skilled members."""
    chapters, countries = db.session.execute(
        select(func.count(Chapter.id), func.count(func.distinct(Chapter.country))).where(
            Chapter.is_active.is_(True)
        )
    ).one()
    members = db.session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.MEMBER, User.email_confirmed_at.is_not(None)
        )
    )
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
    """Regions in their set order, with their chapters loaded (one query each, not per chapter)."""
    return list(
        db.session.scalars(
            select(Region).options(selectinload(Region.chapters)).order_by(Region.position)
        )
    )


def get_region_by_slug(slug: str) -> Region:
    return db.first_or_404(select(Region).where(Region.slug == slug))


def get_chapter_by_slug(slug: str) -> Chapter:
    return db.first_or_404(
        select(Chapter)
        .where(Chapter.slug == slug)
        .options(selectinload(Chapter.nodes), selectinload(Chapter.region))
    )


def list_chapters(
    *, region_slug: str | None = None, include_inactive: bool = False
) -> list[Chapter]:
    query = select(Chapter).options(selectinload(Chapter.region)).order_by(Chapter.name)
    if region_slug:
        query = query.join(Chapter.region).where(Region.slug == region_slug)
    if not include_inactive:
        query = query.where(Chapter.is_active.is_(True))
    return list(db.session.scalars(query))


def paginate_chapters(*, region_slug: str | None, page: int, per_page: int) -> Pagination:
    """Active chapters for the API, ordered by name."""
    query = (
        select(Chapter)
        .where(Chapter.is_active.is_(True))
        .options(selectinload(Chapter.region))
        .order_by(Chapter.name)
    )
    if region_slug:
        query = query.join(Chapter.region).where(Region.slug == region_slug)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def list_coordinators(chapter: Chapter) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(ChapterMembership, ChapterMembership.user_id == User.id)
            .where(
                ChapterMembership.chapter_id == chapter.id,
                ChapterMembership.role == ChapterRole.COORDINATOR,
                *_approved(),
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
    query = (
        select(ChapterMembership)
        .join(ChapterMembership.user)
        .where(ChapterMembership.chapter_id == chapter.id, *_approved())
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


def count_members_by_region() -> dict[str, int]:
    """Distinct confirmed members with an approved membership in a region's active chapters,
    by region slug (a member of two chapters in one region counts once)."""
    rows = db.session.execute(
        select(Region.slug, func.count(func.distinct(ChapterMembership.user_id)))
        .join(Chapter, Chapter.region_id == Region.id)
        .join(ChapterMembership, ChapterMembership.chapter_id == Chapter.id)
        .join(User, User.id == ChapterMembership.user_id)
        .where(*_approved(), Chapter.is_active.is_(True), User.role == Role.MEMBER,
               User.email_confirmed_at.is_not(None))
        .group_by(Region.slug)
    )  # fmt: skip
    return {slug: count for slug, count in rows}
