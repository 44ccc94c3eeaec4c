"""Read side of events: what a viewer may list, seat counts, attendee lists, feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from chapters.models import Chapter, Region
from network.auth.models import User
from network.db import db, month_key, utcnow, year_month
from network.events.models import (
    CalendarFeed,
    Event,
    EventFormat,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationStatus,
    event_hosts,
    event_topics,
)
from network.members.models import Concept
from network.security import is_ime_admin, is_member_account


def _eager(query: Select) -> Select:
    return query.options(
        selectinload(Event.hosts).selectinload(Chapter.region),
        selectinload(Event.topics),
    )


def visible_events(viewer: Any) -> Select:
    """Events a viewer may see in lists: published or cancelled, members-only ones for members
    and IME, and drafts of the chapters the viewer coordinates (every draft for IME)."""
    query = select(Event)
    listed = Event.status.in_([EventStatus.PUBLISHED, EventStatus.CANCELLED])
    if is_ime_admin(viewer):
        return query
    if is_member_account(viewer):
        hosted = getattr(viewer, "coordinated_chapter_ids", set())
        drafts = Event.id.in_(
            select(event_hosts.c.event_id).where(event_hosts.c.chapter_id.in_(hosted))
        )
        return query.where(or_(listed, drafts) if hosted else listed)
    return query.where(listed, Event.visibility == EventVisibility.PUBLIC)


def get_event(event_id: int) -> Event:
    return db.get_or_404(Event, event_id, description=_l("No such event."))


@dataclass(frozen=True)
class EventFilters:
    region: str = ""
    country: str = ""
    chapter: str = ""
    format: str = ""
    topic: str = ""
    language: str = ""
    when: str = "upcoming"  # or "past"

    @property
    def active(self) -> bool:
        return any(
            [self.region, self.country, self.chapter, self.format, self.topic, self.language]
        )


def list_events(
    viewer: Any, filters: EventFilters, page: int, per_page: int, now: datetime | None = None
) -> Pagination:
    """Network-wide list: upcoming soonest first (or past, latest first), drafts excluded."""
    now = now or utcnow()
    query = visible_events(viewer).where(Event.status != EventStatus.DRAFT)
    if filters.when == "past":
        query = query.where(Event.ends_at < now).order_by(Event.starts_at.desc())
    else:
        query = query.where(Event.ends_at >= now).order_by(Event.starts_at)
    if filters.chapter or filters.region:
        hosts = select(event_hosts.c.event_id).join(Chapter, Chapter.id == event_hosts.c.chapter_id)
        if filters.chapter:
            hosts = hosts.where(Chapter.slug == filters.chapter)
        if filters.region:
            hosts = hosts.join(Region).where(Region.slug == filters.region)
        query = query.where(Event.id.in_(hosts))
    if filters.country:
        query = query.where(Event.country == filters.country)
    if filters.format in set(EventFormat):
        query = query.where(Event.format == filters.format)
    if filters.language:
        query = query.where(Event.language == filters.language)
    if filters.topic:
        query = query.where(
            Event.id.in_(
                select(event_topics.c.event_id)
                .join(Concept, Concept.id == event_topics.c.concept_id)
                .where(Concept.slug == filters.topic)
            )
        )
    return db.paginate(_eager(query), page=page, per_page=per_page, error_out=False)


def list_chapter_events(
    chapter: Chapter, viewer: Any, *, past: bool = False, limit: int = 20
) -> list[Event]:
    """A chapter's events (as host or co-host) that the viewer may see."""
    now = utcnow()
    query = visible_events(viewer).where(
        Event.id.in_(select(event_hosts.c.event_id).where(event_hosts.c.chapter_id == chapter.id))
    )
    if past:
        query = query.where(Event.ends_at < now).order_by(Event.starts_at.desc())
    else:
        query = query.where(Event.ends_at >= now).order_by(Event.starts_at)
    return list(db.session.scalars(_eager(query).limit(limit)))


def list_feed_events(chapter: Chapter) -> list[Event]:
    """The chapter's public subscription feed: published and cancelled public events, a year
    back and everything ahead (cancelled ones stay so calendars can remove them)."""
    since = utcnow().replace(year=utcnow().year - 1)
    query = select(Event).where(
        Event.id.in_(select(event_hosts.c.event_id).where(event_hosts.c.chapter_id == chapter.id)),
        Event.status.in_([EventStatus.PUBLISHED, EventStatus.CANCELLED]),
        Event.visibility == EventVisibility.PUBLIC,
        Event.ends_at >= since,
    )
    return list(db.session.scalars(_eager(query).order_by(Event.starts_at)))


def get_registration(user: Any, event: Event) -> Registration | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.user_id == user.id
        )
    )


@dataclass(frozen=True)
class SeatCounts:
    confirmed: int
    waitlisted: int
    capacity: int | None

    @property
    def free(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.confirmed, 0)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.confirmed >= self.capacity


def count_seats(event: Event) -> SeatCounts:
    row = db.session.execute(
        select(
            func.count(case((Registration.status == RegistrationStatus.CONFIRMED, 1))),
            func.count(case((Registration.status == RegistrationStatus.WAITLISTED, 1))),
        ).where(Registration.event_id == event.id)
    ).one()
    return SeatCounts(row[0], row[1], event.capacity)


