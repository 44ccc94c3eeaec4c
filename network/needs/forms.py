"""Needs forms: shape checks only; network.needs.services checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from network.events.forms import EVENT_LANGUAGES
from network.geo import language_name
from network.members.forms import MultiCheckboxField
from network.members.models import MODE_LABELS
from network.needs.models import NEED_STATUS_LABELS, NeedStatus

_required = DataRequired(message=_l("This field is required."))
NEED_LANGUAGES = EVENT_LANGUAGES


def _mode_choices() -> list[SelectChoice]:
    return [SelectChoice(str(m), str(label)) for m, label in MODE_LABELS.items()]


def _language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, language_name(code)) for code in NEED_LANGUAGES]


class NeedForm(FlaskForm):
    title = StringField(_l("Title"), validators=[_required, Length(max=200)])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=10000)],
        description=_l(
            "Markdown: **bold**, *italics*, lists and links. Say what the expert will do."
        ),
        render_kw={"rows": 8},
    )
    sector = SelectField(_l("Sector"), validators=[_required])
    required = StringField(
        _l("Required expertise"),
        validators=[_required, Length(max=2000)],
        description=_l("Expertise concepts, in Spanish or English, separated by semicolons."),
    )
    nice = StringField(
        _l("Nice-to-have expertise"),
        validators=[Length(max=2000)],
        description=_l("Optional. They raise a candidate's score but are never required."),
    )
    languages = MultiCheckboxField(_l("Working languages"), choices=_language_choices)
    modes = MultiCheckboxField(_l("Ways of contributing wanted"), choices=_mode_choices)
    effort_days = IntegerField(
        _l("Effort (days)"),
        validators=[Optional(), NumberRange(min=1, max=365)],
        description=_l("How many days of an expert's time it takes, roughly."),
    )
    starts_on = DateField(_l("Starts"), validators=[Optional()])
    ends_on = DateField(_l("Ends"), validators=[Optional()])
    state = SelectField(_l("Mexican state concerned"))
    remote = BooleanField(_l("Can be done remotely"), default=True)
    status = SelectField(
        _l("Status"),
        choices=lambda: [
            SelectChoice(str(NeedStatus.DRAFT), str(_l("Draft (only your organisation sees it)"))),
            SelectChoice(str(NeedStatus.OPEN), str(_l("Open: publish it and look for experts"))),
        ],
    )


class StatusForm(FlaskForm):
    status = SelectField(
        _l("New status"),
        choices=lambda: [
            SelectChoice(str(s), str(label)) for s, label in NEED_STATUS_LABELS.items()
        ],
    )
    reason = TextAreaField(
        _l("Reason (required to close without completion)"),
        validators=[Length(max=2000)],
        render_kw={"rows": 2},
    )


class InterestForm(FlaskForm):
    message = TextAreaField(
        _l("A short message for the organisation"),
        validators=[Length(max=2000)],
        description=_l(
            "What you could bring. The organisation sees your profile as organisations do."
        ),
        render_kw={"rows": 3},
    )


class ContactForm(FlaskForm):
    member_id = IntegerField(
        widget=HiddenInput(), validators=[_required, NumberRange(1, 2**31 - 1)]
    )
    message = TextAreaField(
        _l("Message to the expert"),
        validators=[_required, Length(min=10, max=2000)],
        description=_l("Say who you are, what you need and what you hope from them."),
        render_kw={"rows": 3},
    )


class AnswerForm(FlaskForm):
    reply = TextAreaField(
        _l("Reply (optional)"), validators=[Length(max=2000)], render_kw={"rows": 3}
    )


class OutcomeForm(FlaskForm):
    member_id = IntegerField(
        widget=HiddenInput(), validators=[_required, NumberRange(1, 2**31 - 1)]
    )
    days = IntegerField(_l("Days contributed"), validators=[_required, NumberRange(min=0, max=365)])
    achieved = TextAreaField(
        _l("What was achieved"),
        validators=[_required, Length(min=5, max=2000)],
        render_kw={"rows": 3},
    )
    rating = SelectField(
        _l("Rating (optional)"),
        choices=lambda: [
            SelectChoice("", str(_l("— no rating —"))),
            *(SelectChoice(str(n), "★" * n) for n in range(5, 0, -1)),
        ],
        validators=[Optional()],
    )


class ConfirmOutcomeForm(FlaskForm):
    comment = TextAreaField(
        _l("Your comment (optional)"), validators=[Length(max=2000)], render_kw={"rows": 2}
    )


class NeedFiltersForm(FlaskForm):
    """The list's filters (GET, so no CSRF)."""

    class Meta:
        csrf = False

    sector = SelectField(_l("Sector"), validators=[Optional()])
    state = SelectField(_l("State"), validators=[Optional()])
    mode = SelectField(_l("Way of contributing"), validators=[Optional()])
    remote = SelectField(
        _l("Remote"),
        validators=[Optional()],
        choices=lambda: [
            SelectChoice("", str(_l("Any"))),
            SelectChoice("yes", str(_l("Remote"))),
            SelectChoice("no", str(_l("On site"))),
        ],
    )
    status = SelectField(
        _l("Status"),
        validators=[Optional()],
        choices=lambda: [
            SelectChoice("open", str(_l("Open"))),
            SelectChoice("in_progress", str(_l("In progress"))),
            SelectChoice("completed", str(_l("Completed"))),
            SelectChoice("all", str(_l("Any"))),
        ],
    )
