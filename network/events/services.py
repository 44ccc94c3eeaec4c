"""Write-side rules for events: who may host, seat decisions, the waitlist, reminders.

Seat decisions are serialised per event: every registration change first increments the event's
`seat_version` with an UPDATE. That statement takes the row lock on PostgreSQL and the write lock
on SQLite (where it is the transaction's first write, like BEGIN IMMEDIATE), so the count of
confirmed seats read after it cannot change under us. Waitlist order is the order of these
decisions: first come, first served.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from chapters.models import Chapter
from network.auth.models import User
from network.db import db, utcnow
from network.errors import Conflict, ValidationError
from network.events.models import (
    CalendarFeed,
    Event,
    EventFormat,
    EventQuestion,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationAnswer,
    RegistrationStatus,
)
from network.geo import is_timezone
from network.members.models import Concept
from network.members.vocabulary import swap_concept
from network.outbox import queue_email
from network.security import (
    can_host_events_for,
    can_manage_event,
    is_ime_admin,
    is_member_account,
)
from network.signals import account_suspended, concept_merged, member_deleted
from network.urls import external_url

MAX_QUESTIONS = 5
REMINDER_WINDOW = timedelta(hours=24)


@dataclass
class EventData:
    """Cleaned event fields; local times are naive wall-clock times in `timezone`."""

    title: str
    description: str
    hosts: list[Chapter]
    starts_local: datetime
    ends_local: datetime
    timezone: str
    format: EventFormat
    visibility: EventVisibility
    status: EventStatus = EventStatus.DRAFT
    language: str = "es"
    venue: str = ""
    address: str = ""
    city: str = ""
    country: str | None = None
    online_url: str = ""
    capacity: int | None = None
    opens_local: datetime | None = None
    closes_local: datetime | None = None
    topics: list[Concept] | None = None
    questions: list[str] | None = None


def to_utc(local: datetime, zone_name: str) -> datetime:
    """A wall-clock time in a zone as a UTC instant. In the hour that a DST change skips or
    repeats, zoneinfo's `fold=0` picks the earlier reading, as calendar programs do."""
    return local.replace(tzinfo=ZoneInfo(zone_name)).astimezone(ZoneInfo("UTC"))


def exists_in_zone(local: datetime, zone_name: str) -> bool:
    """False for wall-clock times skipped by a daylight-saving change (02:30 on a spring night):
    storing one would silently move the event by an hour."""
    instant = to_utc(local, zone_name)
    return instant.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None) == local.replace(
        tzinfo=None
    )


def _check(data: EventData, author: User) -> None:
    # Only IME hosts network-wide events (no chapter); everyone else names their chapters.
    if not data.hosts and not is_ime_admin(author):
        raise ValidationError("chapters", _l("Choose at least one hosting chapter."))
    if not data.title.strip():
        raise ValidationError("title", _l("Give the event a title."))
    for name, limit in (
        ("title", 200),
        ("venue", 200),
        ("address", 300),
        ("city", 120),
        ("online_url", 500),
    ):
        if len(getattr(data, name) or "") > limit:
            raise ValidationError(name, _l("At most %(n)d characters.", n=limit))
    if not is_timezone(data.timezone):
        raise ValidationError("timezone", _l("Choose a time zone from the list."))
    for name, local in (("starts_at", data.starts_local), ("ends_at", data.ends_local)):
        if not exists_in_zone(local, data.timezone):
            raise ValidationError(
                name, _l("This time does not exist there: the clocks move forward that night.")
            )
    if data.ends_local <= data.starts_local:
        raise ValidationError("ends_at", _l("The event must end after it starts."))
    if data.ends_local - data.starts_local > timedelta(days=14):
        raise ValidationError("ends_at", _l("An event may last at most 14 days."))
    if data.capacity is not None and not 1 <= data.capacity <= 100_000:
        raise ValidationError("capacity", _l("Capacity must be between 1 and 100,000."))
    if data.format != EventFormat.ONLINE and not (data.venue or data.address):
        raise ValidationError("venue", _l("Give the venue or address of an in-person event."))
    if data.format != EventFormat.IN_PERSON and not data.online_url:
        raise ValidationError("online_url", _l("Give the link of an online event."))
    if data.online_url and not data.online_url.startswith(("https://", "http://")):
        raise ValidationError("online_url", _l("The link must start with https://."))
    if data.closes_local and data.closes_local > data.starts_local:
        raise ValidationError(
            "registration_closes_at", _l("Registration must close before the event starts.")
        )
    if data.opens_local and data.opens_local >= (data.closes_local or data.starts_local):
        raise ValidationError(
            "registration_opens_at", _l("Registration must open before it closes.")
        )
    if len(data.questions or []) > MAX_QUESTIONS:
        raise ValidationError("questions", _l("Ask at most five questions."))


