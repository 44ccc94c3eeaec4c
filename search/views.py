"""The search page: one box over members and chapters, results with the reason they matched."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user

from network.geo import current_language
from network.members import queries as member_queries
from network.visibility import FIELD_LABELS
from search import bp
from search.facets import FACET_TITLES, facet_labels
from search.queries import KINDS, load_results, search
from search.schema import FACETS


@bp.route("")
def page() -> str:
    text = request.args.get("q", "")[:2000]
    kind = request.args.get("kind", "members")
    kind = kind if kind in KINDS else "members"
    page_number = max(request.args.get("page", 1, type=int), 1)
    viewer = member_queries.build_viewer(current_user)
    filters = {name: request.args.get(name, "")[:80] for name in FACETS if request.args.get(name)}
    language = current_language()
    result = search(text, viewer, kind=kind, page=page_number,
                    per_page=current_app.config["SEARCH_PAGE_SIZE"], language=language,
                    filters=filters, with_facets=True) if text.strip() else None  # fmt: skip
    rows = load_results(result, viewer, language) if result else []
    labels = facet_labels(result.facets, language) if result else {}
    pages = (
        (result.total + current_app.config["SEARCH_PAGE_SIZE"] - 1)
        // current_app.config["SEARCH_PAGE_SIZE"]
        if result
        else 0
    )
    return render_template(
        "search/results.html", q=text, kind=kind, result=result, rows=rows, page=page_number,
        pages=pages, why_labels={**FIELD_LABELS, "name": FIELD_LABELS["full_name"]},
        filters=filters, labels=labels, facet_titles=FACET_TITLES,
    )  # fmt: skip
