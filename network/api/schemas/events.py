"""Events: what they look like, a new one and a change to one, and registrations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields

from network.api.pagination import PageArgs
from network.api.schemas import fields as f
from network.api.schemas.fields import (
    QueryBoolean,
    QueryString,
    RequestBody,
    Response,
    between,
    enum_out,
    items,
    length,
    one_of,
)
from network.events.forms import EVENT_LANGUAGES
from network.events.models import (
    Event,
    EventFormat,
    EventStatus,
    EventVisibility,
    RegistrationStatus,
)
from network.events.services import MAX_QUESTIONS

MAX_QUESTION_LENGTH = 200
MAX_EVENT_DESCRIPTION = 10_000


def _column_length(name: str) -> int:
    """The longest text the event's column holds: the API refuses longer ones (422)."""
    return Event.__table__.c[name].type.length  # type: ignore[attr-defined]


class EventArgs(PageArgs):
    """Which events to list."""

    chapter = QueryString(
        metadata={"description": "Only events this chapter hosts or co-hosts (slug)."}
    )
    upcoming = QueryBoolean(
        load_default=True,
        metadata={
            "description": "true (default): events not over yet, soonest first; false: past "
            "events, latest first."
        },
    )


class EventHostOut(Response):
    """A chapter hosting the event."""

    slug = fields.String(required=True)
    name = fields.String(required=True)


class EventTopicOut(Response):
    """An expertise concept the event is about, in both languages."""

    slug = fields.String(required=True)
    label_es = fields.String(required=True)
    label_en = fields.String(required=True)


class MyRegistrationOut(Response):
    """The token's own place at the event; `position` is 1 for the head of the waitlist."""

    status = enum_out(RegistrationStatus, required=True)
    position = fields.Integer(required=True, allow_none=True)


class EventOut(Response):
    """An event. Local times carry the offset of the event's zone; `online_url` is present only
    for the hosts and confirmed attendees, `my_registration` only when the token's member holds
    a seat or a place on the waitlist."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    chapters = fields.List(fields.Nested(EventHostOut), required=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(required=True)
    starts_at_utc = fields.String(required=True)
    timezone = fields.String(required=True)
    format = enum_out(EventFormat, required=True)
    venue = fields.String(required=True)
    address = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True, allow_none=True)
    language = fields.String(required=True)
    capacity = fields.Integer(required=True, allow_none=True)
    seats_taken = fields.Integer(required=True)
    waitlist_length = fields.Integer(required=True)
    visibility = enum_out(EventVisibility, required=True)
    status = enum_out(EventStatus, required=True)
    topics = fields.List(fields.Nested(EventTopicOut), required=True)
    registration_opens_at = fields.String(required=True, allow_none=True)
    registration_closes_at = fields.String(required=True, allow_none=True)
    url = fields.String(required=True)
    ics_url = fields.String(required=True)
    online_url = fields.String(allow_none=True)
    my_registration = fields.Nested(MyRegistrationOut, allow_none=True)


class EventIn(RequestBody):
    """A new event. Times are local wall-clock times in `timezone`, without an offset
    (`2027-03-05T18:00`). `chapters` are the hosting chapters' slugs (IME may leave it empty for
    a network-wide event); `topics` are expertise concept slugs or labels. A new event is a
    draft or published; `cancelled` is only reached by editing."""

    what = _l("the event's fields")

    title = f.String(required=True, validate=length(1, _column_length("title")))
    starts_at = f.LocalDateTime(required=True)
    ends_at = f.LocalDateTime(required=True)
    timezone = f.String(required=True, validate=length(1, 64))
    description = f.String(load_default="", validate=length(maximum=MAX_EVENT_DESCRIPTION))
    chapters = f.List(f.String(), load_default=list)
    format = f.String(load_default=str(EventFormat.IN_PERSON), validate=one_of(EventFormat))
    venue = f.String(load_default="", validate=length(maximum=_column_length("venue")))
    address = f.String(load_default="", validate=length(maximum=_column_length("address")))
    city = f.String(load_default="", validate=length(maximum=_column_length("city")))
    country = f.String(load_default=None, allow_none=True, metadata={"pattern": "^[A-Za-z]{2}$"})
    language = f.String(load_default="es", validate=one_of(EVENT_LANGUAGES))
    online_url = f.String(load_default="", validate=length(maximum=_column_length("online_url")))
    capacity = f.Integer(load_default=None, allow_none=True, validate=between(1, 100_000))
    visibility = f.String(
        load_default=str(EventVisibility.PUBLIC), validate=one_of(EventVisibility)
    )
    status = f.String(load_default=str(EventStatus.DRAFT), validate=one_of(EventStatus))
    registration_opens_at = f.LocalDateTime(load_default=None, allow_none=True)
    registration_closes_at = f.LocalDateTime(load_default=None, allow_none=True)
    topics = f.List(f.String(), load_default=list)
    questions = f.List(
        f.String(validate=length(maximum=MAX_QUESTION_LENGTH)),
        load_default=list,
        validate=items(maximum=MAX_QUESTIONS),
    )


class EventPatchIn(EventIn):
    """Changes to an event: send only the fields to change; the others keep their value.
    Changing `timezone` alone keeps the wall-clock times. `status` may also be `cancelled`
    (everybody registered is told); `null` clears `capacity` and the registration window."""

    partial_edit = True


class EventCreatedOut(Response):
    """The new event's id."""

    id = fields.Integer(required=True)


class RegistrationOut(Response):
    """A seat (`confirmed`) or a place on the waitlist (`waitlisted`, with its position)."""

    status = enum_out(RegistrationStatus, required=True)
    position = fields.Integer(required=True, allow_none=True)


class CancellationOut(Response):
    """The registration is cancelled; `promoted` is the member moved up into the freed seat."""

    status = fields.String(required=True)
    promoted = fields.Integer(required=True, allow_none=True)
