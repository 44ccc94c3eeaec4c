"""The audit log: who did what to whom, and when. Written in the same transaction as the action,
so an action and its record commit or roll back together.

Issue 7 records every contact request, acceptance and view of revealed contact details here;
administrative actions (verifying an organisation, ...) are recorded too. Entries are never
edited; an account's deletion keeps its entries with the actor left empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

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


def record(actor: Any, action: str, subject_type: str, subject_id: int,
           detail: str = "") -> AuditEntry:  # fmt: skip
    """Add an entry to the current transaction (`actor` is a user, or None for the system)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None), action=action, subject_type=subject_type,
        subject_id=subject_id, detail=detail[:2000],
    )  # fmt: skip
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


def list_entries(
    *, action: str = "", subject_type: str = "", subject_id: int | None = None,
    page: int = 1, per_page: int = 50,
) -> Any:  # fmt: skip
    """A page of the log for IME, newest first, with the actor loaded (filters are exact, except
    `action`, which also matches a prefix such as "contact.")."""
    from network.auth.models import User

    query = select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.actor_id)
    if action:
        query = query.where(
            (AuditEntry.action == action) | AuditEntry.action.startswith(action.rstrip(".") + ".")
        )
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()  # fmt: skip
    return total, [(entry, user) for entry, user in rows]
