"""A verified water agency in Sonora, an open need for hydrology, and experts to rank."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from chapters.models import Node
from network.auth.models import User
from network.extensions import db
from network.members.models import Concept, Sector
from network.needs.models import NeedStatus
from network.needs.services import NeedData, post_need
from tests.conftest import _saved

EXPERT = {
    "open_to_requests": "yes",
    "open_to_requests_visibility": "organisations",
    "expertise_visibility": "organisations",
    "languages": "es:native; en:C1",
    "modes": "remote_advice; short_visit",
    "days_per_year": "30",
    "timezone": "America/Hermosillo",
    "timezone_visibility": "organisations",
    "phone": "+52 662 555 0101",
}


@pytest.fixture
def sonora(app: Flask) -> Node:
    return _saved(
        app,
        Node(
            code="MX-SON",
            inegi_code="26",
            name="Sonora",
            capital="Hermosillo",
            timezone="America/Hermosillo",
        ),
    )


@pytest.fixture
def make_expert(make_member: Callable[..., User]) -> Callable[..., User]:
    """A member open to requests from organisations; `profile` overrides the defaults."""

    def make(profile: dict[str, Any] | None = None, **user_fields: Any) -> User:
        return make_member({**EXPERT, **(profile or {})}, **user_fields)

    return make


@pytest.fixture
def make_need(app: Flask, vocabulary: dict[str, int]) -> Callable[..., int]:
    """Post a need through the service as `author`; returns its id."""

    def make(author: User, **overrides: Any) -> int:
        with app.test_request_context():
            concepts = {c.slug: c for c in db.session.scalars(select(Concept))}
            fields: dict[str, Any] = {
                "title": "Modelo hidrológico de la cuenca del río Sonora",
                "description": "Necesitamos **asesoría** para el modelo de la cuenca.",
                "sector": db.session.scalar(select(Sector).where(Sector.slug == "water")),
                "required": [concepts["hydrology"], concepts["water-treatment"]],
                "nice": [concepts["solar-photovoltaics"]],
                "languages": ["es"],
                "modes": ["remote_advice"],
                "effort_days": 20,
                "node": db.session.scalar(select(Node).where(Node.code == "MX-SON")),
                "status": NeedStatus.OPEN,
            }
            for key in ("required", "nice"):
                if key in overrides:
                    overrides[key] = [concepts[slug] for slug in overrides[key]]
            fields.update(overrides)
            need = post_need(db.session.merge(author), NeedData(**fields))
            db.session.commit()
            return need.id

    return make


@pytest.fixture
def world(
    network: SimpleNamespace,
    sonora: Node,
    make_need: Callable[..., int],
    make_expert: Callable[..., User],
) -> SimpleNamespace:
    """The `network` accounts plus an open need of the verified organisation and two experts:
    Elena covers both required concepts (one through a Spanish free tag), Marco only one."""
    need_id = make_need(network.org_user)
    elena = make_expert(
        {"expertise": "hydrology; potabilización", "state_of_origin": "MX-SON"},
        full_name="Elena Ruiz Castro",
        email="elena@ejemplo.mx",
    )
    marco = make_expert(
        {"expertise": "hydrology", "languages": "en:native"},
        full_name="Marco Díaz",
        email="marco@ejemplo.mx",
    )
    return SimpleNamespace(**vars(network), need_id=need_id, elena=elena, marco=marco)
