"""Rules for needs, interest, the shortlist, consent-gated contact and outcomes.

Consent is the point of this module: an organisation learns how to reach an expert only through a
contact request the expert accepted, every step is written to the audit log in the same
transaction, and the fair-load caps keep the same few stars from being asked again and again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from chapters.models import Node
from network import audit
from network.auth.models import User
from network.db import db, utcnow
from network.errors import Conflict, Forbidden, RateLimited, ValidationError
from network.geo import language_names
from network.members.models import Concept, Mode, Profile, Sector
from network.members.queries import listed_members
from network.needs.models import (
    NEED_TRANSITIONS,
    ContactRequest,
    ContactStatus,
    Interest,
    Need,
    NeedLanguage,
    NeedMode,
    NeedStatus,
    Outcome,
    ShortlistEntry,
)
from network.outbox import notify
from network.security import can_manage_need, is_member_account, is_verified_organisation_user
from network.signals import account_suspended, concept_merged, need_closed
from network.text import fold
from network.urls import external_url
from network.visibility import ORGANISATION_VIEWER, visible_fields

MAX_MESSAGE = 2000
MAX_DESCRIPTION = 10000


# ---------------------------------------------------------------- needs


def _require_manager(user: User, need: Need) -> None:
    """The views check access first; this is the rule's last line for every other caller."""
    if not can_manage_need(user, need):
        raise Forbidden(_l("Only the need's organisation manages it."))


@dataclass
class NeedData:
    """A need as the form or the API gives it, with concepts and the sector already resolved."""

    title: str
    sector: Sector | None
    required: list[Concept]
    description: str = ""
    nice: list[Concept] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    effort_days: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    node: Node | None = None
    remote: bool = True
    status: NeedStatus = NeedStatus.DRAFT


def find_sector(text: str) -> Sector | None:
    """A sector by slug or by label in either language (any case, any accents)."""
    wanted = fold(text)
    for sector in db.session.scalars(select(Sector)):
        if wanted in (sector.slug, fold(sector.label_es), fold(sector.label_en)):
            return sector
    return None


def _check(data: NeedData) -> None:
    title = " ".join(data.title.split())
    if not 5 <= len(title) <= 200:
        raise ValidationError("title", _l("Give a title of 5 to 200 characters."))
    if len(data.description) > MAX_DESCRIPTION:
        raise ValidationError(
            "description", _l("Keep it under %(n)d characters.", n=MAX_DESCRIPTION)
        )
    if data.sector is None:
        raise ValidationError("sector", _l("Choose a sector from the list."))
    if not data.required:
        raise ValidationError("required", _l("Name at least one required expertise concept."))
    if len(data.required) > 10 or len(data.nice) > 10:
        raise ValidationError("required", _l("Name at most 10 concepts in each list."))
    overlap = {c.id for c in data.required} & {c.id for c in data.nice}
    if overlap:
        raise ValidationError("nice", _l("A concept is either required or nice to have, not both."))
    if any(code not in language_names("en") for code in data.languages):
        raise ValidationError("languages", _l("Choose languages from the list."))
    unknown_modes = [m for m in data.modes if m not in set(Mode)]
    if unknown_modes:
        raise ValidationError("modes", _l("Choose ways of contributing from the list."))
    if data.effort_days is not None and not 1 <= data.effort_days <= 365:
        raise ValidationError("effort_days", _l("Effort is between 1 and 365 days."))
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise ValidationError("ends_on", _l("The end date comes after the start date."))
    if data.status not in (NeedStatus.DRAFT, NeedStatus.OPEN):
        raise ValidationError("status", _l("A new need is a draft or open."))


