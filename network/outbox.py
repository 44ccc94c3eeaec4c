"""The outbox: every e-mail is a row written with the change that caused it, delivered after commit.

Writing the message in the same transaction means a rolled-back change sends nothing, and a
committed change can never lose its message: if delivery fails, the row stays unsent and
`flask outbox send` retries it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import click
from flask import Flask, current_app, render_template
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.config import ConfigurationError
from network.db import db, listen_to_session, utcnow

log = logging.getLogger(__name__)

_PENDING_KEY = "outbox_pending_ids"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40), default="notice")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]


def queue_email(
    recipient: str,
    subject: str,
    template: str,
    *,
    locale: str,
    kind: str = "notice",
    **context: Any,
) -> OutboxMessage:
    """Render an e-mail in the recipient's language and add it to the current transaction."""
    with force_locale(locale):
        body = render_template(f"emails/{template}.txt", **context)
        subject_text = str(subject)
    message = OutboxMessage(recipient=recipient, subject=subject_text, body=body, kind=kind)
    db.session.add(message)
    return message


def notify(user: Any, subject: Any, template: str, **context: Any) -> OutboxMessage:
    """E-mail a user in their own language (the template sees `user` and the context)."""
    return queue_email(
        user.email,
        subject,
        template,
        locale=user.preferred_language,
        kind=template,
        user=user,
        **context,
    )


class Sender(Protocol):
    def send(self, message: OutboxMessage) -> None: ...


class ConsoleSender:
    """Development: prints the message, so links can be followed from the terminal."""

    def send(self, message: OutboxMessage) -> None:
        click.echo(
            f"\n--- e-mail to {message.recipient}: {message.subject}\n{message.body}\n--- end\n",
            err=True,
        )


