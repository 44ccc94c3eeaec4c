"""Never over-booked: 50 people press "Register" at the same moment for a 10-seat event.

Runs against a file database (SQLite in WAL mode, or PostgreSQL under `make test-postgres`), with
each request in its own thread, app context and database connection, as under a threaded server.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import select

from chapters.models import Chapter, Region
from network import create_app
from network.auth.models import User
from network.config import TestConfig
from network.db import utcnow
from network.events import services
from network.events.models import (
    Event,
    EventFormat,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationStatus,
)
from network.events.services import waitlist_position
from network.extensions import db
from tests.conftest import login
from tests.events.conftest import local_in

PEOPLE = 50
SEATS = 10


def test_fifty_simultaneous_registrations_fill_ten_seats_exactly(tmp_path: Path) -> None:
    class ConcurrentConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = os.environ.get(
            "TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'concurrent.sqlite3'}"
        )
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "max_overflow": 45, "pool_timeout": 60}

    app = create_app(ConcurrentConfig)
    try:
        _run(app)
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def _run(app) -> None:
    with app.test_request_context():
        db.drop_all()
        db.create_all()
        region = Region(slug="europe", name_es="Europa", name_en="Europe")
        chapter = Chapter(
            slug="madrid",
            name="Madrid",
            country="ES",
            city="Madrid",
            timezone="Europe/Madrid",
            region=region,
        )
        ime = User(
            email="ime@ime.gob.mx",
            full_name="IME",
            password_hash="x",
            role="ime",
            email_confirmed_at=utcnow(),
        )
        people = [
            User(
                email=f"p{i}@ejemplo.mx",
                full_name=f"Persona {i}",
                password_hash="x",
                email_confirmed_at=utcnow(),
            )
            for i in range(PEOPLE)
        ]
        db.session.add_all([chapter, ime, *people])
        db.session.flush()
        event = services.create_event(
            ime,
            services.EventData(
                title="Taller",
                description="",
                hosts=[chapter],
                starts_local=local_in(5),
                ends_local=local_in(5, 20),
                timezone="Europe/Madrid",
                format=EventFormat.IN_PERSON,
                visibility=EventVisibility.PUBLIC,
                status=EventStatus.PUBLISHED,
                venue="Casa de México",
                capacity=SEATS,
            ),
        )
        db.session.commit()
        event_id, user_ids = event.id, [p.id for p in people]

    start = threading.Barrier(PEOPLE)
    responses: dict[int, int] = {}
    errors: list[BaseException] = []

    def press_register(user_id: int) -> None:
        try:
            client = app.test_client()
            with app.app_context():
                login(client, db.session.get(User, user_id))
            start.wait()
            responses[user_id] = client.post(f"/events/{event_id}/register").status_code
        except BaseException as error:  # reported below, never swallowed
            errors.append(error)

    threads = [threading.Thread(target=press_register, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    # Every request got the normal answer (a redirect back to the event page), none failed.
    assert sorted(set(responses.values())) == [302] and len(responses) == PEOPLE

    with app.app_context():
        rows = list(
            db.session.scalars(
                select(Registration)
                .where(Registration.event_id == event_id)
                .order_by(Registration.queue_number)
            )
        )
        assert len(rows) == PEOPLE and len({r.user_id for r in rows}) == PEOPLE  # no duplicates
        statuses = [r.status for r in rows]
        assert statuses.count(RegistrationStatus.CONFIRMED) == SEATS
        assert statuses.count(RegistrationStatus.WAITLISTED) == PEOPLE - SEATS
        # First come, first served: the first ten decisions got the seats, the rest queue in
        # the order of their decisions, with positions 1..40 and no two people sharing a number.
        assert statuses == [RegistrationStatus.CONFIRMED] * SEATS + [
            RegistrationStatus.WAITLISTED
        ] * (PEOPLE - SEATS)
        assert len({r.queue_number for r in rows}) == PEOPLE
        waiting = [r for r in rows if r.is_waitlisted]
        assert [waitlist_position(r) for r in waiting] == list(range(1, PEOPLE - SEATS + 1))
        assert db.session.get(Event, event_id).seat_version == PEOPLE
