"""Event fixtures: an event factory going through the same service the form uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from chapters.models import Chapter
from network.auth.models import User
from network.db import utcnow
from network.events import services
from network.events.models import Event, EventFormat, EventStatus, EventVisibility
from network.extensions import db


def local_in(days: float, hour: int = 18) -> datetime:
    """A naive wall-clock time `days` from now, at `hour` o'clock."""
    return (utcnow() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0, tzinfo=None
    )


@pytest.fixture
def make_event(app: Flask, network: Any) -> Callable[..., Event]:
    """Create an event as `author` (default: the Madrid coordinator), published by default."""

    def make(
        author: User | None = None, hosts: list[Chapter] | None = None, **fields: Any
    ) -> Event:
        with app.test_request_context():
            author_row = db.session.get(User, (author or network.coordinator).id)
            host_rows = [db.session.get(Chapter, c.id) for c in (hosts or [network.madrid])]
            values: dict[str, Any] = {
                "title": "Agua y ciudades",
                "description": "Una charla sobre **hidrología** urbana.",
                "hosts": host_rows,
                "starts_local": local_in(10),
                "ends_local": local_in(10, 20),
                "timezone": "Europe/Madrid",
                "format": EventFormat.HYBRID,
                "visibility": EventVisibility.PUBLIC,
                "status": EventStatus.PUBLISHED,
                "venue": "Casa de México",
                "address": "Calle Alcalá 21",
                "online_url": "https://meet.example.org/secreto-agua",
                "capacity": 10,
            }
            values.update(fields)
            event = services.create_event(author_row, services.EventData(**values))
            db.session.commit()
            db.session.refresh(event)
            event_id = event.id
            db.session.expunge_all()
        with app.app_context():
            event = db.session.get(Event, event_id)
            db.session.expunge(event)
        return event

    return make


@pytest.fixture
def make_members(make_user: Callable[..., User]) -> Callable[[int], list[User]]:
    def make(count: int) -> list[User]:
        return [make_user(full_name=f"Asistente {i:02d}") for i in range(count)]

    return make
