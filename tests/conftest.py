"""Shared fixtures: a fresh app and database per test, factories, log-in, and a real-mail guard."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, text

from chapters.models import Chapter, ChapterMembership, ChapterRole, MembershipStatus, Region
from network import create_app
from network.auth.models import User
from network.auth.services import hash_password
from network.config import TestConfig
from network.db import utcnow
from network.extensions import db, limiter
from network.organisations.models import Organisation, OrganisationKind
from network.outbox import OutboxMessage
from network.security import Role

PASSWORD = "una contraseña larga 2026"


def _reset_database(app: Flask) -> None:
    """An empty database with the models' schema.

    On PostgreSQL the tables of the previous test are emptied (one TRUNCATE, ids restarted) when
    they are all there, instead of dropped and made again: that costs a third of a second per
    test, which was a third of the PostgreSQL job. A test that dropped them (the migration test,
    apps of their own) leaves the next one to make them again."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql" and _emptied(app):
            return
        db.drop_all()
        # Left behind by the migration test on PostgreSQL.
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()


def _emptied(app: Flask) -> bool:
    from sqlalchemy.exc import ProgrammingError

    from network.pagecache import PageGeneration

    names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    try:
        with db.engine.begin() as connection:
            if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar():
                return False
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            # What `create_all` inserts with the table (an `after_create` hook).
            connection.execute(PageGeneration.__table__.insert().values(id=1, generation=0))
    except ProgrammingError:  # some table is missing: make them all again
        return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "whoosh: tests the Whoosh index's own machinery, so it runs on Whoosh whatever "
        "SEARCH_BACKEND the run chose (the search contract itself runs on both backends)",
    )


class WhooshTestConfig(TestConfig):
    SEARCH_BACKEND = "whoosh"


def app_for(config: type) -> Iterator[Flask]:
    """An app on an empty database, dropped afterwards: for fixtures of their own config."""
    app = create_app(config)
    _reset_database(app)
    limiter.reset()
    yield app
    app.extensions["search_index"].close()
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name != "postgresql":  # PostgreSQL's are emptied by the next test
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    whoosh = request.node.get_closest_marker("whoosh") is not None
    yield from app_for(WhooshTestConfig if whoosh else TestConfig)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def _no_real_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach a mail server."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to send real e-mail")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", refuse)


def _saved(app: Flask, obj: Any) -> Any:
    """Commit, then detach with attributes loaded, so tests can read them outside a context."""
    with app.app_context():
        db.session.add(obj)
        db.session.commit()
        db.session.refresh(obj)
        db.session.expunge(obj)
    return obj


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(**overrides: Any) -> User:
        n = next(counter)
        password = overrides.pop("password", PASSWORD)
        fields: dict[str, Any] = {
            "email": f"persona{n}@ejemplo.mx",
            "full_name": f"Persona Número {n}",
            "role": Role.MEMBER,
            "preferred_language": "es",
            "email_confirmed_at": utcnow(),
        }
        fields.update(overrides)
        with app.app_context():
            fields["password_hash"] = hash_password(password)
        return _saved(app, User(**fields))

    return make


@pytest.fixture
def make_region(app: Flask) -> Callable[..., Region]:
    def make(**overrides: Any) -> Region:
        fields = {"slug": "europe", "name_es": "Europa", "name_en": "Europe", "position": 3}
        fields.update(overrides)
        return _saved(app, Region(**fields))

    return make


@pytest.fixture
def make_chapter(app: Flask, make_region: Callable[..., Region]) -> Callable[..., Chapter]:
    regions: dict[str, Region] = {}

    def make(**overrides: Any) -> Chapter:
        region_slug = overrides.pop("region_slug", "europe")
        if region_slug not in regions:
            regions[region_slug] = make_region(slug=region_slug)
        fields = {
            "slug": "madrid",
            "name": "Madrid",
            "country": "ES",
            "city": "Madrid",
            "timezone": "Europe/Madrid",
            "founded_year": 2008,
            "description": "Capítulo de **Madrid**.",
            "region_id": regions[region_slug].id,
        }
        fields.update(overrides)
        return _saved(app, Chapter(**fields))

    return make


@pytest.fixture
def add_membership(app: Flask) -> Callable[..., ChapterMembership]:
    def add(
        user: User,
        chapter: Chapter,
        status: MembershipStatus = MembershipStatus.APPROVED,
        role: ChapterRole = ChapterRole.MEMBER,
    ) -> ChapterMembership:
        return _saved(
            app,
            ChapterMembership(user_id=user.id, chapter_id=chapter.id, status=status, role=role),
        )

    return add


