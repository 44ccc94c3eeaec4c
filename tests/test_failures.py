"""Failures in production, as a user would notice them: the search index's directory turns
unwritable, the mail server refuses, SQLite is locked for a moment, a worker is killed during an
RSVP. Each test breaks one thing for real (or as close to real as a test can), then checks that
pages keep answering, nothing committed is lost or half-written, and the work left over is
finished by the next write or the periodic command.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import smtplib
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from whoosh.filedb.filestore import FileStorage

from chapters.models import Chapter
from network.auth.models import User
from network.config import ROOT, TestConfig
from network.events import services
from network.events.models import (
    Event,
    EventFormat,
    EventQuestion,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationAnswer,
    RegistrationStatus,
)
from network.extensions import db
from network.members.models import Profile
from network.outbox import OutboxMessage
from search.models import SearchPending
from tests.conftest import PASSWORD, app_for, link_in, login
from tests.events.conftest import local_in

# ---------------------------------------------------------------- 1. unwritable search index

# What the member changes on the profile form: every visibility select, shown to members.
PROFILE_FORM = {
    "full_name": "Ana López Núñez",
    "headline": "Vulcanóloga en el Instituto de Geofísica",
    "bio": "",
    "country": "MX",
    "city": "",
    "timezone": "",
    "state_of_origin": "",
    "languages": "es:native",
    "position": "",
    "employer": "",
    "expertise": "",
    "days_per_year": "",
    "mentor_capacity": "",
    "phone": "",
    "website": "",
    "linkedin": "",
    "orcid": "",
    **{
        f"{f}_visibility": "members"
        for f in (
            "email",
            "phone",
            "headline",
            "bio",
            "country",
            "city",
            "state_of_origin",
            "timezone",
            "languages",
            "position",
            "education",
            "links",
            "expertise",
            "modes",
            "days_per_year",
            "mentoring",
            "open_to_requests",
            "chapters",
        )
    },
}


@contextmanager
def _unwritable(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The directory turns read-only (a full or remounted disk, a permissions change): files in
    it can still be read, but creating, renaming or removing an entry fails with EACCES, as the
    kernel would answer. Tests run as root, whom `chmod` does not stop, so Whoosh's storage is
    made to answer as the kernel would for anyone else."""
    root = str(directory.resolve())

    def refuse(method: Callable[..., Any], name_arg: bool) -> Callable[..., Any]:
        def guarded(self: FileStorage, *args: Any, **kwargs: Any) -> Any:
            folder = os.path.abspath(self.folder)
            if folder == root or folder.startswith(root + os.sep):
                path = os.path.join(folder, args[0]) if name_arg and args else folder
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
            return method(self, *args, **kwargs)

        return guarded

    with monkeypatch.context() as patch:
        patch.setattr(FileStorage, "create", refuse(FileStorage.create, name_arg=False))
        for name in ("create_file", "rename_file", "delete_file"):
            patch.setattr(FileStorage, name, refuse(getattr(FileStorage, name), name_arg=True))
        yield


