"""Full-text search over members and chapters (Whoosh), with visibility enforced in the index."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")
