"""Mentoring between members: a request with a goal and a duration, the mentor's answer, and an
end with a short outcome. A mentor never has more active mentees than the capacity they state."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import db, str_enum, utcnow

if TYPE_CHECKING:
    from network.auth.models import User


class MentoringStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    # The mentee took the request back before an answer.
    CANCELLED = "cancelled"
    ENDED = "ended"


MENTORING_STATUS_LABELS = {
    MentoringStatus.PENDING: _l("Waiting for the mentor's answer"),
    MentoringStatus.ACTIVE: _l("Active"),
    MentoringStatus.DECLINED: _l("Declined"),
    MentoringStatus.CANCELLED: _l("Cancelled"),
    MentoringStatus.ENDED: _l("Ended"),
}

# Statuses that still hold a place with the mentor (or are about to).
OPEN_STATUSES = (MentoringStatus.PENDING, MentoringStatus.ACTIVE)


class Mentorship(db.Model):
    __tablename__ = "mentorships"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    goal: Mapped[str] = mapped_column(Text)
    duration_weeks: Mapped[int]
    status: Mapped[MentoringStatus] = mapped_column(
        str_enum(MentoringStatus), default=MentoringStatus.PENDING, index=True
    )
    reply: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])

    @property
    def status_label(self) -> str:
        return str(MENTORING_STATUS_LABELS[self.status])
