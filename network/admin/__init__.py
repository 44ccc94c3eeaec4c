"""IME administration of regions, chapters, nodes and coordinators."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
