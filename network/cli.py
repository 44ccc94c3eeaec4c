"""`flask demo ...` and the attachment of every domain's command group."""

from __future__ import annotations

import os
import random
import shlex
import sqlite3
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate.cli import db as db_group
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from chapters.cli import cli as chapters_cli
from chapters.models import Chapter, ChapterMembership, ChapterRole, MembershipStatus, Node
from chapters.services import ChapterProposal, add_ccime_term, load_structure, propose_chapter
from network.auth.cli import cli as users_cli
from network.auth.cli import create_confirmed_user
from network.auth.models import User
from network.auth.services import hash_password
from network.cli_errors import handle_errors
from network.dashboard.cli import cli as dashboard_cli
from network.db import db, utcnow
from network.events.cli import cli as events_cli
from network.events.demo import seed_demo_events
from network.members.cli import cli as members_cli
from network.members.cli import vocabulary_cli
from network.members.demo import JOIN_MESSAGES, demo_profile
from network.members.models import Concept, Profile, ProfileLanguage, ProfileMode
from network.members.vocabulary import load_vocabulary
from network.mentoring.models import Mentorship
from network.needs.demo import seed_demo_needs
from network.organisations.cli import cli as organisations_cli
from network.organisations.models import OrganisationKind
from network.organisations.services import create_organisation
from network.security import Role
from network.visibility import PRESET_FIELDS, Tier
from search.cli import cli as search_cli


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str
    name: str
    note: str


DEMO_PASSWORD = "RedGlobal-demo-2026"
DEMO_ACCOUNTS = (
    DemoAccount(
        "member",
        "miembro@demo.redglobal.mx",
        DEMO_PASSWORD,
        "Ximena Núñez Peña",
        "skilled member, Madrid chapter",
    ),
    DemoAccount(
        "coordinator",
        "coordinacion@demo.redglobal.mx",
        DEMO_PASSWORD,
        "José Ángel Gutiérrez",
        "coordinator of Silicon Valley (has join requests)",
    ),
    DemoAccount(
        "organisation",
        "organizacion@demo.redglobal.mx",
        DEMO_PASSWORD,
        "Mariana Ibáñez Solís",
        "user of a verified ministry",
    ),
    DemoAccount(
        "ime", "ime@demo.redglobal.mx", DEMO_PASSWORD, "Sofía Martínez Ortúzar", "IME administrator"
    ),
)

demo_cli = AppGroup("demo", help="Demo data for development and reviews.")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-")).lower()


@demo_cli.command("seed")
@click.option("--members", default=500, show_default=True, type=click.IntRange(0, 200_000))
@click.option("--seed", "seed_value", default=2005, show_default=True, help="Random seed.")
def seed(members: int, seed_value: int) -> None:
    """Seed a demo network if the database is empty (running it again changes nothing)."""

    if not current_app.config.get("DEMO_ALLOWED", True):
        # Production: the demo's accounts share a password written in this file.
        raise click.ClickException("Refusing to seed demo accounts in production.")

    if db.session.scalar(select(func.count(Chapter.id))):
        click.echo("The database already has a network; nothing seeded.")
        return
    counts = seed_demo_network(members=members, seed_value=seed_value)
    db.session.commit()
    click.echo(
        f"Seeded {counts['chapters']} chapters in {counts['countries']} countries, "
        f"{counts['nodes']} nodes, {counts['members']} members, {counts['events']} events."
    )


