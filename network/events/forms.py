"""Event forms: shape checks only; network.events.services checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from network.events.models import EventFormat, EventStatus, EventVisibility
from network.geo import language_name, timezone_choices

_required = DataRequired(message=_l("This field is required."))
_datetime = {"format": ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]}
EVENT_LANGUAGES = ("es", "en", "fr", "de", "pt", "it", "nl")

FORMAT_LABELS = {
    EventFormat.IN_PERSON: _l("In person"),
    EventFormat.ONLINE: _l("Online"),
    EventFormat.HYBRID: _l("Hybrid (in person and online)"),
}
VISIBILITY_LABELS = {
    EventVisibility.PUBLIC: _l("Public: anyone can see it"),
    EventVisibility.MEMBERS: _l("Members only"),
}
STATUS_LABELS = {
    EventStatus.DRAFT: _l("Draft (only hosts see it)"),
    EventStatus.PUBLISHED: _l("Published"),
    EventStatus.CANCELLED: _l("Cancelled (registrants are told)"),
}


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(str(value), str(label)) for value, label in labels.items()]


def _language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, language_name(code)) for code in EVENT_LANGUAGES]


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[_required, Length(max=200)])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=10000)],
        description=_l("Markdown: **bold**, *italics*, lists and links."),
        render_kw={"rows": 6},
    )
    chapters = SelectMultipleField(_l("Hosting chapters"), coerce=int, validate_choice=True)
    starts_at = DateTimeLocalField(_l("Starts (local time)"), validators=[_required], **_datetime)
    ends_at = DateTimeLocalField(_l("Ends (local time)"), validators=[_required], **_datetime)
    timezone = SelectField(
        _l("Time zone"),
        choices=timezone_choices,
        validators=[_required],
        description=_l("The times above are wall-clock times in this zone."),
    )
    format = SelectField(_l("Format"), choices=lambda: _choices(FORMAT_LABELS))
    language = SelectField(_l("Language"), choices=_language_choices)
    venue = StringField(_l("Venue"), validators=[Length(max=200)])
    address = StringField(_l("Address"), validators=[Length(max=300)])
    city = StringField(_l("City"), validators=[Length(max=120)])
    online_url = StringField(
        _l("Online link"),
        validators=[Length(max=500)],
        description=_l("Shown only to confirmed attendees and hosts."),
    )
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=1, max=100000)],
        description=_l("Leave empty for no limit. When full, people join a waitlist."),
    )
    registration_opens_at = DateTimeLocalField(
        _l("Registration opens"), validators=[Optional()], **_datetime
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registration closes"),
        validators=[Optional()],
        description=_l("Empty: registration closes when the event starts."),
        **_datetime,
    )
    topics = StringField(
        _l("Topics"),
        validators=[Length(max=2000)],
        description=_l("Expertise concepts, in Spanish or English, separated by semicolons."),
    )
    questions = TextAreaField(
        _l("Questions for attendees"),
        validators=[Optional(), Length(max=1200)],
        description=_l(
            "One per line, at most five (e.g. dietary needs). Asked only when someone gets a seat."
        ),
        render_kw={"rows": 3},
    )
    visibility = SelectField(_l("Who can see it"), choices=lambda: _choices(VISIBILITY_LABELS))
    status = SelectField(_l("Status"), choices=lambda: _choices(STATUS_LABELS))

    def set_chapter_choices(self, chapters: list) -> None:
        self.chapters.choices = [SelectChoice(c.id, c.name) for c in chapters]


class CheckInForm(FlaskForm):
    code = StringField(_l("Check-in code"), validators=[_required, Length(max=12)])
