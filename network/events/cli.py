"""`flask events send-reminders`: run it hourly from cron or a systemd timer."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from network.db import db
from network.events import services

cli = AppGroup("events", help="Chapter events.")


@cli.command("send-reminders")
def send_reminders() -> None:
    """Queue a reminder for confirmed attendees of events starting within 24 hours (once each)."""
    queued = services.send_reminders()
    db.session.commit()
    click.echo(f"queued {queued} reminders")
