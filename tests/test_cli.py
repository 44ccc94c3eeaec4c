"""The stable command line: demo seed, users, organisations, tokens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from chapters.models import Chapter, ChapterMembership, ChapterRole, MembershipStatus, Node, Region
from network.auth.models import User
from network.extensions import db
from network.security import Role


def test_demo_seed_builds_a_realistic_network_once(app, runner):
    result = runner.invoke(args=["demo", "seed", "--members", "40"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Region.id))) == 4
        assert db.session.scalar(select(func.count(Chapter.id))) >= 45
        assert db.session.scalar(select(func.count(func.distinct(Chapter.country)))) >= 22
        assert db.session.scalar(select(func.count(Node.id))) == 32
        names = db.session.scalars(select(User.full_name)).all()
        assert len(names) == 44  # 40 members and one account per role
        assert any(re.search(r"[áéíóúñÁÉÍÓÚÑ]", name) for name in names)
        roles = db.session.scalars(select(User.role)).all()
        assert {Role.MEMBER, Role.ORGANISATION, Role.IME} <= set(roles)
        coordinators = db.session.scalar(
            select(func.count(ChapterMembership.id)).where(
                ChapterMembership.role == ChapterRole.COORDINATOR
            )
        )
        assert coordinators >= 1
        pending = db.session.scalar(
            select(func.count(ChapterMembership.id)).where(
                ChapterMembership.status == MembershipStatus.PENDING
            )
        )
        assert pending >= 1
        # Every side of the needs and mentoring flows has something to try.
        from network.mentoring.models import Mentorship
        from network.needs.models import ContactRequest, ContactStatus, Need, NeedStatus

        statuses = db.session.scalars(select(Need.status)).all()
        assert statuses.count(NeedStatus.OPEN) >= 3 and NeedStatus.DRAFT in statuses
        demo_member = db.session.scalar(
            select(User).where(User.email == "miembro@demo.redglobal.mx")
        )
        waiting = db.session.scalars(
            select(ContactRequest.status).where(ContactRequest.member_id == demo_member.id)
        ).all()
        assert waiting == [ContactStatus.PENDING]
        assert (
            db.session.scalar(
                select(Mentorship.status).where(Mentorship.mentor_id == demo_member.id)
            )
            == "pending"
        )
        # IME has something to moderate and the dashboard something to draw.
        from chapters.models import CcimeTerm, ChapterStatus

        proposals = db.session.scalars(
            select(Chapter.name).where(Chapter.status == ChapterStatus.PROPOSED)
        ).all()
        assert proposals == ["Lyon"]
        assert db.session.scalar(select(func.count(CcimeTerm.id))) == 1
        assert db.session.scalar(select(func.count(func.distinct(Need.sector_id)))) >= 8
        months = {u.created_at.strftime("%Y-%m") for u in db.session.scalars(select(User))}
        assert len(months) >= 6  # members joined over many months
    again = runner.invoke(args=["demo", "seed", "--members", "40"])
    assert again.exit_code == 0 and "nothing seeded" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 44


def test_demo_seed_is_deterministic(app, runner):
    runner.invoke(args=["demo", "seed", "--members", "5"])
    with app.app_context():
        first = db.session.scalars(select(User.full_name).order_by(User.id)).all()
    from network.cli import seed_demo_network

    with app.app_context():
        db.drop_all()
        db.create_all()
        seed_demo_network(members=5)
        db.session.commit()
        assert db.session.scalars(select(User.full_name).order_by(User.id)).all() == first


def test_demo_logins_name_only_accounts_that_exist(runner):
    output = runner.invoke(args=["demo", "logins"]).output
    assert "@demo.redglobal.mx" not in output and "RedGlobal-demo" not in output
    assert "No demo accounts in this database" in output


def test_demo_logins_print_one_account_per_role(runner):
    assert runner.invoke(args=["demo", "seed", "--members", "5"]).exit_code == 0
    output = runner.invoke(args=["demo", "logins"]).output
    for role in ("member", "coordinator", "organisation", "ime"):
        assert re.search(rf"^\s+{role}\s+\S+@", output, re.M), role


def test_users_and_organisations_commands(app, runner):
    result = runner.invoke(
        args=[
            "organisations",
            "create",
            "sonora",
            "--name",
            "Gobierno de Sonora",
            "--kind",
            "state_government",
            "--verified",
        ]
    )
    assert result.exit_code == 0 and "verified" in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Laura@Sonora.gob.mx",
            "--name",
            "Laura Díaz",
            "--password",
            "una clave bastante larga",
            "--organisation",
            "sonora",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "admin@ime.gob.mx",
            "--name",
            "Admin IME",
            "--password",
            "otra clave bastante larga",
            "--role",
            "ime",
        ]
    )
    assert result.exit_code == 0
    with app.app_context():
        laura = db.session.scalar(select(User).where(User.email == "laura@sonora.gob.mx"))
        assert laura.role == Role.ORGANISATION and laura.organisation.is_verified
        assert laura.is_confirmed

    duplicate = runner.invoke(
        args=["users", "create", "laura@sonora.gob.mx", "--name", "X", "--password", "x" * 3]
    )
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    weak = runner.invoke(args=["users", "create", "n@x.mx", "--name", "N", "--password", "corta"])
    assert weak.exit_code != 0
    bad_kind = runner.invoke(args=["organisations", "create", "x", "--name", "X", "--kind", "club"])
    assert bad_kind.exit_code != 0


def test_users_token_prints_a_working_token_per_account(app, runner, make_user):
    make_user(email="a@ejemplo.mx")
    make_user(email="b@ejemplo.mx")
    result = runner.invoke(args=["users", "token", "a@ejemplo.mx", "b@ejemplo.mx"])
    assert result.exit_code == 0
    lines = [line.split() for line in result.output.strip().splitlines()]
    assert [email for email, _ in lines] == ["a@ejemplo.mx", "b@ejemplo.mx"]
    client = app.test_client()
    for email, token in lines:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert me["email"] == email
    assert runner.invoke(args=["users", "token", "nadie@x.mx"]).exit_code != 0


def test_demo_seed_refuses_production(app, runner):
    app.config["DEMO_ALLOWED"] = False  # what ProductionConfig says
    result = runner.invoke(args=["demo", "seed", "--members", "5"])
    assert result.exit_code != 0 and "production" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def _one_error_line(result) -> str:
    """A handled command-line error: exit status 1, one `Error: ...` line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_export_into_a_missing_folder_is_one_line(app, runner, tmp_path):
    target = tmp_path / "missing" / "members.csv"
    line = _one_error_line(runner.invoke(args=["members", "export", str(target)]))
    assert line == f"Error: {target}: No such file or directory"


