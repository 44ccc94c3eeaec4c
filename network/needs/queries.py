"""Read side of needs: the list with filters, one need, a member's requests and who saw what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from chapters.models import ChapterMembership, MembershipStatus, Node
from network.audit import AuditEntry
from network.auth.models import User
from network.db import db
from network.members.models import Concept, Profile, Sector
from network.needs.models import (
    PUBLISHED_STATUSES,
    ContactRequest,
    ContactStatus,
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
                Need.id.in_(
                    select(need_required_concepts.c.need_id).where(
                        need_required_concepts.c.concept_id == concept_id
                    )
                ),
                Need.id.in_(
                    select(need_nice_concepts.c.need_id).where(
                        need_nice_concepts.c.concept_id == concept_id
                    )
                ),
            )
        )
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
        .options(
            selectinload(ContactRequest.need).selectinload(Need.organisation),
            selectinload(ContactRequest.member).selectinload(User.profile),
        )
    )


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
        .where(
            AuditEntry.subject_type == "member",
            AuditEntry.subject_id == member_id,
            AuditEntry.action == "contact.viewed",
        )
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [(entry, user) for entry, user in rows]


def list_interests_of(member_id: int) -> list[Interest]:
    return list(
        db.session.scalars(
            select(Interest)
            .where(Interest.member_id == member_id)
            .options(selectinload(Interest.need).selectinload(Need.organisation))
            .order_by(Interest.created_at.desc())
        )
    )


def list_nodes() -> list[Node]:
    return list(db.session.scalars(select(Node).order_by(Node.name)))


def count_needs_completed() -> int:
    return (
        db.session.scalar(select(func.count(Need.id)).where(Need.status == NeedStatus.COMPLETED))
        or 0
    )


# ---------------------------------------------------------------- figures for IME's dashboard
# A need counts as posted once it was opened (drafts never were). Coordinators' dashboards see
# published statuses only: drafts and closed needs stay with their organisation and IME.


def _posted(since: datetime | None, statuses: tuple[NeedStatus, ...] | None) -> list[Any]:
    clauses: list[Any] = []
    if statuses is not None:
        clauses.append(Need.status.in_([str(s) for s in statuses]))
    if since is not None:
        clauses.append(func.coalesce(Need.opened_at, Need.created_at) >= since)
    return clauses


def _chapter_members(chapter_id: int) -> Any:
    return select(ChapterMembership.user_id).where(
        ChapterMembership.chapter_id == chapter_id,
        ChapterMembership.status == MembershipStatus.APPROVED,
    )


def count_needs_by_status(
    *, since: datetime | None = None, statuses: tuple[NeedStatus, ...] | None = None
) -> dict[str, int]:
    """Needs by status (drafts included for IME), created or opened since `since`."""
    rows = db.session.execute(
        select(Need.status, func.count(Need.id))
        .where(*_posted(since, statuses))
        .group_by(Need.status)
    )
    return {str(status): n for status, n in rows}


def count_needs_by_sector(
    *, since: datetime | None = None, statuses: tuple[NeedStatus, ...] | None = None
) -> dict[str, int]:
    """Posted needs (opened at least once) per sector slug: the demand side of the gap table."""
    rows = db.session.execute(
        select(Sector.slug, func.count(Need.id))
        .join(Need, Need.sector_id == Sector.id)
        .where(Need.opened_at.is_not(None), *_posted(since, statuses))
        .group_by(Sector.slug)
    )
    return dict(rows.all())


def count_needs_by_node(
    *, since: datetime | None = None, statuses: tuple[NeedStatus, ...] | None = None
) -> dict[str | None, int]:
    """Posted needs per Mexican state (Node code); None for national needs."""
    rows = db.session.execute(
        select(Node.code, func.count(Need.id))
        .select_from(Need)
        .outerjoin(Node, Node.id == Need.node_id)
        .where(Need.opened_at.is_not(None), *_posted(since, statuses))
        .group_by(Node.code)
    )
    return dict(rows.all())


def count_needs_by_required_concept(
    *, since: datetime | None = None, statuses: tuple[NeedStatus, ...] | None = None
) -> dict[int, int]:
    """Posted needs asking for each concept (as required), by concept id."""
    rows = db.session.execute(
        select(need_required_concepts.c.concept_id, func.count(Need.id))
        .join(Need, Need.id == need_required_concepts.c.need_id)
        .where(Need.opened_at.is_not(None), *_posted(since, statuses))
        .group_by(need_required_concepts.c.concept_id)
    )
    return dict(rows.all())


_ACCEPTED = (
    ContactStatus.ACCEPTED,
    ContactStatus.WITHDRAWN,
)  # withdrawn: accepted, then taken back


def days_to_first_acceptance(
    *,
    since: datetime | None = None,
    chapter_id: int | None = None,
    statuses: tuple[NeedStatus, ...] | None = None,
) -> list[float]:
    """For each need posted since `since` that an expert accepted to be contacted for, the days
    from its opening to the first acceptance (for one chapter: the first acceptance by one of
    its members)."""
    first = func.min(ContactRequest.answered_at)
    rows = db.session.execute(
        select(Need.opened_at, first)
        .join(ContactRequest, ContactRequest.need_id == Need.id)
        .where(
            Need.opened_at.is_not(None),
            ContactRequest.answered_at.is_not(None),
            ContactRequest.status.in_([str(s) for s in _ACCEPTED]),
            *_posted(since, statuses),
            *(
                [ContactRequest.member_id.in_(_chapter_members(chapter_id))]
                if chapter_id is not None
                else []
            ),
        )
        .group_by(Need.id, Need.opened_at)
    )
    return [max((answered - opened).total_seconds(), 0) / 86400 for opened, answered in rows]


@dataclass(frozen=True)
class ContactFigures:
    sent: int
    accepted: int  # including consents withdrawn later
    declined: int
    lapsed: int
    pending: int

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted among the requests that are settled (answered or lapsed unanswered)."""
        settled = self.accepted + self.declined + self.lapsed
        return self.accepted / settled if settled else None


