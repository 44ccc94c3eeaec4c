"""API v1 handlers: bearer-token authentication, JSON in and out, the same queries as the pages."""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import types
import typing
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, get_type_hints
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale, refresh
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from chapters import queries as chapter_queries
from chapters.models import Chapter, MembershipStatus
from network.api import bp
from network.api.openapi import QueryParam, build_spec, documented
from network.api.schemas import (
    MAX_EVENT_DESCRIPTION,
    MAX_QUESTION_LENGTH,
    CancellationOut,
    ChapterOut,
    ChapterRef,
    DashboardPanelOut,
    EventCreatedOut,
    EventHitOut,
    EventHostOut,
    EventIn,
    EventOut,
    EventPatchIn,
    EventTopicOut,
    MemberOut,
    MeOut,
    MyRegistrationOut,
    NeedHitOut,
    OpenAPIDocument,
    OrganisationOut,
    ProfileUpdateIn,
    RegistrationOut,
    SearchOut,
    StatsOut,
)
from network.auth.services import user_for_api_token
from network.dashboard import panels as dashboard_panels
from network.dashboard.queries import public_statistics
from network.errors import Conflict, ValidationError, api_error_body
from network.events import queries as event_queries
from network.events import services as event_services
from network.events.forms import EVENT_LANGUAGES
from network.events.models import (
    Event,
    EventFormat,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationStatus,
)
from network.extensions import db
from network.geo import is_country
from network.members import queries as member_queries
from network.members import services as member_services
from network.members.services import resolve_expertise, split_list
from network.security import (
    can_host_events_for,
    can_manage_event,
    can_see_event,
    can_see_online_link,
    is_ime_admin,
    is_member_account,
)
from network.urls import external_url
from network.visibility import ANONYMOUS, Tier
from search.queries import (
    EVENT_FILTERS,
    NEED_FILTERS,
    NEED_STATUS_FILTERS,
    kind_counts,
    load_results,
)
from search.queries import KINDS as SEARCH_KINDS
from search.queries import search as run_search
from search.schema import FACETS as SEARCH_FACETS

F = TypeVar("F", bound=Callable[..., Any])


def _token_user(*, required: bool) -> Any:
    """The account of the request's `Authorization: Bearer <token>` (cookies are never accepted
    here); None without the header when a token is optional. A bad token is always a 401, never
    anonymity. The account is kept on `g.api_user`, where the locale selector finds its language."""
    header = request.headers.get("Authorization", "")
    if not header and not required:
        return None
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if required:
            abort(401, description=_("Send an API token as 'Authorization: Bearer <token>'."))
        abort(401, description=_("This token is not valid or has been revoked."))
    user = user_for_api_token(token.strip())
    if user is None:
        abort(401, description=_("This token is not valid or has been revoked."))
    db.session.commit()  # records last_used_at
    g.api_user = user
    refresh()  # the account's language, unless the request asks for one (network.i18n)
    return user


def token_required(view: F) -> F:
    """Authenticate with `Authorization: Bearer <token>`: writes and private reads."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _token_user(required=True)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _optional_token_user() -> Any:
    """Public reads: the token's account if a token is sent, else None (an anonymous caller)."""
    return _token_user(required=False)


def _language() -> str:
    """The language of the response's labels: the one its error messages speak (network.i18n)."""
    return str(get_locale())


def _int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(
            400,
            description=_(
                "'%(name)s' must be a whole number, not %(value)s.", name=name, value=repr(raw[:40])
            ),
        )
    if not minimum <= value <= maximum:
        abort(
            400,
            description=_(
                "'%(name)s' must be between %(minimum)s and %(maximum)s.",
                name=name,
                minimum=minimum,
                maximum=maximum,
            ),
        )
    return value


def _check_choices() -> None:
    """400 for a query parameter outside the values the OpenAPI document lists for it (its
    `choices`), read from the view's own documentation so the two cannot disagree."""
    operation = current_app.view_functions[request.endpoint].openapi  # type: ignore[index]
    for param in operation.params:
        raw = request.args.get(param.name)
        if param.choices and raw is not None and raw not in param.choices:
            abort(400, description=_one_of(param.name, param.choices))


