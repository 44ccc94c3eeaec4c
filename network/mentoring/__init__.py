"""Mentoring between members: requests with a goal and a duration, capacity, and endings."""

from flask import Blueprint

bp = Blueprint("mentoring", __name__, url_prefix="/mentoring")
