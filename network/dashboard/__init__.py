"""Figures about the network: public statistics now, IME's dashboard next (issue 8)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
