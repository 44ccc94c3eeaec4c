"""Full-text search over members, events, chapters and needs, with visibility enforced in the
index: a facade (`search.queries`) over two backends (`search.backends`: Whoosh, PostgreSQL)."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")