@pytest.fixture
def network(
    app: Flask,
    make_user: Callable[..., User],
    make_chapter: Callable[..., Chapter],
    add_membership: Callable[..., ChapterMembership],
) -> SimpleNamespace:
    """Two chapters and one account of each role the access rules distinguish."""
    madrid = make_chapter()
    paris = make_chapter(
        slug="paris", name="París", country="FR", city="París", timezone="Europe/Paris"
    )
    organisation = _saved(
        app,
        Organisation(
            slug="secihti",
            name="Secretaría de Ciencia",
            kind=OrganisationKind.MINISTRY,
            verified_at=utcnow(),
        ),
    )
    member = make_user(full_name="Ana López Núñez", email="ana@ejemplo.mx")
    coordinator = make_user(full_name="Jorge Peña", email="jorge@ejemplo.mx")
    other_coordinator = make_user(full_name="Lucía Fernández", email="lucia@ejemplo.mx")
    org_user = make_user(
        full_name="Mariana Ibáñez",
        email="mariana@secihti.gob.mx",
        role=Role.ORGANISATION,
        organisation_id=organisation.id,
    )
    ime = make_user(full_name="Sofía Martínez", email="sofia@ime.gob.mx", role=Role.IME)
    add_membership(coordinator, madrid, role=ChapterRole.COORDINATOR)
    add_membership(other_coordinator, paris, role=ChapterRole.COORDINATOR)
    return SimpleNamespace(
        madrid=madrid,
        paris=paris,
        organisation=organisation,
        member=member,
        coordinator=coordinator,
        other_coordinator=other_coordinator,
        org_user=org_user,
        ime=ime,
    )


def login(client: FlaskClient, user: User | None) -> FlaskClient:
    """Sign in through the session, as Flask-Login would after a successful log-in."""
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


@pytest.fixture
def outbox(app: Flask) -> Callable[[], list[OutboxMessage]]:
    """The outbox rows, oldest first."""

    def read() -> list[OutboxMessage]:
        with app.app_context():
            rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
            for row in rows:
                db.session.expunge(row)
            return rows

    return read


def link_in(body: str) -> str:
    """The first link of an e-mail body, as a path the test client can open."""
    match = re.search(r"https?://[^/\s]+(/\S+)", body)
    assert match, f"no link in {body!r}"
    return match.group(1)


@pytest.fixture
def count_queries(app: Flask):
    """Count SQL statements run inside the `with` block, to guard list pages against N+1."""

    class Counter:
        def __init__(self) -> None:
            self.count = 0

        def __enter__(self) -> Counter:
            with app.app_context():
                self.engine = db.engine
            event.listen(self.engine, "before_cursor_execute", self._count)
            return self

        def _count(self, *args: Any) -> None:
            self.count += 1

        def __exit__(self, *exc: object) -> None:
            event.remove(self.engine, "before_cursor_execute", self._count)

    return Counter


@pytest.fixture
def vocabulary(app: Flask) -> dict[str, int]:
    """A small bilingual vocabulary (the shipped one has hundreds of concepts)."""
    from network.members.models import Concept, Sector
    from network.members.vocabulary import search_text_for

    with app.app_context():
        water = Sector(slug="water", label_es="Agua", label_en="Water")
        energy = Sector(slug="energy", label_es="Energía", label_en="Energy")
        db.session.add_all([water, energy])
        db.session.flush()
        rows = [
            ("hydrology", water, "Hidrología", "Hydrology", "", "watershed science"),
            (
                "water-treatment",
                water,
                "Tratamiento de agua",
                "Water treatment",
                "potabilización",
                "water purification",
            ),
            (
                "solar-photovoltaics",
                energy,
                "Energía solar fotovoltaica",
                "Solar photovoltaics",
                "energía solar;paneles solares",
                "solar energy;photovoltaics;solar PV",
            ),
            ("wind-power", energy, "Energía eólica", "Wind power", "eólica", "wind energy"),
        ]
        ids = {}
        for slug, sector, es, en, syn_es, syn_en in rows:
            concept = Concept(
                slug=slug,
                sector_id=sector.id,
                label_es=es,
                label_en=en,
                synonyms_es=syn_es,
                synonyms_en=syn_en,
            )
            concept.search_text = search_text_for(concept)
            db.session.add(concept)
            db.session.flush()
            ids[slug] = concept.id
        db.session.commit()
        return ids


@pytest.fixture
def make_member(app: Flask, make_user: Callable[..., User]) -> Callable[..., User]:
    """A member with a profile built through the same service the form uses."""
    from network.members.profile_input import parse_profile
    from network.members.services import update_profile

    def make(profile: dict[str, Any] | None = None, **user_fields: Any) -> User:
        user = make_user(**user_fields)
        with app.test_request_context():
            db.session.add(user)
            update_profile(user, parse_profile(profile or {}))
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return make


def bearer(app: Flask, user: User) -> dict[str, str]:
    """An Authorization header with a new API token of `user`, made by the account page's
    service (tests of the API need a token, not the page that creates it)."""
    from network.auth.services import create_api_token

    with app.test_request_context():
        _row, plain = create_api_token(db.session.get(User, user.id), "tests")
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}
