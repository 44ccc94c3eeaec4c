"""Mentoring rules. Capacity is the point: a mentor never has more active mentees than they
offered, even when two requests are accepted at the same moment (the mentor's profile row is
locked and its counter checked and moved in the same transaction)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from network.auth.models import User
from network.db import db, utcnow
from network.errors import Conflict, Forbidden, ValidationError
from network.members.models import Profile
from network.mentoring.models import OPEN_STATUSES, MentoringStatus, Mentorship
from network.outbox import notify
from network.security import is_member_account
from network.signals import account_suspended, member_deleted
from network.urls import external_url
from network.visibility import viewer_for, visible_fields

MAX_TEXT = 2000
DURATIONS = (4, 8, 12, 26, 52)


def _mentor_profile(mentor_id: int, *, lock: bool = False) -> Profile | None:
    if lock:
        # A no-op write takes the row lock (PostgreSQL) or the write lock (SQLite) first.
        db.session.execute(
            update(Profile)
            .where(Profile.user_id == mentor_id)
            .values(active_mentees=Profile.active_mentees)
        )
    return db.session.scalar(
        select(Profile)
        .where(Profile.user_id == mentor_id)
        .execution_options(populate_existing=True)
    )


def _active_count(mentor_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(Mentorship.id)).where(
                Mentorship.mentor_id == mentor_id, Mentorship.status == MentoringStatus.ACTIVE
            )
        )
        or 0
    )


def refresh_mentor_load(mentor_id: int) -> None:
    """Recount a mentor's active mentees into the profile (search reads the count), e.g. after
    a mentee's account is deleted and its mentorships with it."""
    profile = _mentor_profile(mentor_id, lock=True)
    if profile is not None:
        profile.active_mentees = _active_count(mentor_id)
        db.session.flush()


def _locked(mentorship: Mentorship) -> Profile:
    """Lock the mentor's profile, then read the mentorship again: a second click (or the other
    side) may have changed it while this request waited for the lock."""
    profile = _mentor_profile(mentorship.mentor_id, lock=True)
    assert profile is not None
    db.session.refresh(mentorship)
    return profile


def can_ask(mentee: User, profile: Profile) -> bool:
    """Whether this member may ask this mentor: open to mentoring, saying so to the member,
    with a place free, and not themselves."""
    if not is_member_account(mentee) or mentee.id == profile.user_id:
        return False
    shown = "mentoring" in visible_fields(viewer_for(mentee), profile.user_id, profile.visibility)
    return shown and profile.open_to_mentoring and not profile.mentoring_is_full


def request_mentoring(mentee: User, mentor_id: int, goal: str, duration_weeks: int) -> Mentorship:
    goal = goal.strip()
    if not 10 <= len(goal) <= MAX_TEXT:
        raise ValidationError(
            "goal", _l("Describe your goal in 10 to %(n)d characters.", n=MAX_TEXT)
        )
    if duration_weeks not in DURATIONS:
        raise ValidationError("duration_weeks", _l("Choose a duration from the list."))
    profile = _mentor_profile(mentor_id)
    if profile is None or profile.user.role != "member" or not is_member_account(mentee):
        raise ValidationError(None, _l("Only members ask members for mentoring."))
    if mentee.id == mentor_id:
        raise ValidationError(None, _l("You cannot be your own mentor."))
    if not can_ask(mentee, profile):
        raise Conflict(None, _l("This mentor has no free place at the moment."))
    if db.session.scalar(
        select(Mentorship.id).where(
            Mentorship.mentor_id == mentor_id,
            Mentorship.mentee_id == mentee.id,
            Mentorship.status.in_(OPEN_STATUSES),
        )
    ):
        raise Conflict(None, _l("You already have a request or a mentorship with this mentor."))
    mentorship = Mentorship(
        mentor_id=mentor_id, mentee=mentee, goal=goal, duration_weeks=duration_weeks
    )
    db.session.add(mentorship)
    db.session.flush()
    notify(
        profile.user,
        _l("%(name)s asks you for mentoring", name=mentee.full_name),
        "mentoring_requested",
        mentorship=mentorship,
        link=external_url("mentoring.index"),
    )
    return mentorship