PAGING = (
    QueryParam("page", int, "Page number, from 1.", minimum=1, maximum=100000),
    QueryParam("per_page", int, "Items per page.", minimum=1, maximum=100),
)


def _paging() -> tuple[int, int]:
    """page and per_page, checked against the same bounds the OpenAPI document states."""
    page_param, size_param = PAGING
    page = _int_arg("page", 1, page_param.minimum or 1, page_param.maximum or 100000)
    per_page = _int_arg(
        "per_page",
        current_app.config["API_PAGE_SIZE"],
        size_param.minimum or 1,
        size_param.maximum or 100,
    )
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
@documented(
    ChapterOut,
    paginated=True,
    anonymous=True,
    params=(
        QueryParam("region", str, "Only chapters of this region (slug)."),
        *PAGING,
    ),
)
def chapters() -> ResponseReturnValue:
    """Active chapters, ordered by name.

    Each chapter carries its region's slug and the number of approved members, as the public
    regions page shows them; no token is needed.
    """
    _optional_token_user()  # a bad token is refused, even where none is needed
    page, per_page = _paging()
    region = request.args.get("region") or None
    if region is not None and region not in {r.slug for r in chapter_queries.list_regions()}:
        abort(400, description=_("Unknown region %(value)s.", value=repr(region[:60])))
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


@bp.get("/stats")
@documented(StatsOut, anonymous=True)
def stats() -> ResponseReturnValue:
    """Public aggregates of the network, the same as /about/stats.

    Counts of people below five are given as "< 5" so that nobody can be singled out.
    """
    _optional_token_user()  # a bad token is refused, even where none is needed
    return jsonify(public_statistics("en"))


