"""API v1 handlers: bearer-token authentication, JSON in and out, the same queries as the pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from chapters import queries as chapter_queries
from chapters.models import MembershipStatus
from network.api import bp
from network.api.openapi import QueryParam, build_spec, documented
from network.api.schemas import ChapterOut, ChapterRef, MeOut, OpenAPIDocument, OrganisationOut
from network.auth.services import user_for_api_token
from network.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def token_required(view: F) -> F:
    """Authenticate with `Authorization: Bearer <token>`; cookies are never accepted here."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            abort(401, description="Send an API token as 'Authorization: Bearer <token>'.")
        user = user_for_api_token(token.strip())
        if user is None:
            abort(401, description="This token is not valid or has been revoked.")
        db.session.commit()  # records last_used_at
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, description=f"'{name}' must be a whole number, not {raw[:40]!r}.")
    if not minimum <= value <= maximum:
        abort(400, description=f"'{name}' must be between {minimum} and {maximum}.")
    return value


@bp.get("/me")
@token_required
@documented(MeOut)
def me() -> ResponseReturnValue:
    """The account that owns the token."""
    user = g.api_user
    organisation = user.organisation
    body = MeOut(
        id=user.id,
        full_name=user.full_name,
        email=user.email,
        role=str(user.role),
        preferred_language=user.preferred_language,
        organisation=OrganisationOut(
            slug=organisation.slug,
            name=organisation.name,
            kind=str(organisation.kind),
            is_verified=organisation.is_verified,
        )
        if organisation
        else None,
        chapters=[
            ChapterRef(slug=m.chapter.slug, name=m.chapter.name, role=str(m.role))
            for m in chapter_queries.list_user_memberships(user)
            if m.status == MembershipStatus.APPROVED
        ],
    )
    return jsonify(dataclasses.asdict(body))


@bp.get("/chapters")
@token_required
@documented(
    ChapterOut,
    paginated=True,
    params=(
        QueryParam("region", str, "Only chapters of this region (slug)."),
        QueryParam("page", int, "Page number, from 1.", minimum=1, maximum=100000),
        QueryParam("per_page", int, "Items per page.", minimum=1, maximum=100),
    ),
)
def chapters() -> ResponseReturnValue:
    """Active chapters, ordered by name.

    Each chapter carries its region's slug and the number of approved members.
    """
    page = _int_arg("page", 1, 1, 100000)
    per_page = _int_arg("per_page", current_app.config["API_PAGE_SIZE"], 1, 100)
    region = request.args.get("region") or None
    if region is not None and region not in {r.slug for r in chapter_queries.list_regions()}:
        abort(400, description=f"Unknown region {region[:60]!r}.")
    pagination = chapter_queries.paginate_chapters(region_slug=region, page=page, per_page=per_page)
    counts = chapter_queries.count_members_by_chapter()
    items = [
        dataclasses.asdict(
            ChapterOut(
                slug=c.slug,
                name=c.name,
                country=c.country,
                city=c.city,
                region=c.region.slug,
                timezone=c.timezone,
                member_count=counts.get(c.id, 0),
            )
        )
        for c in pagination.items
    ]
    return jsonify(
        items=items,
        page=pagination.page,
        per_page=pagination.per_page,
        total=pagination.total or 0,
        pages=pagination.pages,
    )


@bp.get("/openapi.json")
@documented(OpenAPIDocument)
def openapi() -> ResponseReturnValue:
    """This API's OpenAPI 3 description, generated from the code."""
    return jsonify(build_spec(current_app._get_current_object()))  # type: ignore[attr-defined]
