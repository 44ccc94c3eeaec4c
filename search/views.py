"""The search page: one box over members, events, chapters and development needs, with why each
result matched.

Without words it still answers three questions people come with: "who could mentor me?" (members
narrowed by filters, e.g. open to mentoring, an expertise, a language, a time zone), "what is
coming up?" (upcoming events, soonest first) and "where could I help?" (open needs, newest first).
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from network.forms import page_arg
from network.geo import current_language, viewer_zone
from network.members import queries as member_queries
from network.visibility import FIELD_LABELS
from search import bp
from search.facets import FACET_TITLES, NEED_FACET_TITLES, shown_facets, shown_labels
from search.queries import (
    CANDIDATES,
    EVENT_FILTERS,
    KINDS,
    NEED_FILTERS,
    kind_counts,
    load_results,
    search,
)
from search.schema import FACETS

# Where a word matched, for events ("water (title)"); members' fields use FIELD_LABELS.
EVENT_WHY_LABELS = {
    "title": _l("title"),
    "topics": _l("topic"),
    "place": _l("place"),
    "body": _l("description"),
}
# Where a word matched, for needs (`search.explain.NEED_WHY_FIELDS`).
NEED_WHY_LABELS = {
    "title": _l("title"),
    "required": _l("required expertise"),
    "nice": _l("nice-to-have expertise"),
    "organisation": _l("organisation"),
    "sector": _l("sector"),
    "state": _l("state"),
    "description": _l("description"),
}


def request_filters(kind: str) -> dict[str, str]:
    """The filters of the query string that this kind of result accepts."""
    names = {"members": FACETS, "events": EVENT_FILTERS, "needs": NEED_FILTERS}.get(kind, ())
    return {name: request.args[name][:80] for name in names if request.args.get(name)}


@bp.route("")
def page() -> str:
    text = request.args.get("q", "")[:2000]
    kind = request.args.get("kind", "members")
    kind = kind if kind in KINDS else "members"
    page_number = page_arg()
    viewer = member_queries.build_viewer(current_user)
    filters = request_filters(kind)
    language = current_language()
    size = current_app.config["SEARCH_PAGE_SIZE"]
    browse = kind in ("events", "needs") and "kind" in request.args
    asked = bool(text.strip() or filters or browse)
    result = (
        search(
            text,
            viewer,
            kind=kind,
            page=page_number,
            per_page=size,
            language=language,
            filters=filters,
            with_facets=True,
        )
        if asked
        else None
    )
    rows = load_results(result, viewer, language, cards=True) if result else []
    shown = shown_facets(result.facets) if result else {}
    labels = shown_labels(shown, filters, language) if result else {}
    return render_template(
        "search/results.html",
        q=text,
        kind=kind,
        result=result,
        rows=rows,
        page=page_number,
        # Only the best CANDIDATES are ranked: the pages offered stop there (the total is exact).
        pages=(min(result.total, CANDIDATES) + size - 1) // size if result else 0,
        why_labels={**FIELD_LABELS, "name": FIELD_LABELS["full_name"]},
        event_why_labels=EVENT_WHY_LABELS,
        need_why_labels=NEED_WHY_LABELS,
        zone=viewer_zone(),
        filters=filters,
        labels=labels,
        shown=shown,
        facet_titles=NEED_FACET_TITLES if kind == "needs" else FACET_TITLES,
        kinds=kind_counts(text, viewer, {kind: result.total} if result else None),
    )