def _apply(need: Need, data: NeedData) -> None:
    need.title = " ".join(data.title.split())
    need.description = data.description.strip()
    need.sector = data.sector  # type: ignore[assignment]
    need.required_concepts = list({c.id: c for c in data.required}.values())
    need.nice_concepts = list({c.id: c for c in data.nice}.values())
    codes = list(dict.fromkeys(code.strip().lower() for code in data.languages if code.strip()))
    need.languages = [NeedLanguage(code=code) for code in codes]
    need.modes = [NeedMode(mode=mode) for mode in dict.fromkeys(data.modes)]
    need.effort_days = data.effort_days
    need.starts_on = data.starts_on
    need.ends_on = data.ends_on
    need.node = data.node
    need.remote = data.remote


def post_need(user: User, data: NeedData) -> Need:
    """A verified organisation's user posts a need, as a draft or straight away open."""
    if not is_verified_organisation_user(user):
        raise ValidationError(None, _l("Only verified organisations post needs."))
    _check(data)
    need = Need(organisation_id=user.organisation_id, created_by=user, status=NeedStatus.DRAFT)
    _apply(need, data)
    db.session.add(need)
    db.session.flush()
    if data.status == NeedStatus.OPEN:
        change_status(user, need, NeedStatus.OPEN)
    audit.record(user, "need.posted", "need", need.id, need.title)
    return need


def update_need(user: User, need: Need, data: NeedData) -> None:
    """Edit the posting; its status moves only through `change_status`."""
    _require_manager(user, need)
    if need.status in (NeedStatus.COMPLETED, NeedStatus.CLOSED):
        raise Conflict(None, _l("A finished need can no longer be edited."))
    _check(NeedData(**{**data.__dict__, "status": NeedStatus.DRAFT}))
    _apply(need, data)
    db.session.flush()


def change_status(user: User, need: Need, status: NeedStatus, reason: str = "") -> None:
    """draft → open → in progress → completed, or closed with a reason from any unfinished state."""
    _require_manager(user, need)
    if status == need.status:
        return
    if status not in NEED_TRANSITIONS[need.status]:
        raise Conflict(
            "status",
            _l(
                "A need that is %(old)s cannot become %(new)s.",
                old=need.status_label,
                new=str(status),
            ),
        )
    reason = reason.strip()
    if status == NeedStatus.CLOSED and len(reason) < 5:
        raise ValidationError("reason", _l("Say why the need is closed without completion."))
    need.status = status
    now = utcnow()
    if status == NeedStatus.OPEN and need.opened_at is None:
        need.opened_at = now
    if status in (NeedStatus.COMPLETED, NeedStatus.CLOSED):
        need.finished_at = now
        need.close_reason = reason[:MAX_MESSAGE] if status == NeedStatus.CLOSED else ""
        _end_pending_requests(need)
        need_closed.send(need)
    audit.record(user, f"need.{status}", "need", need.id, reason)
    db.session.flush()


def _end_pending_requests(need: Need) -> None:
    """Unanswered requests lapse with the need, so they stop counting against experts' caps."""
    for contact in need.contact_requests:
        if contact.status == ContactStatus.PENDING:
            contact.status = ContactStatus.LAPSED


@concept_merged.connect
def _move_concepts(source: Concept, *, target: Concept, **_: Any) -> dict[str, int]:
    """Needs that named the merged concept name the surviving one, once: required wins over
    nice to have. Run before the source's row goes; a no-op when no need holds it any more.
    Says how many needs it moved, for the merge's audit entry."""
    needs = db.session.scalars(
        select(Need)
        .where(
            Need.required_concepts.any(Concept.id == source.id)
            | Need.nice_concepts.any(Concept.id == source.id)
        )
        .options(selectinload(Need.required_concepts), selectinload(Need.nice_concepts))
    ).all()
    for need in needs:
        if source in need.required_concepts:
            need.required_concepts.remove(source)
            if target in need.nice_concepts:
                need.nice_concepts.remove(target)
            if target not in need.required_concepts:
                need.required_concepts.append(target)
        if source in need.nice_concepts:
            need.nice_concepts.remove(source)
            if target not in need.required_concepts and target not in need.nice_concepts:
                need.nice_concepts.append(target)
    return {"needs": len(needs)}