class TestSearchIndexDirectoryUnwritable:
    """A file-backed index (tests otherwise use RAM) whose directory turns read-only mid-run."""

    @pytest.fixture
    def index_dir(self, tmp_path: Path) -> Path:
        return tmp_path / "search_index"

    @pytest.fixture
    def app(self, index_dir: Path) -> Iterator[Flask]:
        class FileIndexConfig(TestConfig):
            SEARCH_BACKEND = "whoosh"
            SEARCH_STORAGE = "file"
            SEARCH_INDEX_DIR = str(index_dir)

        yield from app_for(FileIndexConfig)

    @pytest.fixture
    def ana(self, make_member: Callable[..., User]) -> User:
        return make_member(
            {"headline": "Ingeniera de datos", "headline_visibility": "members", "country": "MX"},
            full_name="Ana López Núñez",
        )

    @staticmethod
    def _found(client: FlaskClient, words: str, ana: User) -> bool:
        page = client.get("/search", query_string={"q": words})
        assert page.status_code == 200
        return f'href="/members/{ana.id}"' in page.get_data(as_text=True)

    def test_pages_answer_and_the_edit_is_kept_while_the_index_is_read_only(
        self, app: Flask, ana: User, index_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        client = login(app.test_client(), ana)
        assert self._found(client, "ingeniera", ana)

        with _unwritable(index_dir, monkeypatch):
            saved = client.post("/members/me/edit", data=PROFILE_FORM, follow_redirects=True)
            assert saved.status_code == 200
            page = saved.get_data(as_text=True)
            assert "Se guardó tu perfil." in page
            assert "Vulcanóloga en el Instituto de Geofísica" in page

            # Every page still answers; search shows what it had (the old headline).
            assert client.get(f"/members/{ana.id}").status_code == 200
            directory = client.get("/members")
            assert directory.status_code == 200
            assert "Ana López Núñez" in directory.get_data(as_text=True)
            assert self._found(client, "ingeniera", ana)
            assert not self._found(client, "vulcanologa", ana)

            health = client.get("/healthz")
            assert health.status_code == 200
            body = health.get_json()
            assert body["status"] == "degraded"
            assert body["checks"]["search_pending"]["status"] == "degraded"
            assert body["checks"]["search_pending"]["pending"] == 1
            assert body["checks"]["search_index"]["status"] == "ok"  # still readable

        with app.app_context():
            profile = db.session.scalar(select(Profile).where(Profile.user_id == ana.id))
            assert profile.headline == "Vulcanóloga en el Instituto de Geofísica"
            [pending] = db.session.scalars(select(SearchPending)).all()
            assert pending.key == f"member:{ana.id}"
            assert pending.attempts == 1 and "PermissionError" in pending.last_error

    # Whoosh's writer fails while creating its segment holding the write lock; the index
    # releases it itself (`WhooshBackend.write`), so a recovered directory takes writes again.
    @pytest.mark.parametrize("recovery", ["next write", "flask search reindex --pending"])
    def test_once_writable_again_the_kept_edit_reaches_search(
        self,
        app: Flask,
        ana: User,
        make_member: Callable[..., User],
        index_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
        recovery: str,
    ) -> None:
        luis = make_member({"headline": "Hidrólogo"}, full_name="Luis Pérez")
        client = login(app.test_client(), ana)
        with _unwritable(index_dir, monkeypatch):
            assert client.post("/members/me/edit", data=PROFILE_FORM).status_code == 302
        assert client.get("/healthz").get_json()["status"] == "degraded"
        # A failed write must not leave Whoosh's write lock held: every later write (this
        # process's, and cron's `reindex --pending`) would wait for it 8 times 2 s and give up.
        lock = app.extensions["search_index"].index.lock("WRITELOCK")
        assert lock.acquire(), "the failed index write left the index locked"
        lock.release()

        if recovery == "next write":
            other = login(app.test_client(), luis)
            edit = {**PROFILE_FORM, "full_name": "Luis Pérez", "headline": "Hidrólogo urbano"}
            assert other.post("/members/me/edit", data=edit).status_code == 302
        else:
            result = app.test_cli_runner().invoke(args=["search", "reindex", "--pending"])
            assert result.exit_code == 0, result.output
            assert "1 pending changes applied" in result.output

        assert self._found(client, "vulcanologa", ana)
        assert not self._found(client, "ingeniera", ana)  # replaced, not added
        with app.app_context():
            assert db.session.scalars(select(SearchPending)).all() == []
        assert client.get("/healthz").get_json()["status"] == "ok"


# ---------------------------------------------------------------- 2. the mail server refuses


class FakeMailServer:
    """Stands in for `smtplib.SMTP`: fails the way `failure` says, as smtplib would report it
    (the connection refused, a 550 to RCPT TO, the connection dropped mid-dialogue), or, with
    no failure, accepts each message and keeps it as delivered."""

    def __init__(self) -> None:
        self.failure: str | None = None
        self.delivered: list[EmailMessage] = []

    def __call__(self, host: str, port: int, timeout: float | None = None) -> FakeMailServer:
        if self.failure == "connection refused":
            raise ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED))
        return self

    def __enter__(self) -> FakeMailServer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send_message(self, message: EmailMessage) -> dict[str, Any]:
        if self.failure == "recipients refused":
            raise smtplib.SMTPRecipientsRefused(
                {message["To"]: (550, b"5.1.1 Mailbox unavailable")}
            )
        if self.failure == "server disconnected":
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        self.delivered.append(message)
        return {}


def _register(client: FlaskClient) -> tuple[str, str]:
    form = {
        "full_name": "Ximena Núñez Peña",
        "email": "ximena@ejemplo.mx",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "language": "es",
    }
    page = client.post("/register", data=form)
    assert page.status_code == 200
    return "ximena@ejemplo.mx", page.get_data(as_text=True)