@bp.get("/dashboard/<slug>")
@token_required
@documented(
    DashboardPanelOut,
    params=(
        QueryParam(
            "period", str, "3m, 12m (default), 24m or all.", choices=tuple(dashboard_panels.PERIODS)
        ),
        QueryParam(
            "chapter",
            str,
            "A chapter's slug: IME may ask for any; a coordinator's "
            "token gets their own chapter (the first by name if not given).",
        ),
        QueryParam(
            "by",
            str,
            "For the gap panel: sector (default) or concept.",
            choices=("sector", "concept"),
        ),
    ),
    errors=(403, 404),
    path_choices={"slug": tuple(dashboard_panels.PANELS)},
)
def dashboard_panel(slug: str) -> ResponseReturnValue:
    """One panel of the dashboard, the same figures as the table on /dashboard.

    Panels: members-by-region, members-by-country, members-by-sector, top-concepts, openness,
    growth, freshness, events-per-month, chapter-activity, needs-by-status, needs-by-sector,
    needs-by-state, contact-requests, outcomes, gap. For IME tokens (the whole network or one
    chapter) and coordinators' tokens (their chapter); others get 403.
    """
    if slug not in dashboard_panels.PANELS:
        abort(
            404,
            description=_(
                "No such panel. Known panels: %(panels)s.",
                panels=", ".join(dashboard_panels.PANELS),
            ),
        )
    _check_choices()  # the pages fall back to the defaults; the API says what is wrong
    scope, _choices = dashboard_panels.scope_for(g.api_user, request.args)
    with force_locale("en"):  # the API speaks English, whatever the account's language
        body = dashboard_panels.build(slug, scope, "en").as_json()
    return jsonify(
        {**body, "period": scope.period, "chapter": scope.chapter.slug if scope.chapter else None}
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
@documented(MemberOut, anonymous=True, errors=(404,))
def member(member_id: int) -> ResponseReturnValue:
    """One member, with only the fields the caller may see.

    Without a token, what the public profile page shows: the fields the member made public, and
    404 for a member whose name is not public. A token adds what its account may see.
    """
    user = _optional_token_user()
    profile = member_queries.get_profile_for_user_id(member_id)
    viewer = member_queries.build_viewer(user)
    data = member_queries.present_profile(profile, viewer, _language()) if profile else None
    if data is None:
        abort(404, description=_("No member with this id is visible to you."))
    return jsonify(_member_json(data))


@bp.get("/members")
@documented(
    MemberOut,
    paginated=True,
    anonymous=True,
    params=(
        QueryParam("country", str, "ISO 3166-1 alpha-2 country of residence."),
        QueryParam("concept", str, "Expertise concept slug."),
        *PAGING,
    ),
)
def members() -> ResponseReturnValue:
    """Members the caller may see, filtered only through fields the caller may see.

    Without a token, the public directory: members whose name is public, with their public
    fields only. A token adds what its account may see.
    """
    user = _optional_token_user()
    page, per_page = _paging()
    country = (request.args.get("country") or "").upper()
    if country and not is_country(country):
        abort(400, description=_unknown_country(country))
    concept = request.args.get("concept") or ""
    if concept and concept not in {c.slug for c in member_queries.list_concepts()}:
        abort(400, description=_("Unknown concept %(value)s.", value=repr(concept[:80])))
    viewer = member_queries.build_viewer(user)
    filters = member_queries.DirectoryFilters(country=country, concept=concept)
    pagination = member_queries.paginate_directory(viewer, filters, page, per_page)
    language = _language()
    items = [member_queries.present_profile(p, viewer, language) for p in pagination.items]
    return jsonify(
        items=[_member_json(item) for item in items if item],
        page=pagination.page,
        per_page=pagination.per_page,
        total=pagination.total or 0,
        pages=pagination.pages,
    )


PROFILE_FIELDS_IN = get_type_hints(ProfileUpdateIn)


@bp.patch("/me/profile")
@token_required
@documented(MemberOut, request_body=ProfileUpdateIn, errors=(403,))
def update_my_profile() -> ResponseReturnValue:
    """Change one's own profile, with the same checks as the profile form.

    Send only the fields to change. Errors answer 422 with every problem found.
    """
    user = g.api_user
    if not is_member_account(user):
        abort(403, description=_("Only member accounts have a profile."))
    body = _json_object(PROFILE_FIELDS_IN, _("the fields to change"))
    # The form sends "" for a visibility left alone; in JSON that is null, and "" no tier.
    blank = sorted(
        name for name, value in body.items() if name.endswith("_visibility") and value == ""
    )
    if blank:
        choices = ", ".join(Tier)
        problem = _("Choose one of: %(choices)s (or null).", choices=choices)
        return _invalid_values([(name, problem) for name in blank])
    try:
        member_services.update_profile(user, body)
    except member_services.ProfileErrors as errors:
        db.session.rollback()
        return _invalid_values([(e.field, e.message) for e in errors.errors], str(errors))
    db.session.commit()
    profile = member_queries.get_profile_for_user_id(user.id)
    data = member_queries.present_profile(profile, member_queries.build_viewer(user), _language())
    return jsonify(_member_json(data))


def _invalid_values(
    problems: list[tuple[str | None, str]], message: str | None = None
) -> ResponseReturnValue:
    """422 naming each field at fault, in the error shape of every other API error."""
    fields = [{"field": field, "message": str(text)} for field, text in problems]
    summary = message or "; ".join(
        f"{item['field']}: {item['message']}" if item["field"] else item["message"]
        for item in fields
    )
    return jsonify(api_error_body(422, summary, fields)), 422


@bp.get("/search")
@documented(
    SearchOut,
    anonymous=True,
    params=(
        QueryParam("q", str, "What to look for (may be empty for events, or with a filter)."),
        QueryParam(
            "kind", str, "members (default), events, chapters or needs.", choices=SEARCH_KINDS
        ),
        *(
            QueryParam(
                name,
                str,
                f"Only results with this {name} (events: country, region, chapter, concept, language).",
            )
            for name in SEARCH_FACETS
        ),
        QueryParam("mentor", str, "true: members open to mentoring with room for a mentee."),
        QueryParam(
            "when", str, "Events: upcoming (default) or past.", choices=("upcoming", "past")
        ),
        QueryParam(
            "format",
            str,
            "Events: in_person or online (hybrid events are both).",
            choices=("in_person", "online"),
        ),
        QueryParam("remote", str, "Needs: yes or no.", choices=("yes", "no")),
        QueryParam(
            "status",
            str,
            "Needs: open (default), in_progress, completed or all.",
            choices=NEED_STATUS_FILTERS,
        ),
        *PAGING,
    ),
)
def search_endpoint() -> ResponseReturnValue:
    """Search members, events, chapters or development needs, with the reason each result matched and facet counts.

    Anonymous callers may search too and see public fields and public events only; a bearer
    token searches with its account's visibility. Without words, events are listed soonest
    first, and members are listed once a filter narrows them (the mentor search).
    """
    user = _optional_token_user()
    _check_choices()
    text = request.args.get("q", "")
    kind = request.args.get("kind", "members")
    allowed = {"members": SEARCH_FACETS, "events": EVENT_FILTERS, "needs": NEED_FILTERS}.get(
        kind, ()
    )
    filters = {name: request.args[name][:80] for name in allowed if request.args.get(name)}
    if kind == "members" and request.args.get("mentor") in {"true", "1", "yes"}:
        filters["mentoring"] = "yes"
    if not text.strip() and kind != "events" and not filters:
        abort(400, description=_("Give something to search for in 'q', or a filter."))
    page, per_page = _paging()
    viewer = member_queries.build_viewer(user) if user else ANONYMOUS
    language = _language()
    result = run_search(
        text,
        viewer,
        kind=kind,
        page=page,
        per_page=per_page,
        language=language,
        filters=filters,
        with_facets=True,
    )
    if result.message == "empty":
        abort(400, description=_("Give at least one word of two letters or more in 'q'."))
    results = [_search_hit_json(row) for row in load_results(result, viewer, language)]
    return jsonify(
        total=result.total,
        page=page,
        results=results,
        facets=result.facets,
        corrected=result.corrected,
        kinds=kind_counts(text, viewer, {kind: result.total}) or None,
    )


def _search_hit_json(row: dict[str, Any]) -> dict[str, Any]:
    hit = row["hit"]
    base = {"score": hit.score, "why": [dataclasses.asdict(w) for w in hit.why]}
    if "member" in row:
        data = row["member"]
        return {
            "kind": "member",
            "id": data["id"],
            "title": data["full_name"],
            "url": external_url("members.profile", user_id=data["id"]),
            "fields": _member_json(data),
            **base,
        }
    if "event" in row:
        event = row["event"]
        summary = EventHitOut(
            starts_at=event.local_start.isoformat(),
            ends_at=event.local_end.isoformat(),
            starts_at_utc=event.starts_at.astimezone(UTC).isoformat(),
            timezone=event.timezone,
            format=str(event.format),
            city=event.city,
            country=event.country,
            language=event.language,
            visibility=str(event.visibility),
            chapters=[c.slug for c in event.hosts],
        )
        return {
            "kind": "event",
            "id": event.id,
            "title": event.title,
            "url": external_url("events.detail", event_id=event.id),
            "event": dataclasses.asdict(summary),
            **base,
        }
    if "need" in row:
        need = row["need"]
        summary = NeedHitOut(
            organisation=need.organisation.name,
            status=str(need.status),
            state=need.node.code if need.node else None,
            remote=need.remote,
            required_concepts=[c.slug for c in need.required_concepts],
        )
        return {
            "kind": "need",
            "id": need.id,
            "title": need.title,
            "url": external_url("needs.detail", need_id=need.id),
            "need": dataclasses.asdict(summary),
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


# ---------------------------------------------------------------- events


def _event_json(
    event: Event, user: Any, seats: tuple[int, int], registration: Registration | None
) -> dict[str, Any]:
    """One event as the caller may see it. The online link is the door to the room: the key is
    left out, not emptied, for anyone but the hosts and confirmed attendees."""
    zone = event.zone
    active = registration if registration is not None and registration.is_active else None
    body = EventOut(
        id=event.id,
        title=event.title,
        description=event.description,
        chapters=[EventHostOut(slug=c.slug, name=c.name) for c in event.hosts],
        starts_at=event.local_start.isoformat(),
        ends_at=event.local_end.isoformat(),
        starts_at_utc=event.starts_at.astimezone(UTC).isoformat(),
        timezone=event.timezone,
        format=event.format,
        venue=event.venue,
        address=event.address,
        city=event.city,
        country=event.country,
        language=event.language,
        capacity=event.capacity,
        seats_taken=seats[0],
        waitlist_length=seats[1],
        visibility=event.visibility,
        status=event.status,
        topics=[
            EventTopicOut(slug=c.slug, label_es=c.label_es, label_en=c.label_en)
            for c in event.topics
        ],
        registration_opens_at=_local_iso(event.registration_opens_at, zone),
        registration_closes_at=_local_iso(event.registration_closes_at, zone),
        url=external_url("events.detail", event_id=event.id),
        ics_url=external_url("events.event_ics", event_id=event.id),
        online_url=event.online_url if can_see_online_link(user, event, registration) else None,
        my_registration=MyRegistrationOut(
            status=active.status, position=event_services.waitlist_position(active)
        )
        if active
        else None,
    )
    data = dataclasses.asdict(body)
    for optional in ("online_url", "my_registration"):
        if data[optional] is None:
            del data[optional]
    return data


def _local_iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment else None


def _events_json(events: list[Event], user: Any) -> list[dict[str, Any]]:
    """Events of one page with their seat counts and the caller's registrations: two queries
    for the page, whatever its size."""
    ids = [e.id for e in events]
    seats: dict[int, tuple[int, int]] = {}
    mine: dict[int, Registration] = {}
    if ids:
        # Belongs in network.events.queries next to count_seats (a batch of it).
        rows = db.session.execute(
            select(
                Registration.event_id,
                func.count(case((Registration.status == RegistrationStatus.CONFIRMED, 1))),
                func.count(case((Registration.status == RegistrationStatus.WAITLISTED, 1))),
            )
            .where(Registration.event_id.in_(ids))
            .group_by(Registration.event_id)
        )
        seats = {event_id: (confirmed, waiting) for event_id, confirmed, waiting in rows}
        if user is not None:
            mine = {
                r.event_id: r
                for r in db.session.scalars(
                    select(Registration).where(
                        Registration.user_id == user.id, Registration.event_id.in_(ids)
                    )
                )
            }
    return [_event_json(e, user, seats.get(e.id, (0, 0)), mine.get(e.id)) for e in events]


def _visible_event(event_id: int, user: Any) -> Event:
    """The event if the caller may see it, with the pages' rules: a draft is as absent as a
    missing event for all but its hosts; members-only events want a member's (or IME's) token."""
    event = event_queries.get_event(event_id)
    if not can_see_event(user, event):
        if event.status == EventStatus.DRAFT:
            abort(404, description=_("No such event."))
        if user is None:
            abort(401, description=_("This event is for members: send a member's API token."))
        abort(403, description=_("This event is for members of the network."))
    return event


def _bool_arg(name: str, default: bool) -> bool:
    """A boolean query parameter; given empty, it is neither true nor false (400), as the
    document's `boolean` says."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    abort(
        400,
        description=_(
            "'%(name)s' must be true or false, not %(value)s.", name=name, value=repr(raw[:40])
        ),
    )


@bp.get("/events")
@documented(
    EventOut,
    paginated=True,
    anonymous=True,
    params=(
        QueryParam("chapter", str, "Only events this chapter hosts or co-hosts (slug)."),
        QueryParam(
            "upcoming",
            bool,
            "true (default): events not over yet, soonest first; false: past events, latest first.",
        ),
        *PAGING,
    ),
)
def events() -> ResponseReturnValue:
    """Published and cancelled events the caller may see.

    Anonymous callers see public events; a member's or IME's token adds members-only events.
    Drafts are never listed: their hosts read them by id.
    """
    user = _optional_token_user()
    page, per_page = _paging()
    upcoming = _bool_arg("upcoming", True)
    chapter = request.args.get("chapter") or ""
    known = {c.slug for c in chapter_queries.list_chapters(include_inactive=True)}
    if chapter and chapter not in known:
        abort(400, description=_("Unknown chapter %(value)s.", value=repr(chapter[:60])))
    filters = event_queries.EventFilters(chapter=chapter, when="upcoming" if upcoming else "past")
    pagination = event_queries.list_events(user, filters, page, per_page)
    return jsonify(
        items=_events_json(list(pagination.items), user),
        page=pagination.page,
        per_page=pagination.per_page,
        total=pagination.total or 0,
        pages=pagination.pages,
    )


@bp.get("/events/<int:event_id>")
@documented(EventOut, anonymous=True, errors=(403, 404))
def event(event_id: int) -> ResponseReturnValue:
    """One event, with the caller's registration if they have one.

    Drafts answer 404 to all but their hosts; members-only events answer 401 without a token
    and 403 to accounts that are not members.
    """
    user = _optional_token_user()
    found = _visible_event(event_id, user)
    (body,) = _events_json([found], user)
    return jsonify(body)


# Request fields -> their JSON type, from the schema the OpenAPI document shows.
EVENT_FIELDS = get_type_hints(EventIn)


def _required_fields(schema: type) -> tuple[str, ...]:
    """A request schema's fields without a default: a request must send them."""
    return tuple(
        f.name
        for f in dataclasses.fields(schema)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


def _defaults(schema: type) -> dict[str, Any]:
    return {
        f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        for f in dataclasses.fields(schema)
        if f.name not in _required_fields(schema)
    }


def _missing(schema: type, sent: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [
        (name, _("This field is required."))
        for name in _required_fields(schema)
        if name not in sent
    ]


_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


def _fits(value: Any, hint: Any) -> bool:
    """Whether a decoded JSON value has the type a request field declares."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if hint is int:  # within 32 bits: larger ids or counts are nonsense, and SQLite overflows
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**31
    if issubclass(hint, enum.Enum):
        return isinstance(value, str)  # which values: a 422 naming the choices
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    """A JSON type in words, in the response's language."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return functools.reduce(
            lambda first, second: _("%(first)s or %(second)s", first=first, second=second),
            (_type_name(arg) for arg in typing.get_args(hint)),
        )
    if typing.get_origin(hint) is list:
        item = typing.get_args(hint)[0]
        return _("a list of whole numbers") if item is int else _("a list of strings")
    if issubclass(hint, enum.Enum):
        hint = str
    return {
        str: _("a string"),
        int: _("a whole number"),
        bool: _("true or false"),
        type(None): _("null"),
    }[hint]


def _one_of(name: str, choices: Iterable[str]) -> str:
    return _("'%(name)s' must be one of: %(choices)s.", name=name, choices=", ".join(choices))


def _choose_one_of(choices: Iterable[str]) -> str:
    return _("Choose one of: %(choices)s.", choices=", ".join(choices))


def _unknown_country(raw: str) -> str:
    return _("Unknown country code %(value)s.", value=repr(raw[:10]))


def _json_object(hints: dict[str, Any], what: str, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, with known keys of the right JSON types (400 otherwise).
    With `optional`, an empty body stands for `{}`."""
    if optional and not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description=_("Send a JSON object with %(what)s.", what=what))
    unknown = sorted(set(body) - set(hints))
    if unknown:
        abort(400, description=_("Unknown fields: %(names)s.", names=", ".join(unknown)[:200]))
    for name, value in body.items():
        if not _fits(value, hints[name]):
            abort(
                400,
                description=_(
                    "'%(name)s' must be %(type)s.", name=name, type=_type_name(hints[name])
                ),
            )
    return body


def _local_time(name: str, raw: str | None, problems: list) -> datetime | None:
    """A naive wall-clock time. An offset is refused rather than converted: the event's zone
    decides the instant, and a silent conversion would hide a client's mistake. A malformed
    value is a 400; a well-formed one naming no real moment (30 February) a problem for the 422."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        value = None
    if value is not None and value.tzinfo is not None:
        abort(
            400,
            description=_(
                "'%(name)s' is a wall-clock time in the event's 'timezone': send it without an "
                "offset, like 2027-03-05T18:00, not %(value)s.",
                name=name,
                value=repr(raw[:40]),
            ),
        )
    if not _LOCAL_TIME.fullmatch(raw.strip()):
        abort(
            400,
            description=_(
                "'%(name)s' must be a local date and time like 2027-03-05T18:00, not %(value)s.",
                name=name,
                value=repr(raw[:40]),
            ),
        )
    if value is None:
        problems.append((name, _("No such date or time: %(value)s.", value=repr(raw[:40]))))
    return value


def _choice(name: str, raw: str, kind: type[enum.StrEnum], problems: list) -> Any:
    try:
        return kind(raw)
    except ValueError:
        problems.append((name, _choose_one_of(kind)))
        return None


def _clean_event(
    sent: dict[str, Any], hostable: list[Chapter]
) -> tuple[dict[str, Any], list[tuple[str | None, str]]]:
    """Sent API fields -> EventData values, plus the problems found (what the form's shape
    checks catch on the pages; the services check the rules)."""
    values: dict[str, Any] = {}
    problems: list[tuple[str | None, str]] = []
    for name in ("title", "description", "venue", "address", "city", "online_url"):
        if name not in sent:
            continue
        text = sent[name].strip() if name != "description" else sent[name]
        limit = getattr(Event.__table__.c[name].type, "length", None) or MAX_EVENT_DESCRIPTION
        if len(text) > limit:
            problems.append((name, _("At most %(limit)s characters.", limit=limit)))
        values[name] = text
    if "title" in values and not values["title"]:
        problems.append(("title", _("This field is required.")))
    for name, target in (
        ("starts_at", "starts_local"),
        ("ends_at", "ends_local"),
        ("registration_opens_at", "opens_local"),
        ("registration_closes_at", "closes_local"),
    ):
        if name in sent:
            values[target] = _local_time(name, sent[name], problems)
    if "timezone" in sent:
        values["timezone"] = sent["timezone"].strip()
    for name, kind in (
        ("format", EventFormat),
        ("visibility", EventVisibility),
        ("status", EventStatus),
    ):
        if name in sent:
            values[name] = _choice(name, sent[name], kind, problems)
    if "language" in sent:
        values["language"] = sent["language"]
        if sent["language"] not in EVENT_LANGUAGES:
            problems.append(("language", _choose_one_of(EVENT_LANGUAGES)))
    if "country" in sent:
        values["country"] = (sent["country"] or "").strip().upper() or None
        if values["country"] and not is_country(values["country"]):
            problems.append(("country", _unknown_country(sent["country"])))
    if "capacity" in sent:
        values["capacity"] = sent["capacity"]
    if "chapters" in sent:
        by_slug = {c.slug: c for c in hostable}
        unknown = [slug for slug in sent["chapters"] if slug not in by_slug]
        if unknown:
            problems.append(
                ("chapters", _("Unknown chapter: %(names)s.", names=", ".join(unknown)[:200]))
            )
        values["hosts"] = list(
            {slug: by_slug[slug] for slug in sent["chapters"] if slug in by_slug}.values()
        )
    if "topics" in sent:
        concepts, unknown = resolve_expertise(split_list(sent["topics"]))
        if unknown:
            problems.append(
                (
                    "topics",
                    _("Not an expertise concept: %(names)s.", names="; ".join(unknown)[:200]),
                )
            )
        values["topics"] = concepts
    if "questions" in sent:
        if any(len(q.strip()) > MAX_QUESTION_LENGTH for q in sent["questions"]):
            problems.append(
                ("questions", _("At most %(limit)s characters each.", limit=MAX_QUESTION_LENGTH))
            )
        values["questions"] = sent["questions"]
    return values, problems


def _current_event_data(event: Event) -> event_services.EventData:
    """The event as it stands, in the services' terms: the base a partial edit changes."""
    zone = event.zone

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone).replace(tzinfo=None) if moment else None

    return event_services.EventData(
        title=event.title,
        description=event.description,
        hosts=list(event.hosts),
        starts_local=local(event.starts_at),
        ends_local=local(event.ends_at),
        timezone=event.timezone,
        format=event.format,
        visibility=event.visibility,
        status=event.status,
        language=event.language,
        venue=event.venue,
        address=event.address,
        city=event.city,
        country=event.country,
        online_url=event.online_url,
        capacity=event.capacity,
        opens_local=local(event.registration_opens_at),
        closes_local=local(event.registration_closes_at),
    )


def _refused(error: ValidationError) -> ResponseReturnValue:
    """A service's refusal: 409 when the event's state refuses it, else 422 for the field."""
    db.session.rollback()
    if isinstance(error, Conflict):
        abort(409, description=str(error.message))
    return _invalid_values([(error.field, str(error.message))])


def _refuse_foreign_hosts(user: Any, chapters: list[Chapter]) -> None:
    denied = [c.name for c in chapters if not can_host_events_for(user, c)]
    if denied:
        abort(
            403,
            description=_(
                "You can only host events for chapters you coordinate, not %(names)s.",
                names=", ".join(denied)[:200],
            ),
        )


@bp.post("/events")
@token_required
@documented(EventCreatedOut, request_body=EventIn, status=201, errors=(403,))
def create_event() -> ResponseReturnValue:
    """Create an event, as a coordinator of every hosting chapter or as IME.

    Malformed JSON or times answer 400; invalid values 422 with the fields at fault; a chapter
    the token's account does not coordinate 403.
    """
    user = g.api_user
    if not (is_ime_admin(user) or user.coordinated_chapter_ids):
        abort(403, description=_("Only chapter coordinators and IME create events."))
    sent = _json_object(EVENT_FIELDS, _("the event's fields"))
    values, problems = _clean_event({**_defaults(EventIn), **sent}, chapter_queries.list_chapters())
    problems += _missing(EventIn, sent)
    if problems:
        return _invalid_values(problems)
    _refuse_foreign_hosts(user, values["hosts"])
    try:
        created = event_services.create_event(user, event_services.EventData(**values))
    except ValidationError as error:
        return _refused(error)
    db.session.commit()
    return jsonify(dataclasses.asdict(EventCreatedOut(id=created.id))), 201


@bp.patch("/events/<int:event_id>")
@token_required
@documented(EventOut, request_body=EventPatchIn, errors=(403, 404))
def update_event(event_id: int) -> ResponseReturnValue:
    """Edit an event, as a coordinator of one of its hosts or as IME.

    Send only the fields to change. A host's coordinators may add or remove only chapters they
    coordinate; the other hosts stay.
    """
    user = g.api_user
    found = _visible_event(event_id, user)
    if not can_manage_event(user, found):
        abort(403, description=_("Only the hosts' coordinators can edit this event."))
    sent = _json_object(EVENT_FIELDS, _("the event's fields"))
    hostable = {c.id: c for c in [*chapter_queries.list_chapters(), *found.hosts]}
    values, problems = _clean_event(sent, list(hostable.values()))
    if problems:
        return _invalid_values(problems)
    if "chapters" in sent and "country" not in sent:
        values["country"] = None  # follows the first host, as it does when edited on the page
    data = dataclasses.replace(_current_event_data(found), **values)
    before, after = found.host_ids, {c.id for c in data.hosts}
    _refuse_foreign_hosts(user, [hostable[i] for i in sorted(before ^ after)])
    try:
        event_services.update_event(found, user, data)
    except ValidationError as error:
        return _refused(error)
    db.session.commit()
    (body,) = _events_json([found], user)
    return jsonify(body)


@bp.post("/events/<int:event_id>/registrations")
@token_required
@documented(RegistrationOut, status=201, errors=(403, 404, 409))
def register_for_event(event_id: int) -> ResponseReturnValue:
    """Register the token's member: a seat if one is free, else a place on the waitlist.

    409 when registration is closed (not yet open, past its closing time, the event started or
    was cancelled) or the member is already registered.
    """
    user = g.api_user
    found = _visible_event(event_id, user)
    if not is_member_account(user):
        abort(403, description=_("Only member accounts register for events."))
    try:
        registration = event_services.register(user, found)
    except ValidationError as error:
        return _refused(error)
    db.session.commit()
    body = RegistrationOut(
        status=registration.status,
        position=event_services.waitlist_position(registration),
    )
    return jsonify(dataclasses.asdict(body)), 201


@bp.delete("/events/<int:event_id>/registrations/me")
@token_required
@documented(CancellationOut, errors=(403, 404, 409))
def cancel_my_registration(event_id: int) -> ResponseReturnValue:
    """Give up the token's member's seat or place on the waitlist.

    A freed seat goes to the head of the waitlist, who is told by e-mail. 404 without a
    registration; 409 once the event has started.
    """
    user = g.api_user
    found = _visible_event(event_id, user)
    registration = event_queries.get_registration(user, found)
    if registration is None or not registration.is_active:
        abort(404, description=_("You are not registered for this event."))
    try:
        promoted = event_services.cancel_registration(user, found)
    except ValidationError as error:
        return _refused(error)
    promoted_id = promoted.user_id if promoted else None
    db.session.commit()
    return jsonify(dataclasses.asdict(CancellationOut(status="cancelled", promoted=promoted_id)))


from network.api import needs as _needs  # noqa: E402,F401  (routes attach to bp)
