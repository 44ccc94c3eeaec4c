"""/dashboard: one panel of IME's dashboard, the figures of the table on /dashboard."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import force_locale
from flask_babel import gettext as _

from network.api.auth import api_user, loads, token_required
from network.api.blueprint import Blueprint
from network.api.schemas.dashboard import DashboardPanelOut, PanelArgs
from network.dashboard import panels as dashboard_panels

bp = Blueprint("dashboard", __name__, description="IME's dashboard, panel by panel.")

# The panels a path may name, in the document.
_PANEL_PARAMETER = {
    "in": "path",
    "name": "slug",
    "required": True,
    "schema": {"type": "string", "enum": list(dashboard_panels.PANELS)},
}


def _panel(slug: str, user: Any) -> str:
    """The panel the path names; an unknown one is a 404 naming the known ones."""
    if slug not in dashboard_panels.PANELS:
        abort(
            404,
            description=_(
                "No such panel. Known panels: %(panels)s.",
                panels=", ".join(dashboard_panels.PANELS),
            ),
        )
    return slug


@bp.route("/dashboard/<slug>", parameters=[_PANEL_PARAMETER])
@token_required
@bp.answers(403, 404)
@loads("slug", _panel, to="slug")
@bp.arguments(PanelArgs, location="query")
@bp.response(200, DashboardPanelOut)
def dashboard_panel(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """One panel of the dashboard, the same figures as the table on /dashboard.

    Panels: members-by-region, members-by-country, members-by-sector, top-concepts, openness,
    growth, freshness, events-per-month, chapter-activity, needs-by-status, needs-by-sector,
    needs-by-state, contact-requests, outcomes, gap. For IME tokens (the whole network or one
    chapter) and coordinators' tokens (their chapter); others get 403.
    """
    scope, _choices = dashboard_panels.scope_for(api_user(), args)
    with force_locale("en"):  # the API speaks English, whatever the account's language
        body = dashboard_panels.build(slug, scope, "en").as_json()
    return {
        **body,
        "period": scope.period,
        "chapter": scope.chapter.slug if scope.chapter else None,
    }
