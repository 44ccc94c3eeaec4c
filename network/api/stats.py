"""/stats: the network's public aggregates, the same as /about/stats."""

from __future__ import annotations

from typing import Any

from network.api.auth import token_optional
from network.api.blueprint import Blueprint
from network.api.schemas.stats import StatsOut
from network.dashboard.queries import public_statistics

bp = Blueprint("stats", __name__, description="Public aggregates of the network.")


@bp.route("/stats")
@token_optional
@bp.response(200, StatsOut)
def stats() -> dict[str, Any]:
    """Public aggregates of the network, the same as /about/stats.

    Counts of people below five are given as "< 5" so that nobody can be singled out.
    """
    return public_statistics("en")