def _apply(event: Event, data: EventData) -> bool:
    """Copy cleaned data onto the event; True if attendees' calendars should be updated."""
    zone = data.timezone
    values: dict[str, Any] = {
        "title": data.title.strip(),
        "description": data.description,
        "language": data.language,
        "format": data.format,
        "venue": data.venue.strip() if data.format != EventFormat.ONLINE else "",
        "address": data.address.strip() if data.format != EventFormat.ONLINE else "",
        "city": data.city.strip(),
        "country": data.country or (data.hosts[0].country if data.hosts else None),
        "online_url": data.online_url.strip() if data.format != EventFormat.IN_PERSON else "",
        "timezone": zone,
        "starts_at": to_utc(data.starts_local, zone),
        "ends_at": to_utc(data.ends_local, zone),
        "capacity": data.capacity,
        "registration_opens_at": to_utc(data.opens_local, zone) if data.opens_local else None,
        "registration_closes_at": to_utc(data.closes_local, zone) if data.closes_local else None,
        "visibility": data.visibility,
    }
    if not values["city"] and data.hosts and data.format != EventFormat.ONLINE:
        values["city"] = data.hosts[0].city
    calendar_fields = {
        "title",
        "description",
        "venue",
        "address",
        "online_url",
        "timezone",
        "starts_at",
        "ends_at",
    }
    changed = False
    for name, value in values.items():
        if getattr(event, name) != value:
            changed = changed or name in calendar_fields
            setattr(event, name, value)
    event.hosts = list(data.hosts)
    if data.topics is not None:
        event.topics = list(data.topics)
    if data.questions is not None:
        labels = [q.strip()[:200] for q in data.questions if q.strip()]
        if [q.label for q in event.questions] != labels:
            if any(r.answers for r in event.registrations):
                # Answers belong to questions: changing them after people answered would
                # silently attach old answers to new wording.
                raise ValidationError(
                    "questions",
                    _l("People have already answered; the questions can no longer change."),
                )
            event.questions = [
                EventQuestion(position=i, label=label) for i, label in enumerate(labels)
            ]
    event.updated_at = utcnow()
    return changed


def create_event(author: User, data: EventData) -> Event:
    """A new event. Every host must be a chapter the author coordinates (IME: any chapter)."""
    _check(data, author)
    for chapter in data.hosts:
        if not can_host_events_for(author, chapter):
            raise ValidationError(
                "chapters", _l("You can only host events for chapters you coordinate.")
            )
    if data.status == EventStatus.CANCELLED:
        raise ValidationError("status", _l("A new event cannot be cancelled."))
    if to_utc(data.starts_local, data.timezone) <= utcnow():
        raise ValidationError("starts_at", _l("A new event must start in the future."))
    event = Event(created_by_id=author.id, status=data.status, timezone=data.timezone)
    db.session.add(event)
    _apply(event, data)
    db.session.flush()
    return event


def update_event(editor: User, event: Event, data: EventData) -> Event:
    """Edit an event. A host's coordinators may add or remove only chapters they coordinate;
    the other hosts stay. Free seats (a raised capacity) go to the waitlist, in order."""
    if not can_manage_event(editor, event):
        raise ValidationError(None, _l("Only the hosts' coordinators can edit this event."))
    _check(data, editor)
    before = {c.id for c in event.hosts}
    after = {c.id for c in data.hosts}
    for chapter in [*data.hosts, *event.hosts]:
        if (chapter.id in before) != (chapter.id in after) and not can_host_events_for(
            editor, chapter
        ):
            raise ValidationError(
                "chapters", _l("You can only add or remove chapters you coordinate.")
            )
    if event.is_cancelled and data.status != EventStatus.CANCELLED:
        raise ValidationError("status", _l("A cancelled event cannot be reopened."))
    changed = _apply(event, data)
    if data.status == EventStatus.CANCELLED and not event.is_cancelled:
        cancel_event(event)
        return event
    if data.status == EventStatus.DRAFT and event.is_published and _active_count(event):
        raise ValidationError(
            "status", _l("People have registered; cancel the event instead of unpublishing it.")
        )
    event.status = data.status
    if changed:
        event.sequence += 1
    db.session.flush()
    # Every edit of an upcoming event fills the seats that are free (a raised or removed
    # capacity; seats freed before promotion followed every path), in queue order.
    if event.is_published and event.starts_at > utcnow():
        promote_waitlist(event)
    return event


def cancel_event(event: Event) -> None:
    """Cancel: registration closes and everybody registered or waiting is told."""
    event.status = EventStatus.CANCELLED
    event.cancelled_at = utcnow()
    event.sequence += 1
    for registration in event.registrations:
        if registration.is_active:
            _notify(registration, "event_cancelled", _l("Cancelled: %(title)s", title=event.title))
    db.session.flush()


