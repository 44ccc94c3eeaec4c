"""The search page: one box over members and chapters, results with the reason they matched."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from chapters.models import Chapter
from network.extensions import db
from network.geo import current_language
from network.members import queries as member_queries
from network.members.models import Profile
from network.visibility import FIELD_LABELS
from search import bp
from search.queries import KINDS, SearchResult, search


def load_results(result: SearchResult, viewer: Any, language: str) -> list[dict[str, Any]]:
    """Reload the ranked hits from the database, in rank order, as the viewer may see them."""
    ids = [hit.obj_id for hit in result.hits]
    if not ids:
        return []
    rows: list[dict[str, Any]] = []
    if result.hits[0].kind == "member":
        profiles = db.session.scalars(
            member_queries.eager_profiles(
                member_queries.listed_members().where(Profile.user_id.in_(ids))
            )
        ).all()
        by_id = {p.user_id: p for p in profiles}
        for hit in result.hits:
            profile = by_id.get(hit.obj_id)
            data = member_queries.present_profile(profile, viewer, language) if profile else None
            if data is not None:
                rows.append({"hit": hit, "member": data})
    else:
        chapters = db.session.scalars(
            select(Chapter).where(Chapter.id.in_(ids)).options(selectinload(Chapter.region))
        ).all()
        by_id = {c.id: c for c in chapters}
        rows = [{"hit": h, "chapter": by_id[h.obj_id]} for h in result.hits if h.obj_id in by_id]
    return rows


@bp.route("")
def page() -> str:
    text = request.args.get("q", "")[:2000]
    kind = request.args.get("kind", "members")
    kind = kind if kind in KINDS else "members"
    page_number = max(request.args.get("page", 1, type=int), 1)
    viewer = member_queries.build_viewer(current_user)
    result = search(text, viewer, kind=kind, page=page_number,
                    per_page=current_app.config["SEARCH_PAGE_SIZE"],
                    language=current_language()) if text.strip() else None  # fmt: skip
    rows = load_results(result, viewer, current_language()) if result else []
    pages = (
        (result.total + current_app.config["SEARCH_PAGE_SIZE"] - 1)
        // current_app.config["SEARCH_PAGE_SIZE"]
        if result
        else 0
    )
    return render_template(
        "search/results.html", q=text, kind=kind, result=result, rows=rows, page=page_number,
        pages=pages, why_labels={**FIELD_LABELS, "name": FIELD_LABELS["full_name"]},
    )  # fmt: skip
