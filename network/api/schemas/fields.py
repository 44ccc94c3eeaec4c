"""The fields and validators every API schema is made of, with the API's own (translated) messages.

marshmallow's messages are English and know nothing of the field they belong to; the API's errors
name the property and speak the request's language (network.i18n). So every field here stores a
`Problem`: a lazy message rendered with the property's name when the error is answered
(network.api.errors), marked `malformed` where the old contract answers 400 (a wrong JSON type, a
malformed time or date, a bad query parameter) rather than 422 (a value the rules refuse).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing, validate

# Ids and counts are 32-bit: larger ones are nonsense, and SQLite overflows beyond 64 bits.
MAX_INT = 2**31 - 1


class Problem(str):
    """One field's message, rendered with the field's name once it is known. marshmallow's
    validators call `format(input=..., min=..., max=..., choices=...)` on their message; those
    values are kept, with `value` (the input as the caller sent it, shortened) and the names the
    catalogue's messages use for bounds (`minimum`, `maximum`, `limit`).

    A `str` only because marshmallow wants its messages to be strings (it wraps them in lists and
    extends lists with them); what it says is `render`, and two problems are never equal."""

    text: Any
    malformed: bool
    values: dict[str, Any]

    def __new__(cls, text: Any, *, malformed: bool = False, **values: Any) -> Problem:
        problem = super().__new__(cls, "problem")
        problem.text = text
        problem.malformed = malformed
        problem.values = values
        return problem

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def format(self, *args: Any, **values: Any) -> Problem:  # type: ignore[override]
        if "input" in values:
            raw = values["input"]
            values["value"] = repr(raw[:40]) if isinstance(raw, str) else repr(raw)
        if "min" in values:
            values["minimum"] = values["min"]
        if "max" in values:
            values["maximum"] = values["limit"] = values["max"]
        return Problem(self.text, malformed=self.malformed, **{**self.values, **values})

    def render(self, name: str | None) -> str:
        values = {
            key: value if isinstance(value, int | float) else str(value)
            for key, value in self.values.items()
        }
        return str(self.text) % {"name": name, **values}

    def __str__(self) -> str:
        return self.render(None)


class _Either:
    """ "X or Y", in the language of the moment it is read."""

    def __init__(self, first: Any, second: Any) -> None:
        self.first, self.second = first, second

    def __str__(self) -> str:
        return _("%(first)s or %(second)s", first=str(self.first), second=str(self.second))


REQUIRED = _l("This field is required.")
# marshmallow stores this one object for each property it does not know; the answer lists them.
UNKNOWN_FIELD = Problem(_l("Unknown fields: %(names)s."), malformed=True)
MUST_BE = _l("'%(name)s' must be %(type)s.")


class _Messages:
    """The API's messages on a marshmallow field: `required` (422) and, for a value of the
    wrong JSON type or null where null is refused, "'name' must be <type>" (400)."""

    words: ClassVar[Any] = _l("a string")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.type_words()
        if self.allow_none:  # type: ignore[attr-defined]
            kind = _Either(kind, _l("null"))
        wrong = Problem(MUST_BE, malformed=True, type=kind)
        self.error_messages = {  # type: ignore[has-type]
            **self.error_messages,  # type: ignore[has-type]
            "required": Problem(REQUIRED),
            "null": wrong,
            "invalid": wrong,
        }

    def type_words(self) -> Any:
        return self.words

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        message = self.error_messages[key]
        if isinstance(message, Problem):
            return ValidationError(message.format(**kwargs))  # type: ignore[arg-type]
        return super().make_error(key, **kwargs)  # type: ignore[misc]


class String(_Messages, fields.String):
    """A JSON string."""


class Integer(_Messages, fields.Integer):
    """A JSON whole number within 32 bits (never a string of digits, never true or false)."""

    words = _l("a whole number")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INT:
            raise self.make_error("invalid")
        return value


class Boolean(_Messages, fields.Boolean):
    """JSON true or false (never "yes", 1 or a string)."""

    words = _l("true or false")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class List(_Messages, fields.List):
    """A JSON array; an item of the wrong type makes the whole list malformed, as the property's
    type says ("a list of strings"), while items a validator refuses are the property's 422."""

    def type_words(self) -> Any:
        if isinstance(self.inner, Integer):
            return _l("a list of whole numbers")
        return _l("a list of strings")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as error:
            if any(p.malformed for p in problems_in(error.messages)):
                raise self.make_error("invalid") from error
            raise