def test_a_database_without_tables_says_to_upgrade(tmp_path):
    from network import create_app
    from network.config import TestConfig

    class Empty(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'new.sqlite3'}"
        # A file SQLite database, so Whoosh even in the PostgreSQL job (its backend needs PostgreSQL).
        SEARCH_BACKEND = "whoosh"

    app = create_app(Empty)
    try:
        line = _one_error_line(app.test_cli_runner().invoke(args=["events", "send-reminders"]))
    finally:
        with app.app_context():
            db.engine.dispose()
    assert line.startswith("Error: the database cannot be used: no such table: ")
    assert line.endswith("(run `flask --app wsgi db upgrade` first)")


def test_a_bad_organisation_slug_is_refused_in_one_line(app, runner):
    args = ["organisations", "create", "Bad Slug!", "--name", "Mala", "--kind", "ngo"]
    line = _one_error_line(runner.invoke(args=args))
    assert "lowercase letters, digits and single hyphens" in line and "“bad-slug”" in line
    with app.app_context():
        from network.organisations.models import Organisation

        assert db.session.scalar(select(func.count(Organisation.id))) == 0


def test_a_weak_password_is_one_line_naming_the_field(runner):
    line = _one_error_line(
        runner.invoke(args=["users", "create", "n@x.mx", "--name", "N", "--password", "corta"])
    )
    assert line.startswith("Error: password: ")


def test_a_bug_keeps_its_traceback(app, runner, monkeypatch):
    """Only expected errors are turned into one line; a programming error must stay visible."""
    monkeypatch.setattr(
        "network.events.services.send_reminders", lambda: {}["no such key"], raising=True
    )
    result = runner.invoke(args=["events", "send-reminders"])
    assert isinstance(result.exception, KeyError)


def test_a_setting_that_is_not_a_number_is_one_clear_line(monkeypatch):
    """Read at start: a traceback from int() named neither the setting nor what it wants."""
    from network.config import ConfigurationError, _env_number

    monkeypatch.setenv("MAIL_PORT", "abc")
    with pytest.raises(ConfigurationError) as refused:
        _env_number("MAIL_PORT", "25")
    assert refused.value.message == "MAIL_PORT must be a whole number, not 'abc'."
    monkeypatch.setenv("MAIL_PORT", "587")
    assert _env_number("MAIL_PORT", "25") == 587


def test_the_development_base_url_follows_the_served_port():
    """Links in e-mails from periodic jobs reach the server `make run PORT=...` started."""
    from network.config import default_base_url

    assert default_base_url({}) == "http://127.0.0.1:5000"
    assert default_base_url({"PORT": "5123"}) == "http://127.0.0.1:5123"
    assert default_base_url({"FLASK_RUN_PORT": "8001"}) == "http://127.0.0.1:8001"
    assert default_base_url({"PORT": "5123", "FLASK_RUN_PORT": "8001"}) == "http://127.0.0.1:5123"
