"""The outbox: mail leaves only after the commit, survives a failing sender and is retried."""

from __future__ import annotations

from network.extensions import db
from network.outbox import queue_email, send_pending


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
    from network.outbox import MemorySender

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
    from network.outbox import MemorySender

    monkeypatch.setattr(MemorySender, "send", lambda self, m: (_ for _ in ()).throw(OSError("x")))
    _queue(app)
    monkeypatch.undo()
    with app.app_context():
        assert send_pending() == (0, 0), "still inside its back-off"
        assert send_pending(force=True) == (1, 0)


def test_smtp_over_tls_checks_the_servers_certificate(app, monkeypatch):
    """STARTTLS with Python's default context verifies the certificate and host name; smtplib's
    own default would accept anyone in the middle (and hand them the SMTP password)."""
    import ssl

    from network.outbox import OutboxMessage, SMTPSender

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
