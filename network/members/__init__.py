"""Member profiles: expertise, per-field visibility, the directory, imports, exports, own data."""

from flask import Blueprint

bp = Blueprint("members", __name__, url_prefix="/members")