class MemorySender:
    """Tests: keeps what was delivered on the app, so a test can read it without a mail server."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def send(self, message: OutboxMessage) -> None:
        self.app.extensions.setdefault("sent_mail", []).append(
            {"to": message.recipient, "subject": message.subject, "body": message.body}
        )


class SMTPSender:
    def __init__(self, app: Flask) -> None:
        self.config = app.config

    def send(self, message: OutboxMessage) -> None:
        email = EmailMessage()
        email["From"] = self.config["MAIL_FROM"]
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email.set_content(message.body)
        with smtplib.SMTP(self.config["MAIL_SERVER"], self.config["MAIL_PORT"], timeout=10) as smtp:
            if self.config["MAIL_USE_TLS"]:
                # Verify the server's certificate: smtplib's default context does not, and the
                # messages carry sign-in links (and the SMTP password follows).
                smtp.starttls(context=ssl.create_default_context())
            if self.config["MAIL_USERNAME"]:
                smtp.login(self.config["MAIL_USERNAME"], self.config["MAIL_PASSWORD"] or "")
            smtp.send_message(email)


def get_sender(app: Flask) -> Sender:
    name = app.config["MAIL_SENDER"]
    if name == "console":
        return ConsoleSender()
    if name == "memory":
        return MemorySender(app)
    if name == "smtp":
        return SMTPSender(app)
    raise ConfigurationError(f"Unknown MAIL_SENDER {name!r}: use console, smtp or memory.")


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 24 * 60))


def deliver(session: Session, messages: list[OutboxMessage]) -> tuple[int, int]:
    """Hand messages to the sender; record each success or failure. Returns (sent, failed)."""
    sender = get_sender(current_app._get_current_object())  # type: ignore[attr-defined]
    sent = failed = 0
    for message in messages:
        message.attempts += 1
        try:
            sender.send(message)
        except Exception as exc:  # any transport error: keep the row for a retry
            log.warning("Sending e-mail %s failed: %s", message.id, exc)
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = utcnow() + _backoff(message.attempts)
            failed += 1
        else:
            message.sent_at = utcnow()
            message.last_error = None
            sent += 1
    session.commit()
    return sent, failed


def send_pending(*, force: bool = False, limit: int = 500) -> tuple[int, int]:
    """Deliver unsent messages whose retry time has come (or all of them with force)."""
    with Session(db.engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        if not force:
            now = utcnow()
            query = query.where(
                (OutboxMessage.next_attempt_at.is_(None)) | (OutboxMessage.next_attempt_at <= now),
                OutboxMessage.attempts < current_app.config["MAIL_MAX_ATTEMPTS"],
            )
        messages = list(session.scalars(query.order_by(OutboxMessage.id).limit(limit)))
        return deliver(session, messages)


def _collect_new_messages(session: Session, flush_context: Any) -> None:
    # In after_flush, session.new still lists what was just inserted, now with primary keys.
    ids = session.info.setdefault(_PENDING_KEY, set())
    ids.update(obj.id for obj in session.new if isinstance(obj, OutboxMessage))


def _deliver_after_commit(session: Session) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if not ids:
        return
    try:
        # A separate session: the committed one may not emit SQL inside this hook.
        with Session(db.engine) as own:
            messages = list(
                own.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None))
                    .order_by(OutboxMessage.id)
                )
            )
            deliver(own, messages)
    except Exception:  # the data is committed; the rows stay for `flask outbox send`
        log.exception("Delivering the outbox after commit failed; it will be retried")


def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING_KEY, None)


outbox_cli = AppGroup("outbox", help="Deliver queued e-mail.")


@dataclass(frozen=True)
class Backlog:
    """Unsent mail: how many, since when, and whether it is stuck, the one rule `/healthz`
    ("degraded") and `flask outbox send` (exit status 1) both apply."""

    unsent: int
    oldest: datetime | None
    age: timedelta | None
    max_age: timedelta

    @property
    def stuck(self) -> bool:
        """The oldest unsent message has waited longer than HEALTH_OUTBOX_MAX_AGE_MINUTES."""
        return self.age is not None and self.age > self.max_age


def unsent_backlog() -> Backlog:
    """How many messages are still unsent, since when, and whether that is too long."""
    unsent, oldest = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.sent_at.is_(None)
        )
    ).one()
    return Backlog(
        unsent=unsent,
        oldest=oldest,
        age=None if oldest is None else max(timedelta(0), utcnow() - oldest),
        max_age=timedelta(minutes=int(current_app.config["HEALTH_OUTBOX_MAX_AGE_MINUTES"])),
    )


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"


@outbox_cli.command("send")
@click.option("--force", is_flag=True, help="Also retry messages still waiting for their back-off.")
def send_command(force: bool) -> None:
    """Retry every unsent message (run it from cron or a systemd timer in production).

    Exits with status 1 when a message failed, or when the oldest unsent one has waited longer
    than HEALTH_OUTBOX_MAX_AGE_MINUTES (mail stuck behind back-off or a dead relay), so that
    cron reports it."""
    sent, failed = send_pending(force=force)
    backlog = unsent_backlog()
    waiting = f"{backlog.unsent} still unsent"
    if backlog.oldest is not None and backlog.age is not None:
        waiting += (
            f", the oldest since {backlog.oldest:%Y-%m-%d %H:%M} UTC ({_duration(backlog.age)} ago)"
        )
    click.echo(f"sent {sent}, failed {failed}; {waiting}")
    if backlog.stuck:
        raise click.ClickException(
            f"e-mail is stuck: the oldest unsent message has waited longer than "
            f"HEALTH_OUTBOX_MAX_AGE_MINUTES ({backlog.max_age.total_seconds() / 60:.0f} min); "
            "see `flask outbox status` for the errors"
        )
    if failed:
        raise SystemExit(1)


@outbox_cli.command("status")
def status_command() -> None:
    """Show how many messages wait and the last errors."""
    pending = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).order_by(OutboxMessage.id)
    ).all()
    click.echo(f"{len(pending)} unsent")
    for message in pending[:20]:
        error = message.last_error or "not tried yet"
        click.echo(f"  #{message.id} to {message.recipient}: {message.attempts} attempts, {error}")


def register_outbox(app: Flask) -> None:
    listen_to_session(
        ("after_flush", _collect_new_messages),
        ("after_commit", _deliver_after_commit),
        ("after_soft_rollback", _forget_after_rollback),
    )
    app.cli.add_command(outbox_cli)
