"""The outbox: mail leaves only after the commit, survives a failing sender and is retried."""

from __future__ import annotations

import ssl
from datetime import timedelta

from network.db import utcnow
from network.extensions import db
from network.outbox import MemorySender, OutboxMessage, SMTPSender, queue_email, send_pending


def _queue(app, commit: bool = True) -> None:
    with app.test_request_context():
        queue_email(
            "ana@ejemplo.mx",
            "Asunto",
            "email_changed",
            locale="es",
            user=type("U", (), {"full_name": "Ana"})(),
            new_email="a@b.mx",
        )
        if commit:
            db.session.commit()
        else:
            db.session.rollback()


def test_sent_after_commit(app, outbox):
    _queue(app)
    assert app.extensions["sent_mail"][0]["to"] == "ana@ejemplo.mx"
    assert outbox()[0].sent_at is not None


def test_rollback_sends_nothing(app, outbox):
    _queue(app, commit=False)
    assert outbox() == []
    assert app.extensions.get("sent_mail", []) == []


def test_failed_delivery_is_kept_and_retried(app, outbox, runner, monkeypatch):
    def broken(self, message):
        raise ConnectionRefusedError("SMTP server refused")

    monkeypatch.setattr(MemorySender, "send", broken)
    _queue(app)
    [message] = outbox()
    assert message.sent_at is None
    assert message.attempts == 1 and "refused" in message.last_error

    status = runner.invoke(args=["outbox", "status"])
    assert "1 unsent" in status.output
    monkeypatch.undo()
    result = runner.invoke(args=["outbox", "send", "--force"])
    assert result.exit_code == 0 and "sent 1, failed 0" in result.output
    assert outbox()[0].sent_at is not None


def test_backoff_waits_before_retrying(app, outbox, monkeypatch):
    monkeypatch.setattr(MemorySender, "send", lambda self, m: (_ for _ in ()).throw(OSError("x")))
    _queue(app)
    monkeypatch.undo()
    with app.app_context():
        assert send_pending() == (0, 0), "still inside its back-off"
        assert send_pending(force=True) == (1, 0)


def test_smtp_over_tls_checks_the_servers_certificate(app, monkeypatch):
    """STARTTLS with Python's default context verifies the certificate and host name; smtplib's
    own default would accept anyone in the middle (and hand them the SMTP password)."""

    seen: dict[str, object] = {}

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            seen["host"] = host

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context=None):
            seen["context"] = context

        def login(self, user, password):
            seen["login"] = user

        def send_message(self, email):
            seen["to"] = email["To"]

    monkeypatch.setattr("network.outbox.smtplib.SMTP", FakeSMTP)
    app.config.update(
        MAIL_USE_TLS=True,
        MAIL_USERNAME="red",
        MAIL_PASSWORD="secreto",
        MAIL_SERVER="smtp.example.org",
    )
    SMTPSender(app).send(OutboxMessage(recipient="ana@ejemplo.mx", subject="Hola", body="Texto"))
    context = seen["context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert seen["to"] == "ana@ejemplo.mx" and seen["login"] == "red"


def _stuck(app, monkeypatch, minutes_ago: int) -> None:
    """One message the relay refused `minutes_ago`, now waiting for its back-off."""

    monkeypatch.setattr(MemorySender, "send", lambda self, m: (_ for _ in ()).throw(OSError("x")))
    _queue(app)
    monkeypatch.undo()
    with app.app_context():
        message = db.session.scalar(db.select(OutboxMessage))
        message.created_at = utcnow() - timedelta(minutes=minutes_ago)
        db.session.commit()


def test_send_says_what_still_waits_and_since_when(app, runner, monkeypatch):
    _stuck(app, monkeypatch, minutes_ago=20)

    result = runner.invoke(args=["outbox", "send"])

    assert result.exit_code == 0, result.output  # younger than HEALTH_OUTBOX_MAX_AGE_MINUTES
    assert "sent 0, failed 0; 1 still unsent, the oldest since " in result.output
    assert "UTC (20 min ago)" in result.output


def test_send_fails_once_mail_is_stuck_longer_than_the_health_limit(app, runner, monkeypatch):
    """SMTP down, back-off pending: nothing is tried, nothing fails, yet cron must hear of it."""
    app.config["HEALTH_OUTBOX_MAX_AGE_MINUTES"] = 60
    _stuck(app, monkeypatch, minutes_ago=61)

    result = runner.invoke(args=["outbox", "send"])

    assert result.exit_code == 1
    assert "sent 0, failed 0; 1 still unsent" in result.output
    assert (
        "Error: e-mail is stuck" in result.output
        and "HEALTH_OUTBOX_MAX_AGE_MINUTES" in result.output
    )


def test_send_with_nothing_waiting_says_so(app, runner):
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    assert result.output.strip() == "sent 0, failed 0; 0 still unsent"


def test_an_unknown_mail_sender_is_one_line(app, runner):
    app.config["MAIL_SENDER"] = "bogus"
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output == "Error: Unknown MAIL_SENDER 'bogus': use console, smtp or memory.\n"
