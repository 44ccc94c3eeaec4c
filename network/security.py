"""Roles, access rules and HTTP security headers: every permission check is named here."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, Response, abort, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

if TYPE_CHECKING:
    from chapters.models import Chapter
    from network.events.models import Event, Registration
    from network.needs.models import Need

F = TypeVar("F", bound=Callable[..., Any])


class Role(enum.StrEnum):
    """What kind of account this is. Chapter coordination is per chapter, kept on memberships."""

    MEMBER = "member"
    ORGANISATION = "organisation"
    IME = "ime"


def is_ime_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.role == Role.IME)


def can_manage_chapter(user: Any, chapter: Chapter) -> bool:
    """IME administrators manage every chapter; coordinators only their own."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_ime_admin(user) or chapter.id in user.coordinated_chapter_ids


def dashboard_chapter_ids(user: Any) -> set[int] | None:
    """Whose figures the dashboard shows this user: None for the whole network (IME), the
    chapters a coordinator runs, or an empty set (no dashboard at all)."""
    if is_ime_admin(user):
        return None
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(user.coordinated_chapter_ids)


def is_member_account(user: Any) -> bool:
    """Skilled members have a profile and join chapters; organisation and IME accounts do not."""
    return bool(getattr(user, "is_authenticated", False) and user.role == Role.MEMBER)


def can_join_chapters(user: Any) -> bool:
    """Only skilled members join chapters; organisation accounts speak for an institution."""
    return is_member_account(user)


def can_host_events_for(user: Any, chapter: Chapter) -> bool:
    """Coordinators host events for their own chapters; IME for any chapter or the network."""
    return can_manage_chapter(user, chapter)


def can_manage_event(user: Any, event: Event) -> bool:
    """Every host chapter's coordinators may edit a co-hosted event; IME may edit any event."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_ime_admin(user) or bool(event.host_ids & user.coordinated_chapter_ids)


def can_see_event(user: Any, event: Event) -> bool:
    """Drafts only for their hosts; members-only events for signed-in members and IME."""
    if can_manage_event(user, event):
        return True
    if event.status == "draft":
        return False
    if event.visibility == "members":
        return sees_members_events(user)
    return True


def sees_members_events(user: Any) -> bool:
    """Members-only events are for skilled members' accounts and IME, not organisations."""
    return is_member_account(user) or is_ime_admin(user)


def can_see_online_link(user: Any, event: Event, registration: Registration | None) -> bool:
    """The online link is for confirmed attendees and hosts only: it is the door to the room."""
    if can_manage_event(user, event):
        return True
    return bool(
        registration is not None
        and registration.is_confirmed
        and registration.user_id == getattr(user, "id", None)
    )


def is_verified_organisation_user(user: Any) -> bool:
    """Only users of an organisation IME has verified post needs and contact experts."""
    organisation = getattr(user, "organisation", None)
    return bool(
        getattr(user, "is_authenticated", False)
        and user.role == Role.ORGANISATION
        and organisation is not None
        and organisation.is_verified
    )


def can_manage_need(user: Any, need: Need) -> bool:
    """A need belongs to its organisation: its verified users edit it, shortlist and contact."""
    return is_verified_organisation_user(user) and user.organisation_id == need.organisation_id


def can_see_need(user: Any, need: Need) -> bool:
    """Open, in-progress and completed needs are public; drafts and closed ones stay with their
    organisation's users and IME."""
    if need.is_published or is_ime_admin(user):
        return True
    return bool(
        getattr(user, "is_authenticated", False)
        and user.role == Role.ORGANISATION
        and user.organisation_id == need.organisation_id
    )


def require(allowed: bool) -> None:
    """Abort with 403 unless the rule holds: the one way views refuse access after loading data."""
    if not allowed:
        abort(403)


def login_required(view: F) -> F:
    """Like Flask-Login's, but answers 401 JSON on the API instead of redirecting."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def role_required(*roles: Role) -> Callable[[F], F]:
    """Allow only signed-in accounts of the given roles (others get 403, anonymous log in)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            require(current_user.role in roles)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


ime_required = role_required(Role.IME)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Bootstrap draws small icons as data: SVGs in CSS.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint and not request.endpoint.startswith(("static", "bootstrap")):
        # Pages can hold personal data: never let a shared cache keep them.
        headers.setdefault("Cache-Control", "private, no-store")
    return response


def _refuse_nul_characters() -> None:
    """A NUL character cannot be stored in PostgreSQL text and is never meant: a form or JSON
    body holding one is refused at the door with a clear 400, rather than failing as a database
    error (a 500) deep inside a query. (Query strings lose theirs, see `_QueryWithoutNul`.)"""
    values = request.form.values() if request.form else []
    if any("\x00" in value for value in values) or (
        request.is_json and b"\\u0000" in (request.get_data(cache=True) or b"")
    ):
        abort(400, description=_("The request contains a NUL character, which is not allowed."))


class _QueryWithoutNul:
    """Search boxes and filters are typed or pasted: a stray NUL (%00) is dropped from the query
    string before anyone reads it, so the page answers as if it had not been there."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        query = environ.get("QUERY_STRING", "")
        if "%00" in query:
            environ["QUERY_STRING"] = query.replace("%00", "")
        return self.app(environ, start_response)


def register_security_headers(app: Flask) -> None:
    app.wsgi_app = _QueryWithoutNul(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(_refuse_nul_characters)
    app.after_request(_set_security_headers)