def contact_figures(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> ContactFigures:
    """Contact requests sent since `since` (to one chapter's members when given), by outcome."""
    query = select(ContactRequest.status, func.count(ContactRequest.id)).group_by(
        ContactRequest.status
    )
    if since is not None:
        query = query.where(ContactRequest.created_at >= since)
    if chapter_id is not None:
        query = query.where(ContactRequest.member_id.in_(_chapter_members(chapter_id)))
    counts = {str(status): n for status, n in db.session.execute(query)}
    return ContactFigures(
        sent=sum(counts.values()),
        accepted=sum(counts.get(str(s), 0) for s in _ACCEPTED),
        declined=counts.get(str(ContactStatus.DECLINED), 0),
        lapsed=counts.get(str(ContactStatus.LAPSED), 0),
        pending=counts.get(str(ContactStatus.PENDING), 0),
    )


def count_contributing_experts(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> int:
    """Experts with an outcome on a need completed since `since` (for one chapter: its members);
    the needs and days themselves are `outcomes_by_sector`'s."""
    experts = (
        select(func.count(func.distinct(Outcome.member_id)))
        .join(Need, Need.id == Outcome.need_id)
        .where(Need.status == NeedStatus.COMPLETED)
    )
    if since is not None:
        experts = experts.where(Need.finished_at >= since)
    if chapter_id is not None:
        experts = experts.where(Outcome.member_id.in_(_chapter_members(chapter_id)))
    return db.session.scalar(experts) or 0


def outcomes_by_sector(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> dict[str, tuple[int, int]]:
    """Per sector slug: needs completed since `since` and the days experts recorded for them
    (for one chapter: the needs its members contributed to, and only their days)."""
    completed = (
        select(Sector.slug, func.count(Need.id))
        .join(Need, Need.sector_id == Sector.id)
        .where(Need.status == NeedStatus.COMPLETED)
        .group_by(Sector.slug)
    )
    days = (
        select(Sector.slug, func.coalesce(func.sum(Outcome.days), 0))
        .join(Need, Need.sector_id == Sector.id)
        .join(Outcome, Outcome.need_id == Need.id)
        .where(Need.status == NeedStatus.COMPLETED)
        .group_by(Sector.slug)
    )
    if since is not None:
        completed = completed.where(Need.finished_at >= since)
        days = days.where(Need.finished_at >= since)
    if chapter_id is not None:
        members = _chapter_members(chapter_id)
        completed = completed.where(
            Need.id.in_(select(Outcome.need_id).where(Outcome.member_id.in_(members)))
        )
        days = days.where(Outcome.member_id.in_(members))
    needs = dict(db.session.execute(completed).all())
    given = dict(db.session.execute(days).all())
    return {
        slug: (needs.get(slug, 0), int(given.get(slug, 0))) for slug in needs.keys() | given.keys()
    }
