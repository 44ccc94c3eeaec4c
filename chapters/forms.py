"""Chapter forms: shape checks only; chapters.services checks the rules."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from network.geo import country_choices, timezone_choices

_required = DataRequired(message=_l("This field is required."))


class JoinRequestForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the coordinators (optional)"),
        validators=[Optional(), Length(max=1000)],
        description=_l("For example, what you would like to contribute to the chapter."),
    )


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[AnyOf(["approve", "decline"])])


class ChapterEditForm(FlaskForm):
    """What a chapter's coordinators may change."""

    name = StringField(_l("Name"), validators=[_required, Length(max=120)])
    city = StringField(_l("City"), validators=[_required, Length(max=120)])
    timezone = SelectField(_l("Time zone"), choices=timezone_choices, validators=[_required])
    founded_year = IntegerField(
        _l("Year founded"),
        validators=[Optional(), NumberRange(min=2005, max=date.today().year + 1)],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=5000)],
        description=_l("Markdown: **bold**, *italics*, lists and links."),
        render_kw={"rows": 6},
    )
    nodes = SelectMultipleField(
        _l("Mexican states the chapter works with"), coerce=int, validate_choice=True
    )

    def set_node_choices(self, nodes: list) -> None:
        self.nodes.choices = [SelectChoice(node.id, node.name) for node in nodes]


class ChapterAdminForm(ChapterEditForm):
    """IME administrators may also move, rename the address of, or deactivate a chapter."""

    slug = StringField(
        _l("Address (slug)"),
        validators=[_required, Length(max=80)],
        description=_l("Used in the page address, e.g. “silicon-valley”."),
    )
    region = SelectField(_l("Region"), coerce=int, validators=[_required])
    country = SelectField(_l("Country"), choices=country_choices, validators=[_required])
    is_active = BooleanField(_l("Active"), default=True)


class RegionForm(FlaskForm):
    slug = StringField(_l("Address (slug)"), validators=[_required, Length(max=60)])
    name_es = StringField(_l("Name in Spanish"), validators=[_required, Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[_required, Length(max=120)])
    description_es = TextAreaField(_l("Description in Spanish"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=2000)])
    position = IntegerField(_l("Order"), validators=[Optional(), NumberRange(min=0, max=100)])


class NodeForm(FlaskForm):
    description_es = TextAreaField(_l("Description in Spanish"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=2000)])


class CoordinatorForm(FlaskForm):
    email = StringField(_l("E-mail address of the member"), validators=[_required, Length(max=254)])
