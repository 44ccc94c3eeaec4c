"""Development needs, their candidates, and contact requests to experts."""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, pre_load

from network.api.pagination import PageArgs
from network.api.schemas import fields as f
from network.api.schemas.fields import (
    MAX_INT,
    QueryInteger,
    QueryString,
    RequestBody,
    Response,
    between,
    enum_out,
    items,
    length,
    one_of,
)
from network.api.schemas.members import NamedCode
from network.members.models import Mode
from network.needs.forms import NEED_LANGUAGES
from network.needs.models import PUBLISHED_STATUSES, ContactStatus, NeedStatus
from network.needs.services import MAX_DESCRIPTION, MAX_MESSAGE


class NewNeedStatus(enum.StrEnum):
    """A need starts as a draft (only its organisation and IME see it) or open (published)."""

    DRAFT = "draft"
    OPEN = "open"


class NeedArgs(PageArgs):
    """Which published needs to list."""

    status = QueryString(
        choices=PUBLISHED_STATUSES,
        metadata={"description": "open, in_progress or completed (default: all three)."},
    )
    sector = QueryString(metadata={"description": "Only needs of this sector (slug or label)."})
    state = QueryString(
        metadata={"description": "Only needs of this Mexican state (MX-SON), or national."}
    )


class CandidateArgs(f.Query):
    limit = QueryInteger(
        1, 100, load_default=20, metadata={"description": "How many candidates, best first."}
    )


class NeedIn(RequestBody):
    """A new need. `sector`, `required_concepts` and `nice_concepts` are slugs or labels in
    Spanish or English; an unknown one answers 400 naming it. `modes` are the stable names of the
    ways of contributing (`remote_advice`, `mentoring`, `short_visit`, `teaching`, `investment`,
    `research`); `languages` are ISO 639-1 codes. Dates are `YYYY-MM-DD`. `state` is the code of
    the Mexican state concerned (`MX-SON`), or `null` for a national need."""

    what = _l("the need's fields")

    title = f.String(required=True, validate=length(5, 200))
    sector = f.String(required=True)
    required_concepts = f.List(f.String(), required=True, validate=items(1, 10))
    description = f.String(load_default="", validate=length(maximum=MAX_DESCRIPTION))
    nice_concepts = f.List(f.String(), load_default=list, validate=items(maximum=10))
    languages = f.List(f.String(validate=one_of(NEED_LANGUAGES)), load_default=list)
    modes = f.List(f.String(validate=one_of(Mode)), load_default=list)
    effort_days = f.Integer(load_default=None, allow_none=True, validate=between(1, 365))
    starts_on = f.Date(load_default=None, allow_none=True)
    ends_on = f.Date(load_default=None, allow_none=True)
    state = f.String(load_default=None, allow_none=True)
    remote = f.Boolean(load_default=True)
    status = f.String(load_default=str(NewNeedStatus.DRAFT), validate=one_of(NewNeedStatus))

    @pre_load
    def _language_codes(self, data: Any, **kwargs: Any) -> Any:
        """Codes as people type them: " EN " is English, and a blank one is left out."""
        codes = data.get("languages") if isinstance(data, dict) else None
        if isinstance(codes, list) and all(isinstance(code, str) for code in codes):
            data = {**data, "languages": [c.strip().lower() for c in codes if c.strip()]}
        return data


class NeedCreatedOut(Response):
    """The new need's id."""

    id = fields.Integer(required=True)


class LabelledOut(Response):
    """A sector or an expertise concept: its stable slug and its label in the caller's language."""

    slug = fields.String(required=True)
    label = fields.String(required=True)


class NeedOrganisationOut(Response):
    """The organisation that posted the need."""

    slug = fields.String(required=True)
    name = fields.String(required=True)


class NeedOut(Response):
    """A development need. `state` is null for a national need; `close_reason` is present only
    for the posting organisation's users and IME."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    sector = fields.Nested(LabelledOut, required=True)
    required_concepts = fields.List(fields.Nested(LabelledOut), required=True)
    nice_concepts = fields.List(fields.Nested(LabelledOut), required=True)
    languages = fields.List(fields.String(), required=True)
    modes = fields.List(fields.String(), required=True)
    effort_days = fields.Integer(required=True, allow_none=True)
    starts_on = fields.String(required=True, allow_none=True)
    ends_on = fields.String(required=True, allow_none=True)
    state = fields.Nested(NamedCode, required=True, allow_none=True)
    remote = fields.Boolean(required=True)
    status = enum_out(NeedStatus, required=True)
    organisation = fields.Nested(NeedOrganisationOut, required=True)
    created_at = fields.String(required=True)
    close_reason = fields.String(allow_none=True)


class FactorOut(Response):
    """One named factor of a candidate's score: `contribution` is `weight` times `value` rounded to
    thousandths, and a candidate's contributions add up to its score."""

    name = fields.String(required=True)
    weight = fields.Float(required=True)
    value = fields.Float(required=True)
    contribution = fields.Float(required=True)
    detail = fields.String(required=True)


class CandidateOut(Response):
    """A member proposed for a need, with why. No contact details: those come only through a
    contact request the member accepted."""

    member_id = fields.Integer(required=True)
    full_name = fields.String(required=True)
    score = fields.Float(required=True)
    at_capacity = fields.Boolean(required=True)
    factors = fields.List(fields.Nested(FactorOut), required=True)
    missing_concepts = fields.List(fields.String(), required=True)


class CandidatesOut(Response):
    """The best candidates first; `total` counts every candidate, not only those returned."""

    results = fields.List(fields.Nested(CandidateOut), required=True)
    total = fields.Integer(required=True)


class ContactRequestIn(RequestBody):
    """Ask a member whether they agree to be contacted about this need (10 to 2,000 characters)."""

    what = _l("'member_id' and 'message'")

    member_id = f.Integer(required=True, validate=between(1, MAX_INT))
    message = f.String(required=True, validate=length(10, MAX_MESSAGE))


class ContactCreatedOut(Response):
    """The new contact request, waiting for the member's answer."""

    id = fields.Integer(required=True)
    status = enum_out(ContactStatus, required=True)


class ContactAnswerIn(RequestBody):
    """An optional reply to the organisation (at most 2,000 characters)."""

    what = _l("an optional 'reply'")
    optional = True

    reply = f.String(load_default="", validate=length(maximum=MAX_MESSAGE))


class ContactDetailsOut(Response):
    """How to reach the member: only for the organisation they accepted."""

    email = fields.String(required=True)
    phone = fields.String(allow_none=True)


class ContactRequestOut(Response):
    """A contact request. `contact` is present only when the member accepted and the caller is a
    user of the organisation that asked; each such read is written to the audit log, which the
    member can read."""

    id = fields.Integer(required=True)
    need_id = fields.Integer(required=True)
    need_title = fields.String(required=True)
    organisation = fields.Nested(NeedOrganisationOut, required=True)
    member_id = fields.Integer(required=True)
    member_full_name = fields.String(required=True)
    message = fields.String(required=True)
    status = enum_out(ContactStatus, required=True)
    reply = fields.String(required=True)
    created_at = fields.String(required=True)
    answered_at = fields.String(required=True, allow_none=True)
    contact = fields.Nested(ContactDetailsOut, allow_none=True)
