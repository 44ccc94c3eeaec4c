"""Accounts: registration, confirmation, log-in, password reset, account settings, API tokens."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
