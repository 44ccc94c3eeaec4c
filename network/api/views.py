"""API v1 handlers: bearer-token authentication, JSON in and out, the same queries as the pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from chapters import queries as chapter_queries
from chapters.models import MembershipStatus
from network.api import bp
from network.api.openapi import QueryParam, build_spec, documented
from network.api.schemas import (
    ChapterOut,
    ChapterRef,
    MemberOut,
    MeOut,
    OpenAPIDocument,
    OrganisationOut,
    ProfileUpdateIn,
    SearchOut,
)
from network.auth.services import user_for_api_token
from network.extensions import db
from network.geo import is_country
from network.members import queries as member_queries
from network.members import services as member_services
from network.security import is_member_account
from network.visibility import ANONYMOUS, PROFILE_FIELDS
from search.queries import load_results
from search.queries import search as run_search
from search.schema import FACETS as SEARCH_FACETS

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


PAGING = (
    QueryParam("page", int, "Page number, from 1.", minimum=1, maximum=100000),
    QueryParam("per_page", int, "Items per page.", minimum=1, maximum=100),
)


def _paging() -> tuple[int, int]:
    """page and per_page, checked against the same bounds the OpenAPI document states."""
    page_param, size_param = PAGING
    page = _int_arg("page", 1, page_param.minimum or 1, page_param.maximum or 100000)
    per_page = _int_arg(
        "per_page", current_app.config["API_PAGE_SIZE"], size_param.minimum or 1,
        size_param.maximum or 100,
    )  # fmt: skip
    return page, per_page


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
        *PAGING,
    ),
)
def chapters() -> ResponseReturnValue:
    """Active chapters, ordered by name.

    Each chapter carries its region's slug and the number of approved members.
    """
    page, per_page = _paging()
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


def _member_json(data: dict[str, Any]) -> dict[str, Any]:
    """present_profile's view, minus what is only for pages; hidden fields stay absent."""
    body = {k: v for k, v in data.items() if k not in {"initials"}}
    body["confirmed_at"] = data["confirmed_at"].isoformat()
    return body


@bp.get("/members/<int:member_id>")
@token_required
@documented(MemberOut)
def member(member_id: int) -> ResponseReturnValue:
    """One member, with only the fields the token's account may see."""
    profile = member_queries.get_profile_for_user_id(member_id)
    viewer = member_queries.build_viewer(g.api_user)
    data = (
        member_queries.present_profile(profile, viewer, g.api_user.preferred_language)
        if profile
        else None
    )
    if data is None:
        abort(404, description="No member with this id is visible to you.")
    return jsonify(_member_json(data))


@bp.get("/members")
@token_required
@documented(
    MemberOut,
    paginated=True,
    params=(
        QueryParam("country", str, "ISO 3166-1 alpha-2 country of residence."),
        QueryParam("concept", str, "Expertise concept slug."),
        *PAGING,
    ),
)
def members() -> ResponseReturnValue:
    """Members the token's account may see, filtered only through fields it may see."""
    page, per_page = _paging()
    country = (request.args.get("country") or "").upper()
    if country and not is_country(country):
        abort(400, description=f"Unknown country code {country[:10]!r}.")
    concept = request.args.get("concept") or ""
    if concept and concept not in {c.slug for c in member_queries.list_concepts()}:
        abort(400, description=f"Unknown concept {concept[:80]!r}.")
    viewer = member_queries.build_viewer(g.api_user)
    filters = member_queries.DirectoryFilters(country=country, concept=concept)
    pagination = member_queries.paginate_directory(viewer, filters, page, per_page)
    language = g.api_user.preferred_language
    items = [member_queries.present_profile(p, viewer, language) for p in pagination.items]
    return jsonify(
        items=[_member_json(item) for item in items if item],
        page=pagination.page,
        per_page=pagination.per_page,
        total=pagination.total or 0,
        pages=pagination.pages,
    )


@bp.patch("/me/profile")
@token_required
@documented(MemberOut, request_body=ProfileUpdateIn)
def update_my_profile() -> ResponseReturnValue:
    """Change one's own profile, with the same checks as the profile form.

    Send only the fields to change. Errors answer 422 with every problem found.
    """
    user = g.api_user
    if not is_member_account(user):
        abort(403, description="Only member accounts have a profile.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="Send a JSON object with the fields to change.")
    allowed = {f.name for f in dataclasses.fields(ProfileUpdateIn)} | {
        f"{name}_visibility" for name in PROFILE_FIELDS
    }
    unknown = sorted(set(body) - allowed)
    if unknown:
        abort(400, description=f"Unknown fields: {', '.join(unknown)[:200]}.")
    try:
        member_services.update_profile(user, body)
    except member_services.ProfileErrors as errors:
        db.session.rollback()
        return jsonify(
            error={
                "code": 422,
                "title": "Invalid values",
                "message": str(errors),
                "fields": [{"field": e.field, "message": e.message} for e in errors.errors],
            }
        ), 422
    db.session.commit()
    profile = member_queries.get_profile_for_user_id(user.id)
    data = member_queries.present_profile(
        profile, member_queries.build_viewer(user), user.preferred_language
    )
    return jsonify(_member_json(data))


@bp.get("/search")
@documented(
    SearchOut,
    anonymous=True,
    params=(
        QueryParam("q", str, "What to look for."),
        QueryParam("kind", str, "members (default) or chapters."),
        *(QueryParam(name, str, f"Only results with this {name}.") for name in SEARCH_FACETS),
        *PAGING,
    ),
)
def search_endpoint() -> ResponseReturnValue:
    """Search members or chapters, with the reason each result matched and facet counts.

    Anonymous callers may search too and see public fields only; a bearer token searches with
    its account's visibility.
    """
    user = _optional_token_user()
    text = request.args.get("q", "")
    if not text.strip():
        abort(400, description="Give something to search for in 'q'.")
    kind = request.args.get("kind", "members")
    if kind not in {"members", "chapters"}:
        abort(400, description="'kind' must be members or chapters.")
    page, per_page = _paging()
    mentor = request.args.get("mentor")
    filters = {name: request.args[name][:80] for name in SEARCH_FACETS if request.args.get(name)}
    if mentor in {"true", "1", "yes"}:
        filters["mentoring"] = "yes"
    viewer = member_queries.build_viewer(user) if user else ANONYMOUS
    language = user.preferred_language if user else "en"
    result = run_search(text, viewer, kind=kind, page=page, per_page=per_page, language=language,
                        filters=filters, with_facets=True)  # fmt: skip
    rows = load_results(result, viewer, language)
    results = []
    for row in rows:
        hit = row["hit"]
        why = [dataclasses.asdict(w) for w in hit.why]
        if "member" in row:
            data = row["member"]
            results.append({"kind": "member", "id": data["id"], "title": data["full_name"],
                            "url": url_for("members.profile", user_id=data["id"], _external=True),
                            "score": hit.score, "why": why, "fields": _member_json(data)})  # fmt: skip
        else:
            chapter = row["chapter"]
            results.append({"kind": "chapter", "id": chapter.id, "title": chapter.name,
                            "url": url_for("chapters.detail", slug=chapter.slug, _external=True),
                            "score": hit.score, "why": why})  # fmt: skip
    return jsonify(total=result.total, page=page, results=results, facets=result.facets,
                   corrected=result.corrected)  # fmt: skip


def _optional_token_user() -> Any:
    """The token's account if one is sent (a bad token is an error, not anonymity)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    user = user_for_api_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        abort(401, description="This token is not valid or has been revoked.")
    db.session.commit()
    return user
