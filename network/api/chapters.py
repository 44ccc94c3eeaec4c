"""/chapters: the network's active chapters, as the public regions page lists them."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import gettext as _

from chapters import queries as chapter_queries
from network.api.auth import token_optional
from network.api.blueprint import Blueprint
from network.api.pagination import PageArgs, page_body, page_of
from network.api.schemas.chapters import ChapterOut
from network.api.schemas.fields import QueryString

bp = Blueprint("chapters", __name__, description="The network's chapters.")


class ChapterArgs(PageArgs):
    """Which chapters to list."""

    region = QueryString(metadata={"description": "Only chapters of this region (slug)."})


@bp.route("/chapters")
@token_optional
@bp.arguments(ChapterArgs, location="query")
@bp.response(200, page_of(ChapterOut))
def chapters(args: dict[str, Any]) -> dict[str, Any]:
    """Active chapters, ordered by name.

    Each chapter carries its region's slug and the number of approved members, as the public
    regions page shows them; no token is needed.
    """
    region = args.get("region") or None
    if region is not None and region not in {r.slug for r in chapter_queries.list_regions()}:
        abort(400, description=_("Unknown region %(value)s.", value=repr(region[:60])))
    pagination = chapter_queries.paginate_chapters(
        region_slug=region, page=args["page"], per_page=args["per_page"]
    )
    counts = chapter_queries.count_members_by_chapter()
    items = [
        {
            "slug": c.slug,
            "name": c.name,
            "country": c.country,
            "city": c.city,
            "region": c.region.slug,
            "timezone": c.timezone,
            "member_count": counts.get(c.id, 0),
        }
        for c in pagination.items
    ]
    return page_body(pagination, items)
