"""Read side of needs: the list with filters, one need, a member's requests and who saw what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from chapters.models import Node
from network.audit import AuditEntry
from network.auth.models import User
from network.db import db
from network.members.models import Concept, Profile, Sector
from network.needs.models import (
    PUBLISHED_STATUSES,
    ContactRequest,
    Interest,
    Need,
    NeedMode,
    NeedStatus,
    Outcome,
    ShortlistEntry,
    need_nice_concepts,
    need_required_concepts,
)
from network.needs.ranking import Candidate, score_needs_for


@dataclass(frozen=True)
class NeedFilters:
    status: str = "open"
    sector: str = ""
    state: str = ""
    mode: str = ""
    concept: str = ""
    remote: str = ""  # "yes", "no" or ""


def _eager(query: Any) -> Any:
    return query.options(
        selectinload(Need.organisation),
        selectinload(Need.sector),
        selectinload(Need.node),
        selectinload(Need.required_concepts),
        selectinload(Need.nice_concepts),
        selectinload(Need.languages),
        selectinload(Need.modes),
    )


def needs_query(filters: NeedFilters, organisation_id: int | None = None) -> Any:
    """Published needs matching the filters, newest first. With `organisation_id`, that
    organisation's needs in every status instead (its own list, drafts included)."""
    query = select(Need)
    if organisation_id is not None:
        query = query.where(Need.organisation_id == organisation_id)
    else:
        query = query.where(Need.status.in_(PUBLISHED_STATUSES))
    if filters.status in set(NeedStatus):
        query = query.where(Need.status == filters.status)
    if filters.sector:
        query = query.join(Sector, Sector.id == Need.sector_id).where(Sector.slug == filters.sector)
    if filters.state == "national":
        query = query.where(Need.node_id.is_(None))
    elif filters.state:
        query = query.join(Node, Node.id == Need.node_id).where(Node.code == filters.state)
    if filters.mode:
        query = query.where(
            Need.id.in_(select(NeedMode.need_id).where(NeedMode.mode == filters.mode))
        )
    if filters.concept:
        concept_id = select(Concept.id).where(Concept.slug == filters.concept).scalar_subquery()
        query = query.where(
            or_(
                Need.id.in_(select(need_required_concepts.c.need_id)
                            .where(need_required_concepts.c.concept_id == concept_id)),
                Need.id.in_(select(need_nice_concepts.c.need_id)
                            .where(need_nice_concepts.c.concept_id == concept_id)),
            )
        )  # fmt: skip
    if filters.remote in ("yes", "no"):
        query = query.where(Need.remote.is_(filters.remote == "yes"))
    return _eager(query.order_by(Need.opened_at.desc().nulls_last(), Need.id.desc()))


def paginate_needs(
    filters: NeedFilters, page: int, per_page: int, organisation_id: int | None = None
) -> Pagination:
    return db.paginate(
        needs_query(filters, organisation_id), page=page, per_page=per_page, error_out=False
    )


def get_need(need_id: int) -> Need | None:
    return db.session.scalar(
        _eager(select(Need).where(Need.id == need_id)).options(
            selectinload(Need.interests).selectinload(Interest.member),
            selectinload(Need.contact_requests).selectinload(ContactRequest.member),
            selectinload(Need.outcomes).selectinload(Outcome.member),
            selectinload(Need.shortlist)
            .selectinload(ShortlistEntry.member)
            .selectinload(User.profile),
        )
    )


def needs_for_member(
    profile: Profile, language: str, limit: int = 20
) -> list[tuple[Need, Candidate]]:
    """Open needs ranked by how well the member fits them, best first."""
    needs = list(db.session.scalars(_eager(select(Need).where(Need.status == NeedStatus.OPEN))))
    return score_needs_for(profile, needs, language, limit)


def get_contact_request(request_id: int) -> ContactRequest | None:
    return db.session.scalar(
        select(ContactRequest)
        .where(ContactRequest.id == request_id)
        .options(selectinload(ContactRequest.need).selectinload(Need.organisation),
                 selectinload(ContactRequest.member).selectinload(User.profile))
    )  # fmt: skip


def list_contact_requests_for(member_id: int) -> list[ContactRequest]:
    """The requests an expert received, unanswered first, then the newest."""
    rows = db.session.scalars(
        select(ContactRequest)
        .where(ContactRequest.member_id == member_id)
        .options(selectinload(ContactRequest.need), selectinload(ContactRequest.organisation))
        .order_by(ContactRequest.created_at.desc())
    ).all()
    return sorted(rows, key=lambda r: r.status != "pending")


def list_contact_views(member_id: int, limit: int = 100) -> list[tuple[AuditEntry, User | None]]:
    """Who saw this member's revealed contact details, and when (newest first)."""
    rows = db.session.execute(
        select(AuditEntry, User)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.subject_type == "member", AuditEntry.subject_id == member_id,
               AuditEntry.action == "contact.viewed")
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [(entry, user) for entry, user in rows]


def list_interests_of(member_id: int) -> list[Interest]:
    return list(
        db.session.scalars(
            select(Interest).where(Interest.member_id == member_id)
            .options(selectinload(Interest.need).selectinload(Need.organisation))
            .order_by(Interest.created_at.desc())
        )
    )  # fmt: skip


def list_nodes() -> list[Node]:
    return list(db.session.scalars(select(Node).order_by(Node.name)))


def count_needs_completed() -> int:
    return (
        db.session.scalar(select(func.count(Need.id)).where(Need.status == NeedStatus.COMPLETED))
        or 0
    )