class StringOrList(_Messages, fields.Field):
    """A `;`-separated string or a JSON array of strings (the profile's lists, as the form and as
    a client would send them)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        super().__init__(metadata={**metadata, **kwargs.pop("metadata", {})}, **kwargs)

    def type_words(self) -> Any:
        return _Either(_l("a string"), _l("a list of strings"))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | list[str]:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        raise self.make_error("invalid")


class Date(_Messages, fields.Date):
    """A calendar date, `YYYY-MM-DD`; anything else (or no such day) is malformed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_messages["format"] = Problem(
            _l("'%(name)s' must be a date like 2027-03-05, not %(value)s."), malformed=True
        )

    def type_words(self) -> Any:
        return _l("a string")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                return date.fromisoformat(value.strip())
        except ValueError:
            pass
        raise self.make_error("format", input=value)


# A wall-clock time without an offset, as the event API takes it (the API also accepts a space
# for the `T` and refuses impossible dates such as 30 February).
LOCAL_TIME_PATTERN = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
)
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


class LocalDateTime(String):
    """A naive wall-clock time. An offset is refused rather than converted: the event's zone
    decides the instant, and a silent conversion would hide a client's mistake. A malformed value
    is a 400; a well-formed one naming no real moment (30 February) a 422."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"pattern": LOCAL_TIME_PATTERN}, **kwargs)
        self.error_messages |= {
            "offset": Problem(
                _l(
                    "'%(name)s' is a wall-clock time in the event's 'timezone': send it without "
                    "an offset, like 2027-03-05T18:00, not %(value)s."
                ),
                malformed=True,
            ),
            "format": Problem(
                _l(
                    "'%(name)s' must be a local date and time like 2027-03-05T18:00, not %(value)s."
                ),
                malformed=True,
            ),
            "no_such_time": Problem(_l("No such date or time: %(value)s.")),
        }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            raise self.make_error("offset", input=raw)
        if not _LOCAL_TIME.fullmatch(raw.strip()):
            raise self.make_error("format", input=raw)
        if moment is None:
            raise self.make_error("no_such_time", input=raw)
        return moment


class Count(fields.Raw):
    """A count of people, or the string "< 5" when it is small enough to single someone out."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"oneOf": [{"type": "integer"}, {"type": "string"}]}, **kwargs)


# ---------------------------------------------------------------- validators


def one_of(choices: Iterable[Any], *, or_null: bool = False) -> validate.OneOf:
    """A value among `choices` (the document's `enum`); another is a 422 naming them."""
    if or_null:
        message = _l("Choose one of: %(choices)s (or null).")
    else:
        message = _l("Choose one of: %(choices)s.")
    return validate.OneOf([str(c) for c in choices], error=Problem(message))  # type: ignore[arg-type]


def enum_out(kind: Iterable[Any], **kwargs: Any) -> fields.String:
    """A response's coded value, documented with the values it takes."""
    return fields.String(validate=validate.OneOf([str(c) for c in kind]), **kwargs)


# What a text's or a list's size beyond its bounds is told: at most, at least, between.
_SIZE_MESSAGES = {
    "characters": (
        _l("At most %(limit)s characters."),
        _l("At least %(minimum)s characters."),
        _l("Between %(minimum)s and %(maximum)s characters."),
    ),
    "items": (
        _l("At most %(limit)s items."),
        _l("At least %(minimum)s items."),
        _l("Between %(minimum)s and %(maximum)s items."),
    ),
}


