"""The audit log: who did what to whom, and when. Written in the same transaction as the action,
so an action and its record commit or roll back together.

Issue 7 records every contact request, acceptance and view of revealed contact details here;
every administrative action is recorded too (issue 8), including exports of this log. IME browses
it by actor, action, subject and days, and exports the same selection as CSV. Entries are never
edited; an account's deletion keeps its entries with the actor left empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from network.auth.models import User
from network.db import db, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column()
    detail: Mapped[str] = mapped_column(Text, default="")


def record(
    actor: Any, action: str, subject_type: str, subject_id: int, detail: str = ""
) -> AuditEntry:
    """Add an entry to the current transaction (`actor` is a user, or None for the system)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail[:2000],
    )
    db.session.add(entry)
    return entry


def entries_about(subject_type: str, subject_id: int) -> list[AuditEntry]:
    """What happened to one subject, newest first."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        )
    )


@dataclass(frozen=True)
class AuditFilters:
    """What IME narrows the log to; the page and its CSV export share it, so the file holds
    exactly the rows the page listed. Empty values filter nothing."""

    action: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    # A number is the actor's id; any other text a part of their name or e-mail address.
    actor: str = ""
    # Inclusive UTC days.
    date_from: date | None = None
    date_to: date | None = None


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(filters: AuditFilters) -> Any:
    query = select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.actor_id)
    if filters.action:
        action = filters.action
        query = query.where(
            (AuditEntry.action == action) | AuditEntry.action.startswith(action.rstrip(".") + ".")
        )
    if filters.subject_type:
        query = query.where(AuditEntry.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        query = query.where(AuditEntry.subject_id == filters.subject_id)
    actor = filters.actor.strip()
    if actor.isdecimal() and actor.isascii():
        query = query.where(AuditEntry.actor_id == (int(actor) if len(actor) < 10 else -1))
    elif actor:
        # Names match in part; an e-mail address only whole (a member may hide theirs).
        pattern = _like(actor)
        query = query.where(
            User.full_name.ilike(pattern, escape="\\") | (User.email == actor.lower())
        )
    if filters.date_from is not None:
        query = query.where(AuditEntry.created_at >= _start_of(filters.date_from))
    if filters.date_to is not None:
        # The whole last day, without adding a day (9999-12-31 would overflow).
        end = datetime.combine(filters.date_to, time.max, tzinfo=UTC)
        query = query.where(AuditEntry.created_at <= end)
    return query


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _newest_first(query: Any) -> Any:
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def list_entries(filters: AuditFilters, *, page: int = 1, per_page: int = 50) -> Any:
    """A page of the log for IME, newest first, with the actor loaded, and the total (filters
    are exact, except `action`, which also matches a prefix such as "contact.")."""
    query = _filtered(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        _newest_first(query).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return total, [(entry, user) for entry, user in rows]


def iter_entries(filters: AuditFilters, *, batch: int = 1000) -> Iterator[tuple[AuditEntry, Any]]:
    """Every matching entry, newest first, read in batches: the log grows without bound, so an
    export streams it instead of loading it whole."""
    result = db.session.execute(
        _newest_first(_filtered(filters)).execution_options(yield_per=batch)
    )
    yield from result
