"""Development needs: postings by verified organisations, explained expert ranking,
consent-gated contact, fair load and outcomes."""

from flask import Blueprint

bp = Blueprint("needs", __name__)