# ---------------------------------------------------------------- interest and shortlist


def express_interest(member: User, need: Need, message: str) -> Interest:
    """A member raises their hand; the organisation sees the message on the need's page."""
    if not is_member_account(member):
        raise ValidationError(None, _l("Only members express interest in needs."))
    if need.status != NeedStatus.OPEN:
        raise Conflict(None, _l("This need is not open any more."))
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise ValidationError("message", _l("Keep it under %(n)d characters.", n=MAX_MESSAGE))
    existing = db.session.scalar(
        select(Interest).where(Interest.need_id == need.id, Interest.member_id == member.id)
    )
    if existing is not None:
        existing.message = message
        return existing
    interest = Interest(need=need, member=member, message=message)
    db.session.add(interest)
    db.session.flush()
    return interest


def withdraw_interest(member: User, need: Need) -> None:
    interest = db.session.scalar(
        select(Interest).where(Interest.need_id == need.id, Interest.member_id == member.id)
    )
    if interest is not None:
        db.session.delete(interest)
        db.session.flush()


def _candidate_profile(member_id: int) -> Profile | None:
    return db.session.scalar(listed_members().where(Profile.user_id == member_id))


def open_to_organisations(profile: Profile) -> bool:
    """Open to requests, and saying so to organisations (a hidden 'yes' is not a yes for them)."""
    shown = visible_fields(ORGANISATION_VIEWER, profile.user_id, profile.visibility)
    return profile.open_to_requests and "open_to_requests" in shown


def _reachable(need: Need, member_id: int) -> Profile:
    """The member's profile if this organisation may consider them for this need: open to
    requests, or having expressed interest in this very need."""
    profile = _candidate_profile(member_id)
    if profile is None:
        raise ValidationError("member_id", _l("There is no such member."))
    interested = any(i.member_id == member_id for i in need.interests)
    if not (open_to_organisations(profile) or interested):
        raise Conflict("member_id", _l("This member does not take requests from organisations."))
    return profile


def add_to_shortlist(user: User, need: Need, member_id: int) -> ShortlistEntry:
    _require_manager(user, need)
    if need.status not in (NeedStatus.OPEN, NeedStatus.IN_PROGRESS):
        raise Conflict(None, _l("Candidates are shortlisted for open needs only."))
    _reachable(need, member_id)
    entry = db.session.get(ShortlistEntry, (need.id, member_id))
    if entry is None:
        entry = ShortlistEntry(need=need, member_id=member_id)
        db.session.add(entry)
        db.session.flush()
    return entry


def remove_from_shortlist(user: User, need: Need, member_id: int) -> None:
    _require_manager(user, need)
    entry = db.session.get(ShortlistEntry, (need.id, member_id))
    if entry is not None:
        db.session.delete(entry)
        db.session.flush()


# ---------------------------------------------------------------- contact requests


@account_suspended.connect
def _lapse_requests_to(user: User, **_: Any) -> None:
    """Nobody waits on a suspended person: organisations' unanswered contact requests to them
    lapse (reinstating does not reopen them; they can be asked again)."""
    for contact in db.session.scalars(
        select(ContactRequest).where(
            ContactRequest.member_id == user.id, ContactRequest.status == ContactStatus.PENDING
        )
    ):
        contact.status = ContactStatus.LAPSED


@dataclass(frozen=True)
class Load:
    """How many requests an expert has: unanswered now, and received in the last 30 days."""

    pending: int
    recent: int


def load_of(member_id: int) -> Load:
    since = utcnow() - timedelta(days=30)
    pending, recent = db.session.execute(
        select(
            func.count().filter(ContactRequest.status == ContactStatus.PENDING),
            func.count().filter(ContactRequest.created_at >= since),
        ).where(ContactRequest.member_id == member_id)
    ).one()
    return Load(pending=pending or 0, recent=recent or 0)