def seed_demo_network(*, members: int, seed_value: int = 2005) -> dict[str, int]:
    """Deterministic demo data: the real structure, Faker es_MX people, memberships, requests."""
    # Faker is a development dependency (pyproject [dev]): only demo seeding needs it.
    from faker import Faker  # noqa: PLC0415

    created = load_structure(with_chapters=True)
    load_vocabulary()
    chapters = list(db.session.scalars(select(Chapter).order_by(Chapter.id)))
    by_slug = {c.slug: c for c in chapters}

    organisation = create_organisation(
        "secihti",
        "Secretaría de Ciencia, Humanidades, Tecnología e Innovación",
        OrganisationKind.MINISTRY,
        verified=True,
    )
    create_organisation(
        "gobierno-sonora", "Gobierno del Estado de Sonora", OrganisationKind.STATE_GOVERNMENT
    )
    accounts = {}
    for account in DEMO_ACCOUNTS:
        role = {"ime": Role.IME, "organisation": Role.ORGANISATION}.get(account.role, Role.MEMBER)
        user = create_confirmed_user(account.email, account.name, account.password, role)
        if role == Role.ORGANISATION:
            user.organisation = organisation
        accounts[account.role] = user

    def membership(user: User, chapter: Chapter, **kwargs: object) -> None:
        db.session.add(ChapterMembership(user=user, chapter=chapter, **kwargs))

    approved = {"status": MembershipStatus.APPROVED, "decided_at": utcnow()}
    membership(accounts["member"], by_slug["madrid"], **approved)
    membership(
        accounts["coordinator"], by_slug["silicon-valley"], role=ChapterRole.COORDINATOR, **approved
    )

    fake = Faker("es_MX")
    fake.seed_instance(seed_value)
    rng = random.Random(seed_value)
    shared_hash = hash_password(DEMO_PASSWORD)  # one hash: hashing 500 times would take minutes
    # Members joined over the last two and a half years, so the dashboard's growth has a shape;
    # a second generator keeps every other demo choice as it was.
    joined = random.Random(seed_value + 1)
    people = []
    for index in range(members):
        first, last1, last2 = fake.first_name(), fake.last_name(), fake.last_name()
        name = f"{first} {last1} {last2}"
        email = f"{_ascii(first)}.{_ascii(last1)}.{index}@ejemplo.mx"
        user = User(
            email=email,
            full_name=name,
            password_hash=shared_hash,
            preferred_language="es" if rng.random() < 0.7 else "en",
            role=Role.MEMBER,
            email_confirmed_at=utcnow(),
            created_at=utcnow() - timedelta(days=joined.randint(0, 900)),
        )
        people.append(user)
    db.session.add_all(people)
    db.session.flush()

    concepts = list(db.session.scalars(select(Concept).order_by(Concept.id)))
    nodes = list(db.session.scalars(select(Node).order_by(Node.id)))
    modes = ["remote_advice", "mentoring", "short_visit", "teaching", "investment", "research"]
    extra_languages = ["fr", "de", "pt", "it", "zh", "ja"]

    concept_by_slug = {concept.slug: concept for concept in concepts}

    def make_profile(user: User, home: Chapter, **demo: Any) -> Profile:
        # One profession decides headline, position, employer, bio and concepts (members/demo.py).
        state = demo.pop("state", None) or rng.choice(nodes)
        content = demo_profile(
            rng,
            first_name=user.full_name.split()[0],
            city=home.city,
            country=home.country,
            language=user.preferred_language,
            state=state.name,
            **demo,
        )
        values = dict(
            headline=content.headline,
            bio=content.bio,
            country=home.country,
            city=home.city,
            timezone=home.timezone,
            state_of_origin=state,
            position=content.position,
            employer=content.employer,
            days_per_year=rng.choice([2, 5, 10, 15, 20, 30]),
            open_to_mentoring=rng.random() < 0.35,
            mentor_capacity=rng.randint(1, 4),
            open_to_requests=rng.random() < 0.6,
            name_public=rng.random() < 0.25,
            concepts=[concept_by_slug[slug] for slug in content.concept_slugs],
            confirmed_at=utcnow() - timedelta(days=rng.randint(0, 730)),
        )
        # Demo accounts already have an empty profile; fill it rather than replace it.
        profile = user.profile or Profile()
        for key, value in values.items():
            setattr(profile, key, value)
        profile.languages = [
            ProfileLanguage(code="es", level="native", position=0),
            ProfileLanguage(code="en", level=rng.choice(["C2", "C1", "B2"]), position=1),
        ]
        if rng.random() < 0.3:
            profile.languages.append(
                ProfileLanguage(code=rng.choice(extra_languages), level="B1", position=2)
            )
        profile.modes = [ProfileMode(mode=m) for m in rng.sample(modes, k=rng.randint(1, 3))]
        if profile.name_public and rng.random() < 0.5:
            for field in PRESET_FIELDS:
                profile.set_visibility(field, Tier.PUBLIC)
        profile.confirmed_at = max(profile.confirmed_at, user.created_at)
        user.profile = profile
        return profile

    hydrologist = make_profile(
        accounts["member"],
        by_slug["madrid"],
        profession="hydrologist",
        employer="Universidad Complutense de Madrid",
        state=next(n for n in nodes if n.code == "MX-SON"),
    )
    hydrologist.headline = "Hidróloga, Universidad Complutense de Madrid"
    hydrologist.concepts = [c for c in concepts if c.slug in {"hydrology", "water-governance"}]
    hydrologist.open_to_requests = True
    hydrologist.open_to_mentoring, hydrologist.mentor_capacity = True, 2
    make_profile(accounts["coordinator"], by_slug["silicon-valley"])

    coordinators_needed = {c.id: 1 + (c.id % 2) for c in chapters}
    for user in people:
        home = rng.choice(chapters)
        make_profile(user, home)
        chosen = [home]
        if rng.random() < 0.15:
            chosen.append(rng.choice(chapters))
        for chapter in dict.fromkeys(chosen):
            if coordinators_needed.get(chapter.id, 0) > 0 and chapter.slug != "silicon-valley":
                coordinators_needed[chapter.id] -= 1
                membership(user, chapter, role=ChapterRole.COORDINATOR, **approved)
            elif rng.random() < 0.04:
                membership(user, chapter, message=rng.choice(JOIN_MESSAGES))
            else:
                membership(user, chapter, **approved)
    # Pending requests for the demo coordinator to answer.
    for user in people[-3:]:
        if not any(m.chapter_id == by_slug["silicon-valley"].id for m in user.memberships):
            membership(
                user,
                by_slug["silicon-valley"],
                message="Me gustaría colaborar con las mentorías del capítulo.",
            )
    db.session.flush()

    events = seed_demo_events(chapters, people, accounts, rng)

    needs = seed_demo_needs(accounts["organisation"], accounts["member"], people, rng)
    _seed_moderation(accounts, people, by_slug)

    # A mentoring request waiting for the demo member's answer.
    db.session.add(
        Mentorship(
            mentor=accounts["member"],
            mentee=people[0],
            duration_weeks=12,
            goal="Quiero especializarme en modelación hidrológica y preparar un posgrado en Europa.",
        )
    )
    return {
        "events": events,
        "needs": needs,
        "chapters": len(chapters),
        "countries": len({c.country for c in chapters}),
        "nodes": created["nodes"],
        "members": len(people) + 2,
    }


