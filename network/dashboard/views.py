"""The public statistics page and IME's dashboard (coordinators see theirs, for their chapter)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, request
from flask_login import current_user

from network.csvsafe import csv_lines
from network.dashboard import bp, figures, panels
from network.dashboard.charts import heat_level
from network.dashboard.queries import SMALL_CELL, public_statistics
from network.geo import current_language
from network.security import dashboard_chapter_ids, login_required


@bp.record_once
def _register_hooks(state: Any) -> None:
    """Stored panels must learn of every change that takes someone out of a count, whichever
    domain makes it: the hooks watch the session (figures.py)."""
    figures.register_withdrawal_hooks()


@bp.route("/about/stats")
def public_stats() -> str:
    return render_template(
        "dashboard/stats.html", stats=public_statistics(current_language()), small_cell=SMALL_CELL
    )


def scope_args(scope: panels.Scope) -> dict[str, str]:
    """The query string that reproduces a scope (for links to CSV files and other panels)."""
    args = {"period": scope.period}
    if scope.chapter:
        args["chapter"] = scope.chapter.slug
    if scope.by != "sector":
        args["by"] = scope.by
    return args


@bp.route("/dashboard")
@login_required
def dashboard() -> str:
    scope, choices = panels.scope_for(current_user, request.args)
    language = current_language()
    built = panels.build_all(scope, language)
    return render_template(
        "dashboard/dashboard.html",
        scope=scope,
        as_of=panels.as_of(built),
        chapters=choices,
        groups=panels.GROUPS,
        panels=built,
        periods=panels.PERIODS,
        args=scope_args(scope),
        whole_network=dashboard_chapter_ids(current_user) is None,
        format_cell=panels.format_cell,
        heat_level=heat_level,
        heat_top=panels.heat_top,
    )


@bp.route("/dashboard/<slug>.csv")
@login_required
def panel_csv(slug: str) -> Response:
    if slug not in panels.PANELS:
        abort(404)
    scope, _choices = panels.scope_for(current_user, request.args)
    panel = panels.build(slug, scope, current_language())
    where = f"-{scope.chapter.slug}" if scope.chapter else ""
    return Response(
        "\ufeff" + "".join(csv_lines(panel.csv_rows())),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="red-global-mx-{slug}{where}-{scope.period}.csv"'
        },
    )