# ---------------------------------------------------------------- registration


def registration_closed_reason(event: Event, now: datetime | None = None) -> str | None:
    """Why registration is closed now, or None when it is open."""
    now = now or utcnow()
    if event.is_cancelled:
        return str(_l("This event has been cancelled."))
    if not event.is_published:
        return str(_l("This event is not published yet."))
    if now >= event.starts_at:
        return str(_l("Registration is closed: the event has started."))
    if event.registration_closes_at and now >= event.registration_closes_at:
        return str(_l("Registration is closed."))
    if event.registration_opens_at and now < event.registration_opens_at:
        return str(_l("Registration has not opened yet."))
    return None


def _lock_seats(event: Event) -> int:
    """Take the event's seat lock for this transaction; returns the decision's queue number."""
    version = db.session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(seat_version=Event.seat_version + 1)
        .returning(Event.seat_version),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    # What was read before the lock (status, capacity, closing time) may have changed since.
    db.session.refresh(event)
    return int(version)


def _confirmed_count(event: Event) -> int:
    return (
        db.session.scalar(
            select(func.count(Registration.id)).where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        )
        or 0
    )


def _active_count(event: Event) -> int:
    return (
        db.session.scalar(
            select(func.count(Registration.id)).where(
                Registration.event_id == event.id,
                Registration.status != RegistrationStatus.CANCELLED,
            )
        )
        or 0
    )


def register(user: User, event: Event, answers: dict[int, str] | None = None) -> Registration:
    """Confirm a seat if one is free, else join the waitlist. Answers to the event's questions
    are stored only with a confirmed seat; for someone waiting they are dropped unread."""
    if not is_member_account(user):
        raise Conflict(None, _l("Only member accounts can register for events."))
    reason = registration_closed_reason(event)
    if reason:
        raise Conflict(None, reason)
    queue_number = _lock_seats(event)
    reason = registration_closed_reason(event)
    if reason:
        raise Conflict(None, reason)
    registration = db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.user_id == user.id
        )
    )
    if registration is not None and registration.is_active:
        raise Conflict(None, _l("You are already registered for this event."))
    seat_free = event.capacity is None or _confirmed_count(event) < event.capacity
    if registration is None:
        registration = Registration(event_id=event.id, user_id=user.id)
        db.session.add(registration)
    now = utcnow()
    registration.queue_number = queue_number
    registration.registered_at = now
    registration.cancelled_at = registration.promoted_at = registration.attended_at = None
    registration.reminder_sent_at = None
    registration.answers = []
    if seat_free:
        registration.status = RegistrationStatus.CONFIRMED
        registration.confirmed_at = now
        _store_answers(registration, event, answers or {})
    else:
        registration.status = RegistrationStatus.WAITLISTED
        registration.confirmed_at = None
    db.session.flush()
    return registration


def cancel_registration(user: User, event: Event) -> Registration | None:
    """Give up a seat or a place in the queue; returns whoever was promoted into the seat."""
    _lock_seats(event)
    registration = db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.user_id == user.id
        )
    )
    if registration is None or not registration.is_active:
        raise Conflict(None, _l("You are not registered for this event."))
    if event.starts_at <= utcnow():
        raise Conflict(None, _l("The event has already started."))
    promoted = _release(registration, event)
    return promoted[0] if promoted else None


def _release(registration: Registration, event: Event) -> list[Registration]:
    """Cancel a registration under the event's seat lock (the caller took it) and give a
    confirmed seat to the head of the waitlist: the one way a seat is freed."""
    was_confirmed = registration.is_confirmed
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = utcnow()
    registration.answers = []  # nothing kept about someone who is not coming
    db.session.flush()
    if was_confirmed and event.is_published:
        return promote_waitlist(event, locked=True)
    return []


def withdraw_from_events(user: User) -> list[Registration]:
    """Take someone out of every upcoming event, as when IME suspends the account or the person
    deletes it: each seat they held goes to that event's waitlist in queue order, with the usual
    e-mail, instead of to whoever registers next. They are not written to (the suspension notice
    says what happened; a deleted account has no address left). Returns who was promoted."""
    event_ids = db.session.scalars(
        select(Registration.event_id)
        .join(Event)
        .where(
            Registration.user_id == user.id,
            Registration.status != RegistrationStatus.CANCELLED,
            Event.status != EventStatus.CANCELLED,
            Event.starts_at > utcnow(),
        )
        .order_by(Registration.event_id)  # one lock order for every caller
    ).all()
    promoted: list[Registration] = []
    for event_id in event_ids:
        event = db.session.get_one(Event, event_id)
        _lock_seats(event)
        registration = db.session.scalar(
            select(Registration).where(
                Registration.event_id == event_id, Registration.user_id == user.id
            )
        )
        if registration is not None and registration.is_active:
            promoted += _release(registration, event)
    return promoted


