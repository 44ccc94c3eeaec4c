"""Mentoring forms: shape checks only; network.mentoring.services checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from network.mentoring.services import DURATIONS

_required = DataRequired(message=_l("This field is required."))


def _durations() -> list[SelectChoice]:
    return [SelectChoice(str(w), ngettext("%(num)d week", "%(num)d weeks", w)) for w in DURATIONS]


class MentoringRequestForm(FlaskForm):
    goal = TextAreaField(
        _l("Your goal"),
        validators=[_required, Length(min=10, max=2000)],
        description=_l("What you would like to achieve with this mentor's help."),
        render_kw={"rows": 4},
    )
    duration_weeks = SelectField(_l("Proposed duration"), choices=_durations, default="12")


class MentoringAnswerForm(FlaskForm):
    reply = TextAreaField(
        _l("Reply (optional)"), validators=[Length(max=2000)], render_kw={"rows": 2}
    )


class MentoringEndForm(FlaskForm):
    outcome = TextAreaField(
        _l("How did it go?"), validators=[_required, Length(min=3, max=2000)], render_kw={"rows": 2}
    )
