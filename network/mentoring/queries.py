"""Read side of mentoring: a member's mentorships as mentor and as mentee."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from network.db import db
from network.mentoring.models import Mentorship


def list_mentorships_of(user_id: int) -> list[Mentorship]:
    """Both sides, newest first."""
    return list(
        db.session.scalars(
            select(Mentorship)
            .where(or_(Mentorship.mentor_id == user_id, Mentorship.mentee_id == user_id))
            .options(selectinload(Mentorship.mentor), selectinload(Mentorship.mentee))
            .order_by(Mentorship.created_at.desc(), Mentorship.id.desc())
        )
    )


def get_mentorship(mentorship_id: int) -> Mentorship | None:
    return db.session.get(Mentorship, mentorship_id)
