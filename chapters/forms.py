"""Chapter forms: shape checks only; chapters.services checks the rules."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from chapters.models import Node, Region
from chapters.services import ChapterData, ChapterDetails, ChapterProposal, RegionData
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

    def _chosen_nodes(self, nodes: list[Node]) -> list[Node]:
        chosen = set(self.nodes.data or [])
        return [node for node in nodes if node.id in chosen]

    def details(self, nodes: list[Node]) -> ChapterDetails:
        """The coordinators' edit, with the chosen nodes among `nodes`."""
        return ChapterDetails(
            name=self.name.data or "",
            city=self.city.data or "",
            timezone=self.timezone.data or "",
            founded_year=self.founded_year.data,
            description=self.description.data or "",
            nodes=self._chosen_nodes(nodes),
        )


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

    def chapter_data(self, regions: list[Region], nodes: list[Node]) -> ChapterData:
        """The whole chapter, with its region among `regions` and its nodes among `nodes`."""
        return ChapterData(
            slug=(self.slug.data or "").strip().lower(),
            name=self.name.data or "",
            region=next((r for r in regions if r.id == self.region.data), None),
            country=self.country.data or "",
            city=self.city.data or "",
            timezone=self.timezone.data or "",
            founded_year=self.founded_year.data,
            description=self.description.data or "",
            is_active=bool(self.is_active.data),
            nodes=self._chosen_nodes(nodes),
        )


class RegionForm(FlaskForm):
    slug = StringField(_l("Address (slug)"), validators=[_required, Length(max=60)])
    name_es = StringField(_l("Name in Spanish"), validators=[_required, Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[_required, Length(max=120)])
    description_es = TextAreaField(_l("Description in Spanish"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=2000)])
    position = IntegerField(_l("Order"), validators=[Optional(), NumberRange(min=0, max=100)])

    def region_data(self) -> RegionData:
        return RegionData(
            slug=self.slug.data or "",
            name_es=self.name_es.data or "",
            name_en=self.name_en.data or "",
            description_es=self.description_es.data or "",
            description_en=self.description_en.data or "",
            position=self.position.data or 0,
        )


class NodeForm(FlaskForm):
    description_es = TextAreaField(_l("Description in Spanish"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=2000)])


class CoordinatorForm(FlaskForm):
    email = StringField(_l("E-mail address of the member"), validators=[_required, Length(max=254)])


def _int_or_none(value: object) -> int | None:
    """Coerce for a list of ids led by an empty "Choose…": the empty choice is no value, so the
    field says "required" rather than "could not coerce"."""
    return None if value in ("", None) else int(value)  # type: ignore[arg-type]


class ChapterProposalForm(FlaskForm):
    """A member proposes a chapter; IME reads the reason before approving it."""

    name = StringField(
        _l("Name of the chapter"),
        validators=[_required, Length(max=120)],
        description=_l("Usually the city or area, e.g. “Nueva York” or “Silicon Valley”."),
    )
    city = StringField(_l("City"), validators=[_required, Length(max=120)])
    country = SelectField(_l("Country"), validators=[_required])
    region = SelectField(
        _l("Region"),
        coerce=_int_or_none,
        validators=[_required],
        invalid_value_message=_l("Choose a region from the list."),
        invalid_choice_message=_l("Choose a region from the list."),
    )
    timezone = SelectField(_l("Time zone"), validators=[_required])
    proposal_note = TextAreaField(
        _l("Why this chapter?"),
        validators=[_required, Length(max=2000)],
        description=_l(
            "Who would take part, what you would like to do, and whether you have talked with "
            "other members there. IME reads this before approving the chapter."
        ),
        render_kw={"rows": 5},
    )

    def set_choices(self, regions: list, language: str) -> None:
        """Start every list on an empty choice, so nothing is proposed by accident."""
        choose = SelectChoice("", _l("Choose…"))
        self.country.choices = [choose, *country_choices(language)]
        self.region.choices = [
            SelectChoice("", _l("Choose…")),
            *(SelectChoice(region.id, region.name(language)) for region in regions),
        ]
        self.timezone.choices = [choose, *timezone_choices()]

    def proposal(self, regions: list[Region]) -> ChapterProposal:
        """The proposal, with its region among `regions` (None if it is not one of them)."""
        return ChapterProposal(
            name=self.name.data or "",
            city=self.city.data or "",
            country=self.country.data or "",
            region=next((r for r in regions if r.id == self.region.data), None),
            timezone=self.timezone.data or "",
            proposal_note=self.proposal_note.data or "",
        )


class ChapterDeclineForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (sent to the member)"), validators=[_required, Length(max=2000)]
    )


class CcimeTermForm(FlaskForm):
    """IME marks a member as a representative on the Advisory Council for Mexicans Abroad."""

    email = StringField(_l("E-mail address of the member"), validators=[_required, Length(max=254)])
    chapter = SelectField(_l("Chapter (optional)"))
    starts_on = DateField(
        _l("Start of the term"), validators=[DataRequired(message=_l("Enter a date."))]
    )
    ends_on = DateField(
        _l("End of the term"), validators=[DataRequired(message=_l("Enter a date."))]
    )

    def set_chapter_choices(self, chapters: list) -> None:
        self.chapter.choices = [
            SelectChoice("", _l("No chapter")),
            *(SelectChoice(chapter.slug, chapter.name) for chapter in chapters),
        ]
