"""Members and the token's own account: what they look like, and a change to one's profile."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from network.api.schemas import fields as f
from network.api.schemas.fields import Problem, RequestBody, Response, between, length, one_of
from network.errors import ValidationError as Refused
from network.members.profile_input import parse_profile
from network.visibility import PROFILE_FIELDS, Tier


class OrganisationOut(Response):
    """The organisation an account speaks for."""

    slug = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    is_verified = fields.Boolean(required=True)


class ChapterRef(Response):
    """A chapter the account belongs to, with its role there."""

    slug = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)


class MeOut(Response):
    """The account that owns the token."""

    id = fields.Integer(required=True)
    full_name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    preferred_language = fields.String(required=True)
    organisation = fields.Nested(OrganisationOut, required=True, allow_none=True)
    chapters = fields.List(fields.Nested(ChapterRef), required=True)


class NamedCode(Response):
    """A coded value with its name in the viewer's language."""

    code = fields.String(required=True)
    name = fields.String(required=True)


class LanguageOut(Response):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)


class ConceptOut(Response):
    slug = fields.String(required=True)
    label = fields.String(required=True)
    sector = fields.String(required=True)


class PositionOut(Response):
    title = fields.String(required=True)
    organisation = fields.String(required=True)


class EducationOut(Response):
    degree = fields.String(required=True)
    field = fields.String(required=True)
    institution = fields.String(required=True)
    year = fields.Integer(required=True, allow_none=True)


class LinksOut(Response):
    website = fields.String(allow_none=True)
    linkedin = fields.String(allow_none=True)
    orcid = fields.String(allow_none=True)


class ModeOut(Response):
    mode = fields.String(required=True)
    label = fields.String(required=True)


class MentoringOut(Response):
    open = fields.Boolean(required=True)
    capacity = fields.Integer(required=True)
    # Every place taken: the mentor cannot be asked until a mentorship ends.
    full = fields.Boolean()


class MemberOut(Response):
    """A member as the token's account may see them: hidden fields are absent, not empty."""

    id = fields.Integer(required=True)
    full_name = fields.String(required=True)
    confirmed_at = fields.String(required=True)
    headline = fields.String(allow_none=True)
    bio = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    country_name = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    state_of_origin = fields.Nested(NamedCode, allow_none=True)
    languages = fields.List(fields.Nested(LanguageOut), allow_none=True)
    position = fields.Nested(PositionOut, allow_none=True)
    education = fields.List(fields.Nested(EducationOut), allow_none=True)
    links = fields.Nested(LinksOut, allow_none=True)
    expertise = fields.List(fields.Nested(ConceptOut), allow_none=True)
    free_tags = fields.List(fields.String(), allow_none=True)
    modes = fields.List(fields.Nested(ModeOut), allow_none=True)
    days_per_year = fields.Integer(allow_none=True)
    mentoring = fields.Nested(MentoringOut, allow_none=True)
    open_to_requests = fields.Boolean(allow_none=True)
    chapters = fields.List(fields.Nested(ChapterRef), allow_none=True)


class _ProfileFields(RequestBody):
    # Nullable where null is a value (it clears the field), not where null is refused (the
    # name; yes-or-no answers).
    full_name = f.String(validate=length(2, 120))
    headline = f.String(allow_none=True, validate=length(maximum=160))
    bio = f.String(allow_none=True, validate=length(maximum=5000))
    country = f.String(allow_none=True)
    city = f.String(allow_none=True, validate=length(maximum=120))
    state_of_origin = f.String(allow_none=True)
    timezone = f.String(allow_none=True)
    languages = f.StringOrList(allow_none=True)
    position = f.String(allow_none=True, validate=length(maximum=160))
    employer = f.String(allow_none=True, validate=length(maximum=160))
    expertise = f.StringOrList(allow_none=True)
    modes = f.StringOrList(allow_none=True)
    days_per_year = f.Integer(allow_none=True, validate=between(0, 365))
    open_to_mentor = f.Boolean()
    mentor_capacity = f.Integer(allow_none=True, validate=between(0, 50))
    open_to_requests = f.Boolean()
    phone = f.String(allow_none=True)
    website = f.String(allow_none=True)
    linkedin = f.String(allow_none=True)
    orcid = f.String(allow_none=True)
    name_public = f.Boolean()

    @validates_schema(skip_on_field_errors=False)
    def _profile_rules(self, data: dict[str, Any], **kwargs: Any) -> None:
        """The profile's own rules (a country that exists, a valid ORCID iD, ...) are checked with
        the shape, on the fields of the right shape, so that one answer names every problem."""
        try:
            parse_profile(data)
        except Refused as refused:
            problems: dict[str, list[Problem]] = {}
            for field, message in refused.problems:
                said = Problem(str(message).replace("%", "%%"))
                problems.setdefault(field or "_schema", []).append(said)
            raise ValidationError(problems) from refused


# The fields above plus `<field>_visibility` for each field with a visibility of its own (null
# leaves it alone).
ProfileUpdateIn = type(
    "ProfileUpdateIn",
    (_ProfileFields,),
    {
        "__doc__": "Fields to change on one's own profile (any subset). `languages`, `expertise` "
        "and `modes` may be JSON arrays or `;`-separated strings; `<field>_visibility` sets who "
        "sees a field.",
        **{
            f"{name}_visibility": f.String(allow_none=True, validate=one_of(Tier, or_null=True))
            for name in PROFILE_FIELDS
        },
    },
)
