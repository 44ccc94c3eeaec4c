"""Chapter events: capacity and fair waitlists, co-hosting, calendars, check-in and reminders."""

from flask import Blueprint

bp = Blueprint("events", __name__)