@account_suspended.connect
@member_deleted.connect
def _withdraw_leaving_person(user: User, **_: Any) -> None:
    """A suspended account, or one being deleted, gives up its upcoming seats (to the waitlists,
    before the database would drop the registrations and leave the seats to whoever registers
    next). Safe to run twice: a cancelled registration is not released again."""
    withdraw_from_events(user)


@concept_merged.connect
def _move_topics(source: Concept, *, target: Concept, **_: Any) -> dict[str, int]:
    """Events about the merged concept are about the surviving one (listed once); run before
    the source's row goes, and a no-op when no event holds it any more. Says how many events it
    moved, for the merge's audit entry."""
    events = db.session.scalars(
        select(Event)
        .where(Event.topics.any(Concept.id == source.id))
        .options(selectinload(Event.topics))
    ).all()
    for event in events:
        swap_concept(event.topics, source, target)
    return {"events": len(events)}


def promote_waitlist(event: Event, *, locked: bool = False) -> list[Registration]:
    """Fill free seats from the head of the waitlist, in queue order, and tell each person."""
    if not locked:
        _lock_seats(event)
    waiting = list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.WAITLISTED,
            )
            .order_by(Registration.queue_number, Registration.id)
        )
    )
    free = len(waiting) if event.capacity is None else event.capacity - _confirmed_count(event)
    promoted = waiting[: max(free, 0)]
    now = utcnow()
    for registration in promoted:
        registration.status = RegistrationStatus.CONFIRMED
        registration.confirmed_at = registration.promoted_at = now
        _notify(registration, "event_promoted", _l("You have a seat: %(title)s", title=event.title))
    db.session.flush()
    return promoted


def waitlist_position(registration: Registration) -> int | None:
    """1 for the head of the queue; None when not waiting."""
    if not registration.is_waitlisted:
        return None
    ahead = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITLISTED,
            Registration.queue_number < registration.queue_number,
        )
    )
    return (ahead or 0) + 1


def _store_answers(registration: Registration, event: Event, answers: dict[int, str]) -> None:
    by_id = {q.id: q for q in event.questions}
    if registration.answers:
        # Delete the old answers first: the unit of work inserts before it deletes orphans,
        # which broke the unique (registration, question) when answers were changed.
        registration.answers = []
        db.session.flush()
    registration.answers = [
        RegistrationAnswer(question_id=qid, answer=text.strip()[:500])
        for qid, text in sorted(answers.items())
        if qid in by_id and text and text.strip()
    ]


def save_answers(registration: Registration, answers: dict[int, str]) -> None:
    """Answer (or change answers to) the event's questions: only with a confirmed seat."""
    if not registration.is_confirmed:
        raise Conflict(None, _l("The organisers' questions are asked once you have a seat."))
    _store_answers(registration, registration.event, answers)
    db.session.flush()


def check_in(event: Event, code: str) -> Registration:
    """Mark attended by the short code the member shows at the door."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    registration = db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.checkin_code == cleaned
        )
    )
    if registration is None or not registration.is_confirmed:
        raise ValidationError("code", _l("No confirmed attendee has this code."))
    mark_attended(registration, True)
    return registration


def mark_attended(registration: Registration, attended: bool) -> None:
    if attended and not registration.is_confirmed:
        raise ValidationError(None, _l("Only confirmed attendees can be checked in."))
    registration.attended_at = utcnow() if attended else None
    db.session.flush()


# ---------------------------------------------------------------- notices and feeds


def _notify(registration: Registration, template: str, subject: Any) -> None:
    user = registration.user
    queue_email(
        user.email,
        subject,
        template,
        locale=user.preferred_language,
        kind=template,
        user=user,
        event=registration.event,
        link=external_url("events.detail", event_id=registration.event_id),
    )


def send_reminders(now: datetime | None = None) -> int:
    """Queue one reminder per confirmed attendee of events starting within 24 hours."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Registration)
        .join(Event)
        .where(
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at > now,
            Event.starts_at <= now + REMINDER_WINDOW,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.reminder_sent_at.is_(None),
        )
    ).all()
    for registration in due:
        _notify(
            registration,
            "event_reminder",
            _l("Tomorrow: %(title)s", title=registration.event.title),
        )
        registration.reminder_sent_at = now
    db.session.flush()
    return len(due)


def feed_token(user: User) -> str:
    """The secret token of the member's personal calendar feed, made on first use."""
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token=secrets.token_urlsafe(32))
        db.session.add(feed)
        db.session.flush()
    return feed.token


def revoke_feed(user: User) -> str:
    """Replace the feed's address: calendars subscribed to the old one stop receiving events."""
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    if feed is None:
        return feed_token(user)
    feed.token = secrets.token_urlsafe(32)
    feed.created_at = utcnow()
    db.session.flush()
    return feed.token