def _size(unit: str, minimum: int | None, maximum: int | None) -> validate.Length:
    at_most, at_least, within = _SIZE_MESSAGES[unit]
    message = at_most if minimum is None else at_least if maximum is None else within
    return validate.Length(minimum, maximum, error=Problem(message))  # type: ignore[arg-type]


def length(minimum: int | None = None, maximum: int | None = None) -> validate.Length:
    """A text's length in characters (the document's minLength/maxLength), a 422 beyond."""
    return _size("characters", minimum, maximum)


def items(minimum: int | None = None, maximum: int | None = None) -> validate.Length:
    """A list's length (the document's minItems/maxItems), a 422 beyond."""
    return _size("items", minimum, maximum)


def between(minimum: int, maximum: int) -> validate.Range:
    """A number's bounds (the document's minimum/maximum), a 422 beyond."""
    message = _l("Between %(minimum)s and %(maximum)s.")
    return validate.Range(minimum, maximum, error=Problem(message))  # type: ignore[arg-type]


def problems_in(messages: Any) -> list[Problem]:
    """Every Problem of marshmallow's (nested) error messages."""
    if isinstance(messages, Problem):
        return [messages]
    if isinstance(messages, Mapping):
        return [p for value in messages.values() for p in problems_in(value)]
    if isinstance(messages, list):
        return [p for value in messages for p in problems_in(value)]
    return []


# ---------------------------------------------------------------- query parameters


class QueryInteger(Integer):
    """A whole number in the query string, within its bounds: anything else is a 400."""

    def __init__(self, minimum: int, maximum: int, **kwargs: Any) -> None:
        bounds = validate.Range(
            minimum,
            maximum,
            error=Problem(  # type: ignore[arg-type]
                _l("'%(name)s' must be between %(minimum)s and %(maximum)s."), malformed=True
            ),
        )
        super().__init__(validate=bounds, **kwargs)
        self.error_messages["invalid"] = Problem(
            _l("'%(name)s' must be a whole number, not %(value)s."), malformed=True
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.make_error("invalid", input=value) from None


class QueryBoolean(Boolean):
    """true/1/yes or false/0/no in the query string; given empty, it is neither (400)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_messages["invalid"] = Problem(
            _l("'%(name)s' must be true or false, not %(value)s."), malformed=True
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if str(value).lower() in {"true", "1", "yes"}:
            return True
        if str(value).lower() in {"false", "0", "no"}:
            return False
        raise self.make_error("invalid", input=value)


class QueryString(String):
    """A text in the query string; with `choices`, any other value is a 400 naming them."""

    def __init__(self, *, choices: Iterable[Any] = (), **kwargs: Any) -> None:
        listed = [str(c) for c in choices]
        if listed:
            error = Problem(_l("'%(name)s' must be one of: %(choices)s."), malformed=True)
            kwargs["validate"] = validate.OneOf(listed, error=error)  # type: ignore[arg-type]
        super().__init__(**kwargs)


# ---------------------------------------------------------------- schemas


class RequestBody(Schema):
    """A JSON request body: unknown properties are refused (the document's
    `additionalProperties: false`). `what` names the body in "Send a JSON object with ..." and
    an `optional` body may be left out (then it is `{}`)."""

    what: ClassVar[Any] = _l("the fields to change")
    optional: ClassVar[bool] = False
    # A partial edit: what is sent changes, nothing is required (a PATCH).
    partial_edit: ClassVar[bool] = False

    class Meta:
        unknown = RAISE

    error_messages: ClassVar[dict[str, Any]] = {"unknown": UNKNOWN_FIELD}  # type: ignore[misc]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=self.partial_edit or None, **kwargs)
        if self.partial_edit:  # what is not sent keeps its value: no defaults, documented or not
            for field in self.fields.values():
                field.load_default = missing


class Query(Schema):
    """Query parameters: ones the document does not list are ignored, as before."""

    class Meta:
        unknown = EXCLUDE


class Response(Schema):
    """A response body, dumped from the dict a handler builds; properties the schema does not
    declare are never sent, and the document does not forbid new ones (clients ignore them)."""

    class Meta:
        unknown = EXCLUDE