@pytest.mark.parametrize(
    "failure", ["connection refused", "recipients refused", "server disconnected"]
)
@pytest.mark.parametrize("action", ["registration", "password reset"])
def test_refused_mail_is_kept_and_delivered_exactly_once_later(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Callable[[], list[OutboxMessage]],
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
    action: str,
) -> None:
    server = FakeMailServer()
    server.failure = failure
    monkeypatch.setattr(smtplib, "SMTP", server)
    app.config.update(MAIL_SENDER="smtp", MAIL_SERVER="smtp.example.org", MAIL_PORT=587)

    # The user's action succeeds as if the mail had gone.
    if action == "registration":
        recipient, page = _register(client)
        assert "Revisa tu correo electrónico" in page
    else:
        recipient = make_user(email="ana@ejemplo.mx").email
        answer = client.post("/reset", data={"email": recipient}, follow_redirects=True)
        assert answer.status_code == 200
        assert "le enviamos un enlace para elegir una nueva contraseña" in answer.get_data(
            as_text=True
        )

    # The message is kept, unsent, with the attempt and its error recorded.
    [message] = outbox()
    assert message.recipient == recipient
    assert message.sent_at is None and message.attempts == 1
    assert message.last_error.startswith(
        {
            "connection refused": "ConnectionRefusedError",
            "recipients refused": "SMTPRecipientsRefused",
            "server disconnected": "SMTPServerDisconnected",
        }[failure]
    )
    assert server.delivered == []
    runner = app.test_cli_runner()
    status = runner.invoke(args=["outbox", "status"])
    assert "1 unsent" in status.output and "1 attempts" in status.output

    # The periodic job respects the back-off; once the server works, --force delivers it once.
    server.failure = None
    waiting = runner.invoke(args=["outbox", "send"])
    assert waiting.exit_code == 0 and "sent 0, failed 0" in waiting.output
    assert server.delivered == []
    sent = runner.invoke(args=["outbox", "send", "--force"])
    assert sent.exit_code == 0 and "sent 1, failed 0" in sent.output
    again = runner.invoke(args=["outbox", "send", "--force"])
    assert again.exit_code == 0 and "sent 0, failed 0" in again.output

    [delivered] = server.delivered
    assert delivered["To"] == recipient and delivered["Subject"] == message.subject
    [message] = outbox()
    assert message.sent_at is not None and message.attempts == 2 and message.last_error is None

    # And the link in it works: what the user came for happens.
    link = link_in(delivered.get_content())
    if action == "registration":
        confirmed = client.get(link, follow_redirects=True)
        assert "tu correo electrónico quedó confirmado" in confirmed.get_data(as_text=True)
    else:
        new_password = "otra contraseña larga 2027"
        changed = client.post(
            link,
            data={"password": new_password, "password_confirm": new_password},
            follow_redirects=True,
        )
        assert "Se cambió tu contraseña" in changed.get_data(as_text=True)


# ---------------------------------------------------------------- shared by 3 and 4


def _database_app(url: str) -> Iterator[Flask]:
    """An app of its own on `url` (a file, so a second connection or process can share it)."""

    class FileDatabaseConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        SEARCH_BACKEND = "whoosh"

    yield from app_for(FileDatabaseConfig)


def _create_event(app: Flask, network: Any, capacity: int, questions: list[str]) -> int:
    """A published in-person event of the Madrid chapter, made as its coordinator."""
    with app.test_request_context():
        data = services.EventData(
            title="Agua y ciudades",
            description="",
            hosts=[db.session.get(Chapter, network.madrid.id)],
            starts_local=local_in(10),
            ends_local=local_in(10, 20),
            timezone="Europe/Madrid",
            format=EventFormat.IN_PERSON,
            visibility=EventVisibility.PUBLIC,
            status=EventStatus.PUBLISHED,
            venue="Casa de México",
            capacity=capacity,
            questions=questions,
        )
        event = services.create_event(db.session.get(User, network.coordinator.id), data)
        db.session.commit()
        return event.id


def _seats(app: Flask, event_id: int) -> dict[str, Any]:
    """What the event's page counts from: registrations by status, answers, the seat lock."""
    with app.app_context():
        statuses = db.session.scalars(
            select(Registration.status).where(Registration.event_id == event_id)
        ).all()
        return {
            "confirmed": statuses.count(RegistrationStatus.CONFIRMED),
            "waitlisted": statuses.count(RegistrationStatus.WAITLISTED),
            "answers": len(db.session.scalars(select(RegistrationAnswer.id)).all()),
            "seat_version": db.session.get(Event, event_id).seat_version,
        }


def _registration_of(app: Flask, event_id: int, user: User) -> Registration | None:
    with app.app_context():
        row = db.session.scalar(
            select(Registration).where(
                Registration.event_id == event_id, Registration.user_id == user.id
            )
        )
        if row is not None:
            db.session.expunge(row)
        return row


# ---------------------------------------------------------------- 3. SQLite locked for a moment


class _LockHolder(threading.Thread):
    """Another connection (a cron job, another worker) in a write transaction: it takes the
    write lock with BEGIN IMMEDIATE, writes, and commits after `seconds`."""

    def __init__(self, path: Path, user_id: int, seconds: float) -> None:
        super().__init__()
        self.path, self.user_id, self.seconds = path, user_id, seconds
        self.locked = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute(
                    "UPDATE users SET full_name = full_name || '' WHERE id = ?", (self.user_id,)
                )
                self.locked.set()
                time.sleep(self.seconds)
                connection.execute("COMMIT")
            finally:
                connection.close()
        except BaseException as error:  # reported by the test
            self.errors.append(error)
            self.locked.set()


