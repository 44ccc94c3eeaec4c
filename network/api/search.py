"""/search: members, events, chapters or development needs, with why each result matched."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from typing import Any

from flask import abort
from flask_babel import gettext as _

from network.api.auth import api_user, language, token_optional
from network.api.blueprint import Blueprint
from network.api.members import member_body
from network.api.schemas.search import SearchArgs, SearchOut
from network.members import queries as member_queries
from network.urls import external_url
from network.visibility import ANONYMOUS
from search.queries import EVENT_FILTERS, NEED_FILTERS, kind_counts, load_results
from search.queries import search as run_search
from search.schema import FACETS

bp = Blueprint("search", __name__, description="Search across the network.")


def _hit_body(row: dict[str, Any]) -> dict[str, Any]:
    hit = row["hit"]
    base = {"score": hit.score, "why": [dataclasses.asdict(w) for w in hit.why]}
    if "member" in row:
        data = row["member"]
        return {
            "kind": "member",
            "id": data["id"],
            "title": data["full_name"],
            "url": external_url("members.profile", user_id=data["id"]),
            "fields": member_body(data),
            **base,
        }
    if "event" in row:
        event = row["event"]
        return {
            "kind": "event",
            "id": event.id,
            "title": event.title,
            "url": external_url("events.detail", event_id=event.id),
            "event": {
                "starts_at": event.local_start.isoformat(),
                "ends_at": event.local_end.isoformat(),
                "starts_at_utc": event.starts_at.astimezone(UTC).isoformat(),
                "timezone": event.timezone,
                "format": str(event.format),
                "city": event.city,
                "country": event.country,
                "language": event.language,
                "visibility": str(event.visibility),
                "chapters": [c.slug for c in event.hosts],
            },
            **base,
        }
    if "need" in row:
        need = row["need"]
        return {
            "kind": "need",
            "id": need.id,
            "title": need.title,
            "url": external_url("needs.detail", need_id=need.id),
            "need": {
                "organisation": need.organisation.name,
                "status": str(need.status),
                "state": need.node.code if need.node else None,
                "remote": need.remote,
                "required_concepts": [c.slug for c in need.required_concepts],
            },
            **base,
        }
    chapter = row["chapter"]
    return {
        "kind": "chapter",
        "id": chapter.id,
        "title": chapter.name,
        "url": external_url("chapters.detail", slug=chapter.slug),
        **base,
    }


@bp.route("/search")
@token_optional
@bp.arguments(SearchArgs, location="query")
@bp.response(200, SearchOut)
def search_endpoint(args: dict[str, Any]) -> dict[str, Any]:
    """Search members, events, chapters or development needs, with the reason each result matched and facet counts.

    Anonymous callers may search too and see public fields and public events only; a bearer
    token searches with its account's visibility. Without words, events are listed soonest
    first, and members are listed once a filter narrows them (the mentor search).
    """
    user = api_user()
    text, kind = args["q"], args["kind"]
    allowed = {"members": FACETS, "events": EVENT_FILTERS, "needs": NEED_FILTERS}.get(kind, ())
    filters = {name: args[name][:80] for name in allowed if args.get(name)}
    if kind == "members" and args.get("mentor") in {"true", "1", "yes"}:
        filters["mentoring"] = "yes"
    if not text.strip() and kind != "events" and not filters:
        abort(400, description=_("Give something to search for in 'q', or a filter."))
    viewer = member_queries.build_viewer(user) if user else ANONYMOUS
    speaking = language()
    result = run_search(
        text,
        viewer,
        kind=kind,
        page=args["page"],
        per_page=args["per_page"],
        language=speaking,
        filters=filters,
        with_facets=True,
    )
    if result.message == "empty":
        abort(400, description=_("Give at least one word of two letters or more in 'q'."))
    return {
        "total": result.total,
        "page": args["page"],
        "results": [_hit_body(row) for row in load_results(result, viewer, speaking)],
        "facets": result.facets,
        "corrected": result.corrected,
        "kinds": kind_counts(text, viewer, {kind: result.total}) or None,
    }
