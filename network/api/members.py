"""/members: the directory and one member, with only the fields the caller may see."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import gettext as _

from network.api.auth import api_user, language, token_optional
from network.api.blueprint import Blueprint
from network.api.pagination import PageArgs, page_body, page_of
from network.api.schemas.fields import QueryString
from network.api.schemas.members import MemberOut
from network.geo import is_country
from network.members import queries as member_queries
from network.members.directory import paginate_directory

bp = Blueprint("members", __name__, description="Members, as the caller may see them.")


class DirectoryArgs(PageArgs):
    """Which members to list."""

    country = QueryString(metadata={"description": "ISO 3166-1 alpha-2 country of residence."})
    concept = QueryString(metadata={"description": "Expertise concept slug."})


def member_body(data: dict[str, Any]) -> dict[str, Any]:
    """present_profile's view, minus what is only for pages; hidden fields stay absent."""
    body = {k: v for k, v in data.items() if k != "initials"}
    body["confirmed_at"] = data["confirmed_at"].isoformat()
    return body


@bp.route("/members/<int:member_id>")
@token_optional
@bp.answers(404)
@bp.response(200, MemberOut)
def member(member_id: int) -> dict[str, Any]:
    """One member, with only the fields the caller may see.

    Without a token, what the public profile page shows: the fields the member made public, and
    404 for a member whose name is not public. A token adds what its account may see.
    """
    profile = member_queries.get_profile_for_user_id(member_id)
    viewer = member_queries.build_viewer(api_user())
    data = member_queries.present_profile(profile, viewer, language()) if profile else None
    if data is None:
        abort(404, description=_("No member with this id is visible to you."))
    return member_body(data)


@bp.route("/members")
@token_optional
@bp.arguments(DirectoryArgs, location="query")
@bp.response(200, page_of(MemberOut))
def members(args: dict[str, Any]) -> dict[str, Any]:
    """Members the caller may see, filtered only through fields the caller may see.

    Without a token, the public directory: members whose name is public, with their public
    fields only. A token adds what its account may see.
    """
    country = (args.get("country") or "").upper()
    if country and not is_country(country):
        abort(400, description=_("Unknown country code %(value)s.", value=repr(country[:10])))
    concept = args.get("concept") or ""
    if concept and concept not in {c.slug for c in member_queries.list_concepts()}:
        abort(400, description=_("Unknown concept %(value)s.", value=repr(concept[:80])))
    viewer = member_queries.build_viewer(api_user())
    filters = member_queries.DirectoryFilters(country=country, concept=concept)
    pagination = paginate_directory(viewer, filters, args["page"], args["per_page"])
    speaking = language()
    shown = (member_queries.present_profile(p, viewer, speaking) for p in pagination.items)
    return page_body(pagination, [member_body(item) for item in shown if item])