class TestDatabaseLockedForAMoment:
    """SQLite on a file (WAL, busy_timeout) on both CI jobs: the lock is SQLite's own."""

    @pytest.fixture
    def database(self, tmp_path: Path) -> Path:
        return tmp_path / "locked.sqlite3"

    @pytest.fixture
    def app(self, database: Path) -> Iterator[Flask]:
        yield from _database_app(f"sqlite:///{database}")

    @pytest.mark.parametrize("action", ["rsvp", "profile save"])
    def test_a_write_waits_for_the_lock_and_succeeds(
        self, app: Flask, network: Any, database: Path, action: str
    ) -> None:
        event_id = _create_event(app, network, capacity=10, questions=[])
        client = login(app.test_client(), network.member)
        holder = _LockHolder(database, network.coordinator.id, seconds=1.0)
        holder.start()
        assert holder.locked.wait(timeout=5)
        assert holder.errors == []

        started = time.monotonic()
        if action == "rsvp":
            response = client.post(f"/events/{event_id}/register")
        else:
            form = {**PROFILE_FORM, "full_name": network.member.full_name}
            response = client.post("/members/me/edit", data=form)
        waited = time.monotonic() - started
        holder.join(timeout=10)

        assert holder.errors == []
        assert "database is locked" not in response.get_data(as_text=True)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert 0.8 <= waited < 5, "the request waited for the other transaction, then went on"
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        if action == "rsvp":
            assert "Quedaste inscrito. ¡Nos vemos allí!" in page
            registration = _registration_of(app, event_id, network.member)
            assert registration is not None
            assert registration.status == RegistrationStatus.CONFIRMED
        else:
            assert "Se guardó tu perfil." in page
            assert "Vulcanóloga en el Instituto de Geofísica" in page


# ---------------------------------------------------------------- 4. a worker killed during an RSVP

KILLED_WORKER = Path(__file__).parent / "data" / "rsvp_killed_worker.py"
DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


class TestWorkerKilledDuringAnRSVP:
    """A worker process SIGKILLed inside the RSVP transaction (the OOM killer, a deploy that
    does not wait, gunicorn's timeout): on SQLite, and on PostgreSQL in its CI job."""

    @pytest.fixture(params=DATABASES)
    def database_url(self, request: pytest.FixtureRequest, tmp_path: Path) -> str:
        if request.param == "postgresql":
            return os.environ["TEST_DATABASE_URL"]
        return f"sqlite:///{tmp_path / 'killed.sqlite3'}"

    @pytest.fixture
    def app(self, database_url: str) -> Iterator[Flask]:
        yield from _database_app(database_url)

    def test_no_half_registration_is_left_and_the_member_can_rsvp_again(
        self, app: Flask, network: Any, make_user: Callable[..., User], database_url: str
    ) -> None:
        questions = ["¿Qué tema te interesa?", "¿Vienes con alguien?"]
        event_id = _create_event(app, network, capacity=2, questions=questions)
        earlier = make_user(full_name="Asistente Previa")
        first = login(app.test_client(), earlier).post(f"/events/{event_id}/register")
        assert first.status_code == 302
        with app.app_context():
            question_ids = db.session.scalars(
                select(EventQuestion.id)
                .where(EventQuestion.event_id == event_id)
                .order_by(EventQuestion.position)
            ).all()
        form = {
            f"question-{qid}": text for qid, text in zip(question_ids, ["Agua", "Sí"], strict=True)
        }
        before = _seats(app, event_id)
        assert before["confirmed"] == 1 and before["waitlisted"] == 0 and before["answers"] == 0

        worker = subprocess.run(
            [
                sys.executable,
                str(KILLED_WORKER),
                database_url,
                str(event_id),
                network.member.get_id(),
                json.dumps(form),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert worker.returncode == -signal.SIGKILL, worker.stderr[-2000:]
        # It died with the rows written inside its transaction, not before.
        assert "written: 1 registration, 2 answers" in worker.stdout, worker.stderr[-2000:]
        assert _registration_of(app, event_id, network.member) is None
        assert _seats(app, event_id) == before

        client = login(app.test_client(), network.member)
        page = client.post(f"/events/{event_id}/register", data=form, follow_redirects=True)
        assert page.status_code == 200
        assert "Quedaste inscrito. ¡Nos vemos allí!" in page.get_data(as_text=True)
        registration = _registration_of(app, event_id, network.member)
        assert registration is not None and registration.status == RegistrationStatus.CONFIRMED
        after = _seats(app, event_id)
        assert after["confirmed"] == 2 and after["waitlisted"] == 0 and after["answers"] == 2
