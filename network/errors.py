"""Domain exceptions and the error pages (HTML for people, JSON for the API)."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class ValidationError(Exception):
    """A business rule refused the input. `field` names the form field the message belongs to."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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
    413: (_l("Request too large"), _l("What you sent is larger than we accept.")),
    429: (
        _l("Too many attempts"),
        _l("You have tried too many times in a short period. Please wait a minute and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred on our side. It has been logged; please try again later."),
    ),
}


def wants_json() -> bool:
    """The API always answers in JSON, whatever the error, so clients never parse an HTML page."""
    return request.path.startswith("/api/")


def _handle_http_error(error: HTTPException):
    code = error.code or 500
    title, message = ERROR_TEXTS.get(code, (error.name, error.description))
    if wants_json():
        detail = error.description if code < 500 and error.description else str(message)
        body = {"error": {"code": code, "title": str(title), "message": detail}}
        return jsonify(body), code, _extra_headers(error)
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
        return jsonify({"error": {"code": 400, "title": str(title), "message": str(message)}}), 400
    return render_template("errors/error.html", code=400, title=title, message=message), 400


def _handle_unexpected(error: Exception):
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return _handle_http_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