def answer_mentoring(mentor: User, mentorship: Mentorship, accept: bool, reply: str = "") -> None:
    """The mentor says yes (if a place is still free) or no."""
    if mentorship.mentor_id != mentor.id:
        raise Forbidden(_l("Only the mentor asked answers this request."))
    if mentorship.status != MentoringStatus.PENDING:
        raise Conflict(None, _l("This request has already been answered."))
    reply = reply.strip()[:MAX_TEXT]
    profile = _locked(mentorship)
    if mentorship.status != MentoringStatus.PENDING:
        raise Conflict(None, _l("This request has already been answered."))
    active = _active_count(mentor.id)
    if accept and not profile.open_to_mentoring:
        raise Conflict(None, _l("Turn mentoring on in your profile before accepting."))
    if accept:
        if active >= profile.mentor_capacity:
            raise Conflict(
                None,
                _l(
                    "All your %(n)d places are taken: end a mentorship or raise your capacity "
                    "first.",
                    n=profile.mentor_capacity,
                ),
            )
        active += 1
    profile.active_mentees = active
    mentorship.status = MentoringStatus.ACTIVE if accept else MentoringStatus.DECLINED
    mentorship.reply = reply
    mentorship.answered_at = utcnow()
    db.session.flush()
    notify(
        mentorship.mentee,
        _l("%(name)s accepted to mentor you", name=mentor.full_name)
        if accept
        else _l("%(name)s cannot mentor you now", name=mentor.full_name),
        "mentoring_answered",
        mentorship=mentorship,
        accepted=accept,
        link=external_url("mentoring.index"),
    )


def cancel_mentoring(mentee: User, mentorship: Mentorship) -> None:
    """The mentee takes back a request that has no answer yet."""
    if mentorship.mentee_id != mentee.id:
        raise Forbidden(_l("Only the member who asked cancels this request."))
    if mentorship.status != MentoringStatus.PENDING:
        raise Conflict(None, _l("Only a request without an answer can be cancelled."))
    mentorship.status = MentoringStatus.CANCELLED
    mentorship.ended_at = utcnow()
    db.session.flush()


def end_mentoring(user: User, mentorship: Mentorship, outcome: str) -> None:
    """Either side ends an active mentorship with a short outcome; the place becomes free."""
    if user.id not in (mentorship.mentor_id, mentorship.mentee_id):
        raise Forbidden(_l("Only the mentor and the mentee end this mentorship."))
    if mentorship.status != MentoringStatus.ACTIVE:
        raise Conflict(None, _l("Only an active mentorship can be ended."))
    outcome = outcome.strip()
    if not 3 <= len(outcome) <= MAX_TEXT:
        raise ValidationError("outcome", _l("Say in a few words how it went."))
    profile = _locked(mentorship)
    if mentorship.status != MentoringStatus.ACTIVE:
        raise Conflict(None, _l("Only an active mentorship can be ended."))
    mentorship.status = MentoringStatus.ENDED
    mentorship.outcome = outcome
    mentorship.ended_at = utcnow()
    mentorship.ended_by_id = user.id
    db.session.flush()
    profile.active_mentees = _active_count(mentorship.mentor_id)
    db.session.flush()
    other = mentorship.mentee if user.id == mentorship.mentor_id else mentorship.mentor
    notify(
        other,
        _l("%(name)s ended your mentorship", name=user.full_name),
        "mentoring_ended",
        mentorship=mentorship,
        ended_by=user,
        link=external_url("mentoring.index"),
    )


def mentors_of(mentee_id: int) -> list[int]:
    """Mentors with whom this member has an active mentorship."""
    return list(
        db.session.scalars(
            select(Mentorship.mentor_id).where(
                Mentorship.mentee_id == mentee_id, Mentorship.status == MentoringStatus.ACTIVE
            )
        )
    )


@account_suspended.connect
def _cancel_pending_requests(user: User, **_: Any) -> None:
    """Nobody waits on a suspended person: mentoring requests from or to them that have no
    answer are cancelled (reinstating does not reopen them; they can be asked for again)."""
    now = utcnow()
    for mentorship in db.session.scalars(
        select(Mentorship).where(
            (Mentorship.mentor_id == user.id) | (Mentorship.mentee_id == user.id),
            Mentorship.status == MentoringStatus.PENDING,
        )
    ):
        mentorship.status, mentorship.ended_at = MentoringStatus.CANCELLED, now


@member_deleted.connect
def _free_mentors_places(user: User, **_: Any) -> None:
    """A deleted member's mentorships go with the account: their mentors' places become free.
    Sent before the row goes, so the active mentorships are ended here and each mentor's count
    recounted; run twice, the second finds nothing active."""
    mentorships = db.session.scalars(
        select(Mentorship).where(
            Mentorship.mentee_id == user.id, Mentorship.status == MentoringStatus.ACTIVE
        )
    ).all()
    now = utcnow()
    for mentorship in mentorships:
        mentorship.status, mentorship.ended_at = MentoringStatus.ENDED, now
    db.session.flush()
    for mentor_id in sorted({m.mentor_id for m in mentorships}):  # one lock order
        refresh_mentor_load(mentor_id)