def list_attendees(event: Event) -> list[Registration]:
    """Everyone who registered: confirmed first, then the waitlist in order, then cancelled."""
    order = case(
        (Registration.status == RegistrationStatus.CONFIRMED, 0),
        (Registration.status == RegistrationStatus.WAITLISTED, 1),
        else_=2,
    )
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id)
            .options(
                selectinload(Registration.user).selectinload(User.profile),
                selectinload(Registration.answers),
            )
            .order_by(order, Registration.queue_number)
        )
    )


def list_my_registrations(user: Any, *, include_past: bool = True) -> list[Registration]:
    """The member's registrations that still matter (not cancelled), soonest first."""
    query = (
        select(Registration)
        .join(Event)
        .where(Registration.user_id == user.id, Registration.status != RegistrationStatus.CANCELLED)
        .options(selectinload(Registration.event).selectinload(Event.hosts))
        .order_by(Event.starts_at)
    )
    if not include_past:
        query = query.where(Event.ends_at >= utcnow())
    return list(db.session.scalars(query))


def get_feed_owner(token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(CalendarFeed.token == token)
    )


def get_feed_token(user: Any) -> str | None:
    return db.session.scalar(select(CalendarFeed.token).where(CalendarFeed.user_id == user.id))


def list_personal_feed(user: User) -> list[Registration]:
    """Registrations for the personal feed, cancelled events included so calendars drop them."""
    return list(
        db.session.scalars(
            select(Registration)
            .join(Event)
            .where(
                Registration.user_id == user.id,
                Registration.status != RegistrationStatus.CANCELLED,
                Event.status != EventStatus.DRAFT,
            )
            .options(selectinload(Registration.event).selectinload(Event.hosts))
            .order_by(Event.starts_at)
        )
    )


def filter_choices() -> dict[str, list[Any]]:
    """What the list's filters offer: only values some listed event has."""
    topics = db.session.scalars(
        select(Concept)
        .where(Concept.id.in_(select(event_topics.c.concept_id)))
        .order_by(Concept.slug)
    ).all()
    countries = db.session.scalars(
        select(Event.country).where(Event.country.is_not(None)).distinct()
    ).all()
    languages = db.session.scalars(select(Event.language).distinct()).all()
    return {"topics": list(topics), "countries": sorted(countries), "languages": sorted(languages)}


def count_events_held() -> int:
    """Published events that have already ended."""
    return (
        db.session.scalar(
            select(func.count(Event.id)).where(
                Event.status == EventStatus.PUBLISHED, Event.ends_at < utcnow()
            )
        )
        or 0
    )


def _held_in_scope(since: datetime | None, chapter_id: int | None) -> list[Any]:
    """Published events that have started, since `since`, hosted by one chapter when given."""
    clauses: list[Any] = [Event.status == EventStatus.PUBLISHED, Event.starts_at <= utcnow()]
    if since is not None:
        clauses.append(Event.starts_at >= since)
    if chapter_id is not None:
        clauses.append(
            Event.id.in_(
                select(event_hosts.c.event_id).where(event_hosts.c.chapter_id == chapter_id)
            )
        )
    return clauses


def count_events_by_month(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> dict[str, int]:
    """Published events by the month they started in (UTC), up to now."""
    year, month = year_month(Event.starts_at)
    rows = db.session.execute(
        select(year, month, func.count(Event.id))
        .where(*_held_in_scope(since, chapter_id))
        .group_by(year, month)
    )
    return {month_key(y, m): n for y, m, n in rows}


@dataclass(frozen=True)
class ChapterActivity:
    chapter: Chapter
    events: int
    registrations: int  # confirmed seats (cancelled ones and the waitlist left out)
    attended: int
    promotions: int  # seats given from the waitlist

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.registrations if self.registrations else None


def chapter_activity(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> list[ChapterActivity]:
    """Per hosting chapter, for events that have started: events, confirmed registrations,
    check-ins and waitlist promotions. An event hosted by two chapters counts for both."""
    scope = _held_in_scope(since, chapter_id)
    events = dict(
        db.session.execute(
            select(event_hosts.c.chapter_id, func.count(Event.id))
            .join(Event, Event.id == event_hosts.c.event_id)
            .where(*scope)
            .group_by(event_hosts.c.chapter_id)
        ).all()
    )
    confirmed = Registration.status == RegistrationStatus.CONFIRMED
    seats = {
        chapter: (registrations, attended, promotions)
        for chapter, registrations, attended, promotions in db.session.execute(
            select(
                event_hosts.c.chapter_id,
                func.count(case((confirmed, 1))),
                func.count(case((and_(confirmed, Registration.attended_at.is_not(None)), 1))),
                func.count(case((Registration.promoted_at.is_not(None), 1))),
            )
            .join(Event, Event.id == event_hosts.c.event_id)
            .join(Registration, Registration.event_id == Event.id)
            .where(*scope)
            .group_by(event_hosts.c.chapter_id)
        )
    }
    chapters = db.session.scalars(
        select(Chapter).where(Chapter.id.in_(list(events))).order_by(Chapter.name)
    )
    return [ChapterActivity(c, events[c.id], *seats.get(c.id, (0, 0, 0))) for c in chapters]