def request_contact(user: User, need: Need, member_id: int, message: str) -> ContactRequest:
    """Ask an expert whether they agree to be contacted about this need.

    The expert's row is locked first, so two organisations asking at once cannot both slip
    under a cap. Beyond a cap the expert is not contacted at all."""
    _require_manager(user, need)
    if need.status not in (NeedStatus.OPEN, NeedStatus.IN_PROGRESS):
        raise Conflict(None, _l("Contact requests are sent for open needs only."))
    message = message.strip()
    if not 10 <= len(message) <= MAX_MESSAGE:
        raise ValidationError(
            "message", _l("Write a message of 10 to %(n)d characters.", n=MAX_MESSAGE)
        )
    _reachable(need, member_id)
    db.session.execute(update(User).where(User.id == member_id).values(id=User.id))
    if db.session.scalar(
        select(ContactRequest.id).where(
            ContactRequest.need_id == need.id, ContactRequest.member_id == member_id
        )
    ):
        raise Conflict(None, _l("You have already asked this expert about this need."))
    config = current_app.config
    load = load_of(member_id)
    if load.pending >= config["CONTACT_MAX_PENDING"]:
        raise RateLimited(
            None,
            _l(
                "This expert already has %(n)d requests waiting for an answer. Please choose "
                "another candidate.",
                n=load.pending,
            ),
        )
    if load.recent >= config["CONTACT_MAX_PER_30_DAYS"]:
        raise RateLimited(
            None,
            _l(
                "This expert has received %(n)d requests in the last 30 days. Please choose "
                "another candidate.",
                n=load.recent,
            ),
        )
    contact = ContactRequest(
        need=need,
        organisation_id=need.organisation_id,
        member_id=member_id,
        sender=user,
        message=message,
    )
    db.session.add(contact)
    db.session.flush()
    if db.session.get(ShortlistEntry, (need.id, member_id)) is None:
        db.session.add(ShortlistEntry(need=need, member_id=member_id))
    audit.record(
        user, "contact.requested", "member", member_id, f"{need.organisation.name}: {need.title}"
    )
    member = db.session.get(User, member_id)
    assert member is not None
    notify(
        member,
        _l("A request for your expertise: %(title)s", title=need.title),
        "contact_requested",
        contact=contact,
        need=need,
        link=external_url("needs.contact_request", request_id=contact.id),
    )
    return contact


def answer_contact(member: User, contact: ContactRequest, accept: bool, reply: str = "") -> None:
    """The expert says yes (the organisation may now see their contact details) or no."""
    if contact.member_id != member.id:
        raise Forbidden(_l("Only the member the request was sent to answers it."))
    if contact.status != ContactStatus.PENDING:
        raise Conflict(None, _l("This request has already been answered."))
    reply = reply.strip()
    if len(reply) > MAX_MESSAGE:
        raise ValidationError("reply", _l("Keep it under %(n)d characters.", n=MAX_MESSAGE))
    contact.status = ContactStatus.ACCEPTED if accept else ContactStatus.DECLINED
    contact.reply = reply
    contact.answered_at = utcnow()
    action = "contact.accepted" if accept else "contact.declined"
    audit.record(member, action, "member", member.id, _about(contact))
    _tell_organisation(contact, accept)
    db.session.flush()


def withdraw_consent(member: User, contact: ContactRequest) -> None:
    """The expert takes their yes back: from now on the organisation sees no contact details."""
    if contact.member_id != member.id:
        raise Forbidden(_l("Only the member the request was sent to answers it."))
    if contact.status != ContactStatus.ACCEPTED:
        raise Conflict(None, _l("Only an accepted request can be withdrawn."))
    contact.status = ContactStatus.WITHDRAWN
    contact.withdrawn_at = utcnow()
    audit.record(member, "contact.withdrawn", "member", member.id, _about(contact))
    db.session.flush()


