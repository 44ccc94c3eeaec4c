"""Domain exceptions and the error pages (HTML for people, JSON for the API)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from network.extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the domain refused the request. Services raise these and never touch HTTP;
    `status` is how the one page handler and the one API handler answer an uncaught one."""

    status = 400

    def __init__(self, message: object = None) -> None:
        super().__init__(str(message) if message is not None else type(self).__name__)
        self.message = message


class ValidationError(DomainError):
    """The input breaks a rule. `field` names the form field (or API property) the message
    belongs to, None for the whole submission; `more` carries further problems of the same
    submission, so a member fixes everything in one go."""

    status = 422

    def __init__(
        self,
        field: str | None,
        message: object,
        *,
        more: Sequence[tuple[str | None, object]] = (),
    ) -> None:
        super().__init__(message)
        self.field = field
        self.more = list(more)

    @property
    def problems(self) -> list[tuple[str | None, object]]:
        """Every (field, message) of the submission, the first one included."""
        return [(self.field, self.message), *self.more]

    @classmethod
    def of(cls, problems: Sequence[tuple[str | None, object]]) -> ValidationError:
        """One error for several problems (at least one)."""
        (field, message), *more = problems
        return cls(field, message, more=more)


class Conflict(ValidationError):
    """Well formed, but the current state refuses it: the event is full, the request was
    already answered, the need is closed (HTTP 409)."""

    status = 409


class RateLimited(ValidationError):
    """Allowed in itself, but beyond a fair-use cap for now (HTTP 429)."""

    status = 429


class Forbidden(DomainError):
    """The acting account may not do this (HTTP 403). Views check access first with the
    helpers of network.security; a service raising it is the last line of defence."""

    status = 403


class NotFound(DomainError):
    """There is no such thing, or the acting account may not know it exists (HTTP 404)."""

    status = 404


# Titles and explanations shown on error pages; lazy so they follow the viewer's language.
ERROR_TEXTS = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please check what you sent."),
    ),
    401: (_l("Sign-in required"), _l("You need to sign in to see this page.")),
    403: (_l("Access denied"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("We could not find the page you were looking for.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Not possible right now"), _l("The current state of this item refuses the request.")),
    413: (_l("Request too large"), _l("What you sent is larger than we accept.")),
    422: (_l("Please check what you sent"), _l("Some values are not valid.")),
    429: (
        _l("Too many attempts"),
        _l("You have tried too many times in a short period. Please wait a minute and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred on our side. It has been logged; please try again later."),
    ),
}


# The API's titles, and what an error says when the code gave no reason of its own (Werkzeug's
# defaults are English). Lazy, like the pages', so that every part of a JSON error is in the
# response's one language (network.i18n).
API_ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Authentication required"), _l("Send a valid API token.")),
    403: (_l("Forbidden"), _l("This token's account may not do this.")),
    404: (_l("Not found"), _l("There is nothing at this address.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    406: (_l("Not acceptable"), _l("This address answers in JSON only.")),
    409: (_l("Conflict"), _l("The resource's current state refuses this request.")),
    413: (_l("Request too large"), _l("What you sent is larger than we accept.")),
    415: (_l("Unsupported media type"), _l("Send JSON, with 'Content-Type: application/json'.")),
    422: (_l("Invalid values"), _l("Some values are not valid.")),
    429: (_l("Too many requests"), _l("Too many requests in a short period: wait and try again.")),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred on our side. It has been logged; please try again later."),
    ),
}
API_FALLBACK_TEXTS = (_l("Error"), _l("The request could not be handled."))


def api_error_body(
    code: int, message: object = None, fields: list[dict[str, str]] | None = None
) -> dict[str, object]:
    """The JSON error every API answer shares: its title from the code, its message (the reason
    given, else the code's own), and with 422 the fields at fault, all in one language."""
    title, default = API_ERROR_TEXTS.get(code, API_FALLBACK_TEXTS)
    error: dict[str, object] = {
        "code": code,
        "title": str(title),
        "message": str(message or default),
    }
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def _api_message(error: HTTPException) -> object:
    """The reason the code gave (translated where it was raised, like every message), or None
    for Werkzeug's default text (English) and for a rate limit's description, which is the
    limit's own wording ("10 per 1 hour")."""
    if (error.code or 500) >= 500 or isinstance(error, RateLimitExceeded):
        return None
    if not error.description or error.description == type(error).description:
        return None
    return error.description


def wants_json() -> bool:
    """The API always answers in JSON, whatever the error, so clients never parse an HTML page."""
    return request.path.startswith("/api/")


def _handle_http_error(error: HTTPException):
    code = error.code or 500
    if wants_json():
        return jsonify(api_error_body(code, _api_message(error))), code, _extra_headers(error)
    title, message = ERROR_TEXTS.get(code, (error.name, error.description))
    html = render_template("errors/error.html", code=code, title=title, message=message)
    return html, code, _extra_headers(error)


def _extra_headers(error: HTTPException) -> dict[str, str]:
    headers = {}
    if error.code == 401 and wants_json():
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if error.code == 405 and error.response is None:
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return headers


def _handle_csrf_error(error: HTTPException):
    """A stale or missing form token is usually an old tab: say so instead of "bad request"."""
    title = _l("This form has expired")
    message = _l("For your security, forms expire. Go back, reload the page and send it again.")
    if wants_json():
        return jsonify(api_error_body(400, message)), 400
    return render_template("errors/error.html", code=400, title=title, message=message), 400


def _handle_domain_error(error: DomainError):
    """The one answer to a refusal a view did not handle itself: nothing of the request is kept,
    the API says it in its JSON shape (with the fields at fault for a 422), a page says it on the
    error page, both with the service's own (translated) message."""
    db.session.rollback()
    code = error.status
    if wants_json():
        if isinstance(error, ValidationError) and code == 422:
            fields = [{"field": field, "message": str(text)} for field, text in error.problems]
            summary = "; ".join(
                f"{item['field']}: {item['message']}" if item["field"] else item["message"]
                for item in fields
            )
            body = api_error_body(code, summary, fields)
        else:
            body = api_error_body(code, error.message)
        return jsonify(body), code
    title, default = ERROR_TEXTS.get(code, ERROR_TEXTS[400])
    message = error.message or default
    return render_template("errors/error.html", code=code, title=title, message=message), code


def _handle_unexpected(error: Exception):
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return _handle_http_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(DomainError, _handle_domain_error)
    app.register_error_handler(Exception, _handle_unexpected)
