"""Demo events for `flask demo seed`: upcoming and past events for a dozen chapters, one full
event with a waitlist for the demo coordinator, and the demo member registered for one."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from chapters.models import Chapter
from network.auth.models import User
from network.db import db, utcnow
from network.events.models import (
    Event,
    EventFormat,
    EventQuestion,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationStatus,
)
from network.events.services import to_utc
from network.members.models import Concept

TITLES = [
    ("Agua y ciudades: lo que aprendimos de {city}", "es", ["hydrology", "water-governance"]),
    ("Mentoría abierta: tu carrera en {city}", "es", []),
    ("Inteligencia artificial aplicada a la salud", "es", ["machine-learning"]),
    ("Networking night: Mexican founders in {city}", "en", []),
    ("Energía solar para comunidades rurales de México", "es", ["solar-photovoltaics"]),
    ("Workshop: writing a research grant with Mexican partners", "en", []),
    ("Semiconductores: la oportunidad del nearshoring", "es", []),
    ("Café de bienvenida para recién llegados", "es", []),
]


def _local(day: datetime, hour: int) -> datetime:
    return day.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=None)


def seed_demo_events(
    chapters: list[Chapter], people: list[User], accounts: dict[str, User], rng: random.Random
) -> int:
    concepts = {c.slug: c for c in db.session.query(Concept)}
    today = utcnow()
    count = 0
    by_slug = {c.slug: c for c in chapters}
    hosts_list = [by_slug[s] for s in ("silicon-valley", "madrid", "montreal") if s in by_slug]
    hosts_list += rng.sample(chapters, k=min(9, len(chapters)))
    for chapter in dict.fromkeys(hosts_list):
        for offset in (-40, rng.randint(5, 20), rng.randint(25, 60)):
            title, language, topic_slugs = rng.choice(TITLES)
            day = today + timedelta(days=offset)
            fmt = rng.choice(
                [
                    EventFormat.IN_PERSON,
                    EventFormat.IN_PERSON,
                    EventFormat.ONLINE,
                    EventFormat.HYBRID,
                ]
            )
            event = _event(
                chapter,
                title.format(city=chapter.city),
                language,
                fmt,
                day,
                capacity=rng.choice([None, 20, 40, 80]),
            )
            event.topics = [concepts[s] for s in topic_slugs if s in concepts]
            attendees = rng.sample(people, k=min(len(people), rng.randint(3, 15)))
            _register(event, attendees)
            count += 1
    # The demo coordinator's showcase: a small hybrid workshop, full, with a waitlist.
    valley = by_slug.get("silicon-valley")
    if valley is not None:
        event = _event(
            valley,
            "Taller: del laboratorio a la startup",
            "es",
            EventFormat.HYBRID,
            today + timedelta(days=9),
            capacity=6,
        )
        event.questions = [EventQuestion(position=0, label="¿Alguna necesidad alimentaria?")]
        _register(event, [accounts["member"], *rng.sample(people, k=min(len(people), 8))])
        count += 1
    db.session.flush()
    return count


def _event(
    chapter: Chapter,
    title: str,
    language: str,
    fmt: EventFormat,
    day: datetime,
    capacity: int | None,
) -> Event:
    start = _local(day, 18 if fmt != EventFormat.ONLINE else 17)
    online = fmt != EventFormat.IN_PERSON
    event = Event(
        title=title,
        description=(
            f"Encuentro del capítulo **{chapter.name}**.\n\n"
            "- Presentación de 20 minutos\n- Preguntas y conversación\n- Convivencia"
        ),
        language=language,
        format=fmt,
        venue="" if fmt == EventFormat.ONLINE else f"Consulado de México en {chapter.city}",
        address="" if fmt == EventFormat.ONLINE else f"Centro, {chapter.city}",
        city=chapter.city,
        country=chapter.country,
        online_url=f"https://meet.example.org/redglobal-{chapter.slug}-{day:%m%d}"
        if online
        else "",
        timezone=chapter.timezone,
        starts_at=to_utc(start, chapter.timezone),
        ends_at=to_utc(start + timedelta(hours=2), chapter.timezone),
        capacity=capacity,
        visibility=EventVisibility.PUBLIC,
        status=EventStatus.PUBLISHED,
    )
    event.hosts = [chapter]
    db.session.add(event)
    db.session.flush()
    return event


def _register(event: Event, people: list[Any]) -> None:
    confirmed = 0
    for number, user in enumerate(people, start=1):
        seat = event.capacity is None or confirmed < event.capacity
        confirmed += seat
        db.session.add(
            Registration(
                event=event,
                user_id=user.id,
                queue_number=number,
                status=RegistrationStatus.CONFIRMED if seat else RegistrationStatus.WAITLISTED,
                confirmed_at=utcnow() if seat else None,
                attended_at=event.ends_at if seat and event.ends_at < utcnow() else None,
            )
        )
    event.seat_version = len(people)