def _seed_moderation(accounts: dict[str, Any], people: list[Any], by_slug: dict[str, Any]) -> None:
    """Something for IME to moderate: a chapter proposal waiting, and the demo coordinator's
    current term as a CCIME representative (shown on the profile and the chapter page)."""

    proposer = people[1]
    propose_chapter(
        proposer,
        ChapterProposal(
            name="Lyon",
            city="Lyon",
            country="FR",
            region=by_slug["paris"].region,
            timezone="Europe/Paris",
            proposal_note="Somos una docena de investigadores mexicanos en Lyon (INSA, CNRS y la "
            "industria farmacéutica) y queremos organizar mentorías y charlas.",
        ),
    )
    today = date.today()
    add_ccime_term(
        accounts["ime"],
        accounts["coordinator"],
        by_slug["silicon-valley"],
        date(today.year - 1, 1, 1),
        date(today.year + 1, 12, 31),
    )


@demo_cli.command("logins")
@with_appcontext
def logins() -> None:
    """Print the demo log-ins that exist in this database, one per role: a database that was
    not seeded (real members, say) must not advertise accounts and a password that do not work."""

    emails = [account.email for account in DEMO_ACCOUNTS]
    present = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    if not present:
        click.echo(
            "No demo accounts in this database: `flask demo seed` makes them in an empty one."
        )
        return
    click.echo(f"\nDemo log-ins (password for all: {DEMO_PASSWORD}):")
    for account in DEMO_ACCOUNTS:
        if account.email in present:
            click.echo(f"  {account.role:<13} {account.email:<34} {account.note}")
    click.echo("")


