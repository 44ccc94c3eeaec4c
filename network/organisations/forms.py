"""Organisation forms: shape only; `services` checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from chapters import queries as chapter_queries
from network.geo import country_choices
from network.organisations.models import ORGANISATION_KIND_LABELS

_required = DataRequired(message=_l("This field is required."))


def _kinds() -> list[SelectChoice]:
    return [
        SelectChoice(kind.value, str(label)) for kind, label in ORGANISATION_KIND_LABELS.items()
    ]


def _states() -> list[SelectChoice]:
    return [SelectChoice("", str(_l("National, or not in a state")))] + [
        SelectChoice(node.code, node.name) for node in chapter_queries.list_nodes()
    ]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=[_required, Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_kinds)
    country = SelectField(_l("Country"), choices=lambda: country_choices(), default="MX")
    state_code = SelectField(_l("Mexican state"), choices=_states)
    website = StringField(
        _l("Website"), validators=[Length(max=300)], render_kw={"placeholder": "https://"}
    )
    email_domain = StringField(
        _l("Official e-mail domain"),
        validators=[_required, Length(max=120)],
        description=_l(
            "The part after @ of your institution's addresses, e.g. conagua.gob.mx. "
            "Your own address must be on it."
        ),
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (sent to the organisation)"), validators=[_required, Length(max=2000)]
    )
