"""Events hosted by one or more chapters (or by IME for the whole network) and registrations."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import db, str_enum, utcnow

if TYPE_CHECKING:
    from chapters.models import Chapter
    from network.auth.models import User
    from network.members.models import Concept


class EventFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class EventVisibility(enum.StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


event_hosts = Table(
    "event_hosts",
    db.metadata,
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("chapter_id", Integer, ForeignKey("chapters.id", ondelete="CASCADE"), primary_key=True),
)

event_topics = Table(
    "event_topics",
    db.metadata,
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("concept_id", Integer, ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True),
)


def _new_uid() -> str:
    return f"{secrets.token_hex(12)}@redglobal.mx"


class Event(db.Model):
    """A talk, workshop or meeting. Times are stored in UTC with the IANA zone they were set in,
    so the local wall-clock time survives daylight-saving changes and zone rule updates."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across edits: calendar programs match updates to the copy they already hold.
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=_new_uid)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="es")
    format: Mapped[EventFormat] = mapped_column(
        str_enum(EventFormat), default=EventFormat.IN_PERSON
    )
    venue: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    # Only for confirmed attendees and hosts; never on public pages, feeds or the API for others.
    online_url: Mapped[str] = mapped_column(String(500), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    capacity: Mapped[int | None]
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    visibility: Mapped[EventVisibility] = mapped_column(
        str_enum(EventVisibility), default=EventVisibility.PUBLIC
    )
    status: Mapped[EventStatus] = mapped_column(
        str_enum(EventStatus), default=EventStatus.DRAFT, index=True
    )
    # Bumped on every change attendees should see, as iCalendar's SEQUENCE asks.
    sequence: Mapped[int] = mapped_column(default=0)
    # Serialises seat decisions: every registration change first writes this row (see services).
    seat_version: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]

    hosts: Mapped[list[Chapter]] = relationship(secondary=event_hosts, order_by="Chapter.name")
    topics: Mapped[list[Concept]] = relationship(secondary=event_topics, order_by="Concept.slug")
    questions: Mapped[list[EventQuestion]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventQuestion.position"
    )
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )
    created_by: Mapped[User | None] = relationship()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(self.zone)

    @property
    def is_published(self) -> bool:
        return self.status == EventStatus.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    @property
    def is_online(self) -> bool:
        return self.format in (EventFormat.ONLINE, EventFormat.HYBRID)

    @property
    def is_in_person(self) -> bool:
        return self.format in (EventFormat.IN_PERSON, EventFormat.HYBRID)

    @property
    def host_ids(self) -> set[int]:
        return {chapter.id for chapter in self.hosts}


class EventQuestion(db.Model):
    """A question asked to people who get a seat (never to those still waiting)."""

    __tablename__ = "event_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(200))

    event: Mapped[Event] = relationship(back_populates="questions")


def _checkin_code() -> str:
    # Unambiguous letters and digits, read aloud at the door.
    alphabet = "ACDEFGHJKLMNPQRTUVWXY34679"
    return "".join(secrets.choice(alphabet) for _ in range(6))


class Registration(db.Model):
    """One person's place at an event: confirmed, waiting (in queue order) or cancelled."""

    __tablename__ = "event_registrations"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(str_enum(RegistrationStatus), index=True)
    # First come, first served: the order in which seat decisions were taken (under the lock).
    queue_number: Mapped[int] = mapped_column(default=0)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    promoted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    attended_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    checkin_code: Mapped[str] = mapped_column(String(8), default=_checkin_code)

    event: Mapped[Event] = relationship(back_populates="registrations")
    user: Mapped[User] = relationship()
    answers: Mapped[list[RegistrationAnswer]] = relationship(
        back_populates="registration", cascade="all, delete-orphan"
    )

    @property
    def is_confirmed(self) -> bool:
        return self.status == RegistrationStatus.CONFIRMED

    @property
    def is_waitlisted(self) -> bool:
        return self.status == RegistrationStatus.WAITLISTED

    @property
    def is_active(self) -> bool:
        return self.status != RegistrationStatus.CANCELLED


class RegistrationAnswer(db.Model):
    """An answer to an event question; exists only for confirmed registrations."""

    __tablename__ = "event_answers"
    __table_args__ = (UniqueConstraint("registration_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("event_questions.id", ondelete="CASCADE"), index=True
    )
    answer: Mapped[str] = mapped_column(String(500), default="")

    registration: Mapped[Registration] = relationship(back_populates="answers")
    question: Mapped[EventQuestion] = relationship()


class CalendarFeed(db.Model):
    """The secret address of a member's personal calendar feed; revoking replaces the token."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