# Flask-Migrate owns `flask db`; the backup sits beside `flask db upgrade` where a deployer looks.
@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
def backup(path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while the app keeps serving (PostgreSQL: use pg_dump).

    Restore by stopping the app, moving the database and its -wal and -shm files aside and
    copying PATH in their place."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        click.echo(_pg_dump_advice(url, path), err=True)
        # Non-zero: a scheduled job must not mistake "nothing written" for a backup.
        raise SystemExit(1)
    live = _live_database_file(url.database, path)
    if live is not None:
        raise click.ClickException(
            f"{path} is the live database ({live}); write the backup somewhere else."
        )
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to replace it.")
    started = time.perf_counter()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        size = backup_sqlite(path)
    except OSError as error:
        # The temporary file's name in the error would only confuse: name the target.
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from error
    elapsed = time.perf_counter() - started
    click.echo(
        f"Backed up {url.database or 'the in-memory database'} to {path}: "
        f"{size / 1024 / 1024:.1f} MiB in {elapsed:.2f} s"
    )


def _live_database_file(database: str | None, path: Path) -> Path | None:
    """The live database's file (or its -wal, -shm or -journal) that `path` names, if any.

    Replacing it under the running app corrupts what the workers have open (they kept serving
    the old pages, and refused valid API tokens, until restarted). Symlinks, `..` and hard
    links are seen through."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    target = path.resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        live = Path(f"{Path(database).resolve()}{suffix}")
        if target == live or (target.exists() and live.exists() and target.samefile(live)):
            return live
    return None


def backup_sqlite(path: Path) -> int:
    """Write a consistent copy of the app's SQLite database to `path`; return its size in bytes.

    SQLite's backup API reads one snapshot: in WAL mode writers carry on meanwhile and their
    uncommitted work is not copied (copying the file with `cp` could catch a half-written page
    or miss what still sits in the -wal file). The copy goes to a private temporary file beside
    `path` and is renamed into place once checked, so `path` is never a half-written backup."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)  # mkstemp made it 0600: a backup holds the members' personal data
    try:
        target = sqlite3.connect(temporary)
        try:
            with db.engine.connect() as connection:
                source = connection.connection.driver_connection
                assert isinstance(source, sqlite3.Connection)
                source.backup(target)
            # One self-contained file: no -wal beside it to forget when copying it around.
            target.execute("PRAGMA journal_mode=DELETE")
            (verdict,) = target.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise click.ClickException(f"The copy failed SQLite's quick_check: {verdict}")
        finally:
            target.close()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path.stat().st_size


def _pg_dump_advice(url: URL, path: Path) -> str:
    """The pg_dump and pg_restore commands for this database, without its password.

    libpq does not read SQLAlchemy's `+psycopg` driver suffix, so the URL shown is the plain
    `postgresql://` one; the password comes from ~/.pgpass or PGPASSWORD."""
    plain = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    ).render_as_string(hide_password=False)
    target = shlex.quote(str(path))
    return (
        f"flask db backup copies SQLite databases; this one is {url.get_backend_name()}. "
        "Back it up with pg_dump instead (password from ~/.pgpass or PGPASSWORD):\n\n"
        f"  pg_dump --format=custom --file={target} {shlex.quote(plain)}\n\n"
        "or, in bash, from the app's environment:\n\n"
        f'  pg_dump --format=custom --file={target} "${{DATABASE_URL/+psycopg/}}"\n\n'
        "Restore into an empty database with:\n\n"
        f"  pg_restore --no-owner --dbname={shlex.quote(plain)} {target}\n\n"
        "See docs/deploy.md (Backups)."
    )


def register_cli(app: Flask) -> None:

    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(organisations_cli)
    app.cli.add_command(chapters_cli)
    app.cli.add_command(members_cli)
    app.cli.add_command(vocabulary_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(events_cli)
    app.cli.add_command(dashboard_cli)
    # Last: the extensions' groups (Flask-Migrate's `db`, `outbox`) are attached by now.
    handle_errors(app.cli)
