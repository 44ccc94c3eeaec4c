"""The public statistics page."""

from __future__ import annotations

from flask import render_template

from network.dashboard import bp
from network.dashboard.queries import SMALL_CELL, public_statistics
from network.geo import current_language


@bp.route("/about/stats")
def public_stats() -> str:
    return render_template("dashboard/stats.html", stats=public_statistics(current_language()),
                           small_cell=SMALL_CELL)  # fmt: skip
