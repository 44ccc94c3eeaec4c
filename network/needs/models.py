"""Development needs posted by verified organisations, interest from members, the shortlist,
consent-gated contact requests and the outcomes ledger."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import db, str_enum, utcnow
from network.members.models import Mode

if TYPE_CHECKING:
    from chapters.models import Node
    from network.auth.models import User
    from network.members.models import Concept, Sector
    from network.organisations.models import Organisation


class NeedStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"


NEED_STATUS_LABELS = {
    NeedStatus.DRAFT: _l("Draft"),
    NeedStatus.OPEN: _l("Open"),
    NeedStatus.IN_PROGRESS: _l("In progress"),
    NeedStatus.COMPLETED: _l("Completed"),
    NeedStatus.CLOSED: _l("Closed"),
}

# Where a need may go from each status; `closed` always needs a reason.
NEED_TRANSITIONS: dict[NeedStatus, tuple[NeedStatus, ...]] = {
    NeedStatus.DRAFT: (NeedStatus.OPEN, NeedStatus.CLOSED),
    NeedStatus.OPEN: (NeedStatus.IN_PROGRESS, NeedStatus.COMPLETED, NeedStatus.CLOSED),
    NeedStatus.IN_PROGRESS: (NeedStatus.COMPLETED, NeedStatus.CLOSED),
    NeedStatus.COMPLETED: (),
    NeedStatus.CLOSED: (),
}

# Statuses anyone may see; drafts and closed needs stay with their organisation and IME.
PUBLISHED_STATUSES = (NeedStatus.OPEN, NeedStatus.IN_PROGRESS, NeedStatus.COMPLETED)


class ContactStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # The expert accepted, then took the consent back.
    WITHDRAWN = "withdrawn"
    # Still unanswered when the need was completed or closed.
    LAPSED = "lapsed"


CONTACT_STATUS_LABELS = {
    ContactStatus.PENDING: _l("Waiting for the expert's answer"),
    ContactStatus.ACCEPTED: _l("Accepted"),
    ContactStatus.DECLINED: _l("Declined"),
    ContactStatus.WITHDRAWN: _l("Consent withdrawn"),
    ContactStatus.LAPSED: _l("Lapsed: the need ended before an answer"),
}

need_required_concepts = Table(
    "need_required_concepts",
    db.metadata,
    Column("need_id", Integer, ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True),
    Column("concept_id", Integer, ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True),
)

need_nice_concepts = Table(
    "need_nice_concepts",
    db.metadata,
    Column("need_id", Integer, ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True),
    Column("concept_id", Integer, ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True),
)


class Need(db.Model):
    """A project posting: what an organisation in Mexico needs, and which expertise it takes."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"), index=True)
    effort_days: Mapped[int | None]
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    # The Mexican state concerned; None means a national need.
    node_id: Mapped[int | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="SET NULL"), index=True
    )
    remote: Mapped[bool] = mapped_column(default=True)
    status: Mapped[NeedStatus] = mapped_column(
        str_enum(NeedStatus), default=NeedStatus.DRAFT, index=True
    )
    close_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When it was first opened (the dashboard measures time to the first accepted contact).
    opened_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()
    sector: Mapped[Sector] = relationship()
    node: Mapped[Node | None] = relationship()
    required_concepts: Mapped[list[Concept]] = relationship(
        secondary=need_required_concepts, order_by="Concept.slug"
    )
    nice_concepts: Mapped[list[Concept]] = relationship(
        secondary=need_nice_concepts, order_by="Concept.slug"
    )
    languages: Mapped[list[NeedLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="NeedLanguage.code"
    )
    modes: Mapped[list[NeedMode]] = relationship(cascade="all, delete-orphan")
    interests: Mapped[list[Interest]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="Interest.created_at"
    )
    shortlist: Mapped[list[ShortlistEntry]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="ShortlistEntry.added_at"
    )
    contact_requests: Mapped[list[ContactRequest]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="ContactRequest.created_at"
    )
    outcomes: Mapped[list[Outcome]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="Outcome.id"
    )

    @property
    def language_codes(self) -> list[str]:
        return [lang.code for lang in self.languages]

    @property
    def mode_names(self) -> list[str]:
        order = list(Mode)
        return [m.mode for m in sorted(self.modes, key=lambda m: order.index(Mode(m.mode)))]

    @property
    def is_published(self) -> bool:
        return self.status in PUBLISHED_STATUSES

    @property
    def status_label(self) -> str:
        return str(NEED_STATUS_LABELS[self.status])


class NeedLanguage(db.Model):
    __tablename__ = "need_languages"

    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(3), primary_key=True)


class NeedMode(db.Model):
    __tablename__ = "need_modes"

    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(20), primary_key=True)


class Interest(db.Model):
    """A member raising their hand for a need, with a short message the organisation reads."""

    __tablename__ = "need_interests"
    __table_args__ = (UniqueConstraint("need_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    need: Mapped[Need] = relationship(back_populates="interests")
    member: Mapped[User] = relationship()


class ShortlistEntry(db.Model):
    __tablename__ = "need_shortlist"

    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    need: Mapped[Need] = relationship(back_populates="shortlist")
    member: Mapped[User] = relationship()


class ContactRequest(db.Model):
    """An organisation asking an expert for contact about one need. Nothing about how to reach the
    expert is shown to the organisation unless `status` is accepted."""

    __tablename__ = "contact_requests"
    __table_args__ = (UniqueConstraint("need_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[ContactStatus] = mapped_column(
        str_enum(ContactStatus), default=ContactStatus.PENDING, index=True
    )
    reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    answered_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    need: Mapped[Need] = relationship(back_populates="contact_requests")
    organisation: Mapped[Organisation] = relationship()
    member: Mapped[User] = relationship(foreign_keys=[member_id])
    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])

    @property
    def is_accepted(self) -> bool:
        return self.status == ContactStatus.ACCEPTED

    @property
    def status_label(self) -> str:
        return str(CONTACT_STATUS_LABELS[self.status])


class Outcome(db.Model):
    """What one expert contributed to a completed need: the organisation records it, the expert
    confirms or comments. These rows are the network's impact ledger."""

    __tablename__ = "need_outcomes"
    __table_args__ = (UniqueConstraint("need_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    days: Mapped[int]
    achieved: Mapped[str] = mapped_column(Text)
    rating: Mapped[int | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    expert_comment: Mapped[str] = mapped_column(Text, default="")

    need: Mapped[Need] = relationship(back_populates="outcomes")
    member: Mapped[User] = relationship()
