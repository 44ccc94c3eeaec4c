"""The API's error answers, one piece: the documented error body, what each status means in the
document, the answer to a request webargs refused, and the service field names the API renames.

Every error body is network.errors' `api_error_body` ({"error": {"code", "title", "message",
"fields"}}); a service's refusal (network.errors' DomainError) is answered by the app's one
handler, so the resources only raise or let it pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

from flask import abort
from flask_babel import gettext as _
from marshmallow.fields import Integer, List, Nested, String

from network.api.schemas.fields import UNKNOWN_FIELD, Problem, Response
from network.errors import ValidationError

# What each error status means, as the document says it.
ERROR_DESCRIPTIONS = {
    400: "Malformed request: not JSON, a wrong type, an unknown field or parameter value, or a "
    "NUL character (never accepted in any text)",
    401: "Missing or invalid token",
    403: "Not allowed for this token's account",
    404: "No such resource, or not visible to the caller",
    409: "Refused by the resource's current state",
    422: "Invalid values",
    429: "A limit is reached (e.g. the expert already has as many requests as the caps allow)",
}
ANONYMOUS_401 = "A token that is not valid (none is needed)"


class FieldError(Response):
    inline = True
    field = String(required=True, allow_none=True)
    message = String(required=True)


class ErrorDetail(Response):
    inline = True
    code = Integer(required=True)
    title = String(required=True)
    message = String(required=True)
    fields = List(
        Nested(FieldError),
        metadata={"description": "With 422: each invalid field and why."},
    )


class Error(Response):
    """The body of every error answer (network.errors.api_error_body)."""

    error = Nested(ErrorDetail, required=True)


def _flatten(messages: Any, name: str | None = None) -> Iterator[tuple[str | None, Problem]]:
    """(property, problem) of webargs' messages: {location: {property: [problem] or {index:
    [problem]}}}; a list's items answer under the list's name."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, key if isinstance(key, str) and name is None else name)
    elif isinstance(messages, list):
        for value in messages:
            yield from _flatten(value, name)
    elif isinstance(messages, Problem):
        yield name, messages
    else:  # a message of marshmallow's own, which no field of ours leaves
        yield name, Problem(str(messages))


def refuse_invalid_request(messages: Mapping[str, Any]) -> NoReturn:
    """webargs refused the request: 400 for a malformed one (unknown properties first, then the
    first of a wrong type, a malformed time or date, a bad query parameter), else 422 naming
    each field with its problem, in the response's language."""
    found = [
        (None if name == "_schema" else name, problem)  # "_schema": the whole submission's
        for location in messages.values()
        for name, problem in _flatten(location)
    ]
    unknown = sorted(name or "" for name, problem in found if problem is UNKNOWN_FIELD)
    if unknown:
        abort(400, description=_("Unknown fields: %(names)s.", names=", ".join(unknown)[:200]))
    for name, problem in found:
        if problem.malformed:
            abort(400, description=problem.render(name))
    raise ValidationError.of([(name, problem.render(name)) for name, problem in found])


@contextmanager
def service_fields(names: Mapping[str, str]) -> Iterator[None]:
    """A service's 422 names some fields as the pages' forms do; the API answers with its own
    property names. Other refusals (409, 429, ...) pass unchanged to the app's one handler."""
    try:
        yield
    except ValidationError as error:
        if error.status != 422:
            raise
        renamed = [(names.get(field or "", field), message) for field, message in error.problems]
        raise ValidationError.of(renamed) from error