def _about(contact: ContactRequest) -> str:
    return f"{contact.organisation.name}: {contact.need.title}"


def _tell_organisation(contact: ContactRequest, accepted: bool) -> None:
    """The e-mail says who answered and links to the page: it never carries contact details."""
    subject = (
        _l("%(name)s accepted your request", name=contact.member.full_name)
        if accepted
        else _l("%(name)s declined your request", name=contact.member.full_name)
    )
    for user in contact.organisation.users:
        if user.email_confirmed_at is None:
            continue
        notify(
            user,
            subject,
            "contact_answered",
            contact=contact,
            accepted=accepted,
            link=external_url("needs.contact_request", request_id=contact.id),
        )


def reveal_contact_details(user: User, contact: ContactRequest) -> dict[str, str] | None:
    """The expert's e-mail (and phone, if given) for the organisation they accepted, and for
    nobody else; each reveal is written to the audit log, which the expert can read."""
    if contact.status != ContactStatus.ACCEPTED or not can_manage_need(user, contact.need):
        return None
    details = {"email": contact.member.email}
    profile = contact.member.profile
    if profile is not None and profile.phone:
        details["phone"] = profile.phone
    audit.record(
        user,
        "contact.viewed",
        "member",
        contact.member_id,
        f"{contact.organisation.name}: {contact.need.title}",
    )
    return details


# ---------------------------------------------------------------- outcomes


def record_outcome(
    user: User, need: Need, member_id: int, days: int, achieved: str, rating: int | None
) -> Outcome:
    """For a completed need, what one engaged expert contributed (the expert then confirms)."""
    _require_manager(user, need)
    if need.status != NeedStatus.COMPLETED:
        raise Conflict(None, _l("Outcomes are recorded once the need is completed."))
    engaged = {c.member_id for c in need.contact_requests if c.status == ContactStatus.ACCEPTED}
    if member_id not in engaged:
        raise ValidationError("member_id", _l("Only experts who accepted contact take part."))
    if not 0 <= days <= 365:
        raise ValidationError("days", _l("Days are between 0 and 365."))
    achieved = achieved.strip()
    if not 5 <= len(achieved) <= MAX_MESSAGE:
        raise ValidationError("achieved", _l("Say in a few words what was achieved."))
    if rating is not None and not 1 <= rating <= 5:
        raise ValidationError("rating", _l("A rating is from 1 to 5."))
    outcome = db.session.scalar(
        select(Outcome).where(Outcome.need_id == need.id, Outcome.member_id == member_id)
    )
    if outcome is None:
        outcome = Outcome(need=need, member_id=member_id, days=days, achieved=achieved)
        db.session.add(outcome)
    elif (outcome.days, outcome.achieved, outcome.rating) == (days, achieved, rating):
        return outcome  # nothing changed: no new e-mail, the confirmation stands
    outcome.days, outcome.achieved, outcome.rating = days, achieved, rating
    outcome.confirmed_at = None
    db.session.flush()
    audit.record(user, "outcome.recorded", "need", need.id, f"member {member_id}: {days} days")
    member = db.session.get(User, member_id)
    assert member is not None
    notify(
        member,
        _l("Please confirm your contribution to %(title)s", title=need.title),
        "outcome_recorded",
        outcome=outcome,
        need=need,
        link=external_url("needs.detail", need_id=need.id),
    )
    return outcome


def confirm_outcome(member: User, outcome: Outcome, comment: str = "") -> None:
    """The expert confirms the record, optionally with a comment of their own."""
    if outcome.member_id != member.id:
        raise Forbidden(_l("Only the expert confirms their own contribution."))
    comment = comment.strip()
    if len(comment) > MAX_MESSAGE:
        raise ValidationError("comment", _l("Keep it under %(n)d characters.", n=MAX_MESSAGE))
    outcome.confirmed_at = utcnow()
    outcome.expert_comment = comment
    db.session.flush()
