"""Profile forms. Shape only: members.profile_input.parse_profile checks the values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from network.forms import ManyOptionsSelect
from network.geo import country_choices, timezone_choices
from network.members.models import MODE_LABELS
from network.visibility import PROFILE_FIELDS, TIER_LABELS

_required = DataRequired(message=_l("This field is required."))


def tier_choices() -> list[SelectChoice]:
    return [SelectChoice(str(tier), str(label)) for tier, label in TIER_LABELS.items()]


def _optional_choices(choices) -> list[SelectChoice]:
    return [SelectChoice("", str(_l("— not given —"))), *choices()]


class EducationForm(Form):
    degree = StringField(_l("Degree"), validators=[Length(max=120)])
    field = StringField(_l("Field"), validators=[Length(max=160)])
    institution = StringField(_l("Institution"), validators=[Length(max=200)])
    year = IntegerField(_l("Year"), validators=[Optional()])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[_required, Length(max=120)])
    name_public = BooleanField(_l("Show my name to people who are not signed in"))
    headline = StringField(
        _l("Headline"),
        validators=[Length(max=160)],
        description=_l("What you do, in one line: “Hydrologist, University of Arizona”."),
    )
    bio = TextAreaField(
        _l("About me"),
        validators=[Length(max=5000)],
        description=_l("Markdown: **bold**, *italics*, lists and links."),
        render_kw={"rows": 6},
    )
    country = SelectField(
        _l("Country of residence"), choices=lambda: _optional_choices(country_choices)
    )
    city = StringField(_l("City"), validators=[Length(max=120)])
    state_of_origin = SelectField(_l("Mexican state of origin"))
    timezone = SelectField(
        _l("Time zone"),
        choices=lambda: _optional_choices(timezone_choices),
        description=_l("Left empty, it follows your country."),
    )
    languages = StringField(
        _l("Languages"),
        validators=[Length(max=300)],
        description=_l("Codes with a level, separated by semicolons: es:native; en:C1; fr:B2"),
    )
    position = StringField(_l("Current position"), validators=[Length(max=160)])
    employer = StringField(_l("Organisation"), validators=[Length(max=160)])
    expertise = StringField(
        _l("Expertise"),
        validators=[Length(max=2000)],
        description=_l(
            "Pick concepts from the list, in Spanish or English; anything else becomes a free tag. Separate them with semicolons."
        ),
    )
    modes = MultiCheckboxField(
        _l("Ways I can contribute"),
        choices=lambda: [SelectChoice(str(m), str(label)) for m, label in MODE_LABELS.items()],
    )
    # Ranges are checked by members.profile_input, so every problem is reported in one go.
    days_per_year = IntegerField(_l("Days per year I can give"), validators=[Optional()])
    open_to_mentor = BooleanField(_l("I am open to mentoring"))
    mentor_capacity = IntegerField(_l("How many mentees at a time"), validators=[Optional()])
    open_to_requests = BooleanField(_l("Verified organisations may send me requests for help"))
    phone = StringField(_l("Phone"), validators=[Length(max=40)], render_kw={"autocomplete": "tel"})
    website = StringField(
        _l("Website"), validators=[Length(max=300)], render_kw={"autocomplete": "url"}
    )
    linkedin = StringField(_l("LinkedIn"), validators=[Length(max=300)])
    orcid = StringField(_l("ORCID iD"), validators=[Length(max=40)])
    education = FieldList(FormField(EducationForm), min_entries=3, max_entries=10)

    def set_state_choices(self, nodes: list) -> None:
        self.state_of_origin.choices = [
            SelectChoice("", str(_l("— not given —"))),
            *(SelectChoice(node.code, node.name) for node in nodes),
        ]


# One visibility select per field, named "<field>_visibility" like the CSV columns.
for _field in PROFILE_FIELDS:
    setattr(
        ProfileForm,
        f"{_field}_visibility",
        SelectField(_l("Who can see this"), choices=tier_choices),
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[_required],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l("I understand that my account and profile are erased for good"), validators=[_required]
    )


class DirectoryForm(FlaskForm):
    """The directory's filters (GET, so no CSRF)."""

    class Meta:
        csrf = False

    country = SelectField(_l("Country"), validators=[Optional()], widget=ManyOptionsSelect())
    region = SelectField(_l("Region"), validators=[Optional()], widget=ManyOptionsSelect())
    chapter = SelectField(_l("Chapter"), validators=[Optional()], widget=ManyOptionsSelect())
    state = SelectField(_l("State of origin"), validators=[Optional()], widget=ManyOptionsSelect())
    sector = SelectField(_l("Sector"), validators=[Optional()], widget=ManyOptionsSelect())
    concept = SelectField(_l("Expertise"), validators=[Optional()], widget=ManyOptionsSelect())
    language = SelectField(_l("Language"), validators=[Optional()], widget=ManyOptionsSelect())
    mode = SelectField(
        _l("Way of contributing"), validators=[Optional()], widget=ManyOptionsSelect()
    )
    mentoring = BooleanField(_l("Open to mentoring"))
    sort = SelectField(
        _l("Sort by"),
        choices=lambda: [
            SelectChoice("name", str(_l("Name"))),
            SelectChoice("recent", str(_l("Recently confirmed"))),
        ],
    )


class FreeTagForm(FlaskForm):
    tag = StringField(validators=[_required, Length(max=80)])
    concept = StringField(_l("Concept (slug or label)"), validators=[Optional(), Length(max=160)])
    new_tag = StringField(_l("New name"), validators=[Optional(), Length(max=80)])


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file (UTF-8)"),
        validators=[FileRequired(message=_l("Choose a file.")), FileAllowed(["csv", "txt"])],
    )
    dry_run = BooleanField(_l("Only check the file (write nothing)"), default=True)
    partial = BooleanField(_l("Import the good rows even if some rows have problems"))
