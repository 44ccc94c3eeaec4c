"""API v1 for development needs: posting and reading needs, explained candidates, and
consent-gated contact requests. The handlers call network.needs' services and queries, as the
pages do.

An expert's e-mail address and phone leave the server in one place only: a contact request the
expert accepted, read by a user of the organisation that asked, through
`services.reveal_contact_details`, which writes the read to the audit log.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime
from typing import Any, get_type_hints

from flask import abort, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from chapters.models import Node
from network.api import bp
from network.api.openapi import QueryParam, documented
from network.api.schemas import (
    CandidateOut,
    CandidatesOut,
    ContactAnswerIn,
    ContactCreatedOut,
    ContactDetailsOut,
    ContactRequestIn,
    ContactRequestOut,
    FactorOut,
    LabelledOut,
    NamedCode,
    NeedCreatedOut,
    NeedIn,
    NeedOrganisationOut,
    NeedOut,
    NewNeedStatus,
)
from network.api.views import (
    PAGING,
    _check_choices,
    _choose_one_of,
    _defaults,
    _int_arg,
    _invalid_values,
    _json_object,
    _language,
    _missing,
    _optional_token_user,
    _paging,
    token_required,
)
from network.auth.models import User
from network.errors import Conflict, RateLimited, ValidationError
from network.extensions import db
from network.members.services import resolve_expertise, split_list
from network.needs import queries as need_queries
from network.needs import services as need_services
from network.needs.forms import NEED_LANGUAGES
from network.needs.models import PUBLISHED_STATUSES, ContactRequest, Need, NeedStatus
from network.needs.ranking import rank_candidates
from network.security import (
    can_manage_need,
    can_see_need,
    is_ime_admin,
    is_verified_organisation_user,
)

NEED_FIELDS = get_type_hints(NeedIn)
CONTACT_FIELDS = get_type_hints(ContactRequestIn)
ANSWER_FIELDS = get_type_hints(ContactAnswerIn)
# The services name some fields as the pages' form does; the API names them as NeedIn does.
SERVICE_FIELDS = {"required": "required_concepts", "nice": "nice_concepts", "node": "state"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ---------------------------------------------------------------- request parsing


def _unknown_sector(raw: str) -> str:
    return _("Unknown sector %(value)s.", value=repr(raw[:80]))


def _date(name: str, raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        value = date.fromisoformat(raw.strip()) if _ISO_DATE.fullmatch(raw.strip()) else None
    except ValueError:
        value = None
    if value is None:
        abort(
            400,
            description=_(
                "'%(name)s' must be a date like 2027-03-05, not %(value)s.",
                name=name,
                value=repr(raw[:40]),
            ),
        )
    return value


def _node(raw: str | None, national: str = "null") -> Node | None:
    """A Mexican state by its ISO 3166-2:MX code; None (a national need) for null."""
    if raw is None:
        return None
    node = db.session.scalar(select(Node).where(Node.code == raw.strip().upper()))
    if node is None:
        abort(
            400,
            description=_(
                "Unknown state %(value)s: give a state code like MX-SON, or %(national)s for a "
                "national need.",
                value=repr(raw[:20]),
                national=national,
            ),
        )
    return node


def _concepts(name: str, raw: list[str]) -> list[Any]:
    concepts, unknown = resolve_expertise(split_list(raw))
    if unknown:
        listed = ", ".join(repr(item) for item in unknown)[:300]
        abort(
            400,
            description=_(
                "'%(name)s': unknown expertise concept %(listed)s. Give a concept's slug or its "
                "label in Spanish or English.",
                name=name,
                listed=listed,
            ),
        )
    return concepts


def _need_data(sent: dict[str, Any]) -> tuple[need_services.NeedData, list[tuple[str | None, str]]]:
    """Sent NeedIn fields -> NeedData, with unknown concepts, sector, state and malformed dates
    refused (400) and the value problems the form's choices would catch listed (422)."""
    problems: list[tuple[str | None, str]] = []
    sector = None
    if sent["sector"].strip():
        sector = need_services.find_sector(sent["sector"])
        if sector is None:
            abort(400, description=_unknown_sector(sent["sector"]))
    required = _concepts("required_concepts", sent["required_concepts"])
    nice = _concepts("nice_concepts", sent["nice_concepts"])
    starts_on = _date("starts_on", sent["starts_on"])
    ends_on = _date("ends_on", sent["ends_on"])
    node = _node(sent["state"])
    languages = [code.strip().lower() for code in sent["languages"] if code.strip()]
    unknown_languages = [code for code in languages if code not in NEED_LANGUAGES]
    if unknown_languages:
        problems.append(
            (
                "languages",
                _(
                    "Unknown language %(codes)s: choose from %(choices)s.",
                    codes=", ".join(unknown_languages)[:100],
                    choices=", ".join(NEED_LANGUAGES),
                ),
            )
        )
    status = NeedStatus.DRAFT
    if sent["status"] in set(NewNeedStatus):
        status = NeedStatus(sent["status"])
    else:
        problems.append(("status", _choose_one_of(NewNeedStatus)))
    data = need_services.NeedData(
        title=sent["title"],
        sector=sector,
        required=required,
        description=sent["description"],
        nice=nice,
        languages=languages,
        modes=sent["modes"],
        effort_days=sent["effort_days"],
        starts_on=starts_on,
        ends_on=ends_on,
        node=node,
        remote=sent["remote"],
        status=status,
    )
    return data, problems


def _refused(error: ValidationError) -> ResponseReturnValue:
    """A service's refusal: 429 beyond a fair-load cap, 409 when the current state refuses it,
    else 422 for the field (named as the API names it)."""
    db.session.rollback()
    if isinstance(error, RateLimited):
        abort(429, description=str(error.message))
    if isinstance(error, Conflict):
        abort(409, description=str(error.message))
    field = SERVICE_FIELDS.get(error.field or "", error.field)
    return _invalid_values([(field, str(error.message))])


# ---------------------------------------------------------------- JSON out


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _sees_close_reason(user: Any, need: Need) -> bool:
    return can_manage_need(user, need) or is_ime_admin(user)


def _need_json(need: Need, user: Any) -> dict[str, Any]:
    language = _language()
    body = NeedOut(
        id=need.id,
        title=need.title,
        description=need.description,
        sector=LabelledOut(slug=need.sector.slug, label=need.sector.label(language)),
        required_concepts=[
            LabelledOut(slug=c.slug, label=c.label(language)) for c in need.required_concepts
        ],
        nice_concepts=[
            LabelledOut(slug=c.slug, label=c.label(language)) for c in need.nice_concepts
        ],
        languages=need.language_codes,
        modes=need.mode_names,
        effort_days=need.effort_days,
        starts_on=need.starts_on.isoformat() if need.starts_on else None,
        ends_on=need.ends_on.isoformat() if need.ends_on else None,
        state=NamedCode(code=need.node.code, name=need.node.name) if need.node else None,
        remote=need.remote,
        status=need.status,
        organisation=NeedOrganisationOut(slug=need.organisation.slug, name=need.organisation.name),
        created_at=_iso(need.created_at) or "",
        close_reason=need.close_reason if _sees_close_reason(user, need) else None,
    )
    data = dataclasses.asdict(body)
    if data["close_reason"] is None:
        del data["close_reason"]
    return data


def _asks_for(user: Any, contact: ContactRequest) -> bool:
    """Whether the user speaks, verified, for the organisation that sent the request."""
    return is_verified_organisation_user(user) and user.organisation_id == contact.organisation_id


def _contact_json(contact: ContactRequest, details: dict[str, str] | None) -> dict[str, Any]:
    body = ContactRequestOut(
        id=contact.id,
        need_id=contact.need_id,
        need_title=contact.need.title,
        organisation=NeedOrganisationOut(
            slug=contact.organisation.slug, name=contact.organisation.name
        ),
        member_id=contact.member_id,
        member_full_name=contact.member.full_name,
        message=contact.message,
        status=contact.status,
        reply=contact.reply,
        created_at=_iso(contact.created_at) or "",
        answered_at=_iso(contact.answered_at),
        contact=ContactDetailsOut(**details) if details else None,
    )
    data = dataclasses.asdict(body)
    if data["contact"] is None:
        del data["contact"]
    elif data["contact"]["phone"] is None:
        del data["contact"]["phone"]
    return data


# ---------------------------------------------------------------- loading with access rules


def _visible_need(need_id: int, user: Any) -> Need:
    """The need if the caller may see it; drafts and closed needs are as absent as a missing
    need for all but their organisation's users and IME."""
    need = need_queries.get_need(need_id)
    if need is None or not can_see_need(user, need):
        abort(404, description=_("No such need."))
    return need


def _visible_contact(request_id: int, user: Any) -> ContactRequest:
    """The request if it is the caller's: sent to them, or sent by their organisation (or IME)."""
    contact = need_queries.get_contact_request(request_id)
    if contact is None or not (
        contact.member_id == user.id or _asks_for(user, contact) or is_ime_admin(user)
    ):
        abort(404, description=_("No such contact request."))
    return contact


# ---------------------------------------------------------------- needs


@bp.post("/needs")
@token_required
@documented(NeedCreatedOut, request_body=NeedIn, status=201, errors=(403,))
def create_need() -> ResponseReturnValue:
    """Post a need, as a user of a verified organisation.

    Malformed JSON, an unknown concept, sector or state, or a malformed date answers 400 naming
    it; values the rules refuse answer 422 with the fields at fault.
    """
    user = g.api_user
    if not is_verified_organisation_user(user):
        abort(403, description=_("Only users of a verified organisation post needs."))
    sent = _json_object(NEED_FIELDS, _("the need's fields"))
    missing = _missing(NeedIn, sent)
    if missing:
        return _invalid_values(missing)
    data, problems = _need_data({**_defaults(NeedIn), **sent})
    if problems:
        return _invalid_values(problems)
    try:
        need = need_services.post_need(user, data)
    except ValidationError as error:
        return _refused(error)
    db.session.commit()
    return jsonify(dataclasses.asdict(NeedCreatedOut(id=need.id))), 201


@bp.get("/needs")
@documented(
    NeedOut,
    paginated=True,
    anonymous=True,
    params=(
        QueryParam(
            "status",
            str,
            "open, in_progress or completed (default: all three).",
            choices=tuple(str(status) for status in PUBLISHED_STATUSES),
        ),
        QueryParam("sector", str, "Only needs of this sector (slug or label)."),
        QueryParam("state", str, "Only needs of this Mexican state (MX-SON), or national."),
        *PAGING,
    ),
)
def needs() -> ResponseReturnValue:
    """Published needs, the most recently opened first.

    Drafts and closed needs are never listed: their organisation reads them by id.
    """
    user = _optional_token_user()
    page, per_page = _paging()
    _check_choices()
    status = request.args.get("status") or ""
    sector_text = request.args.get("sector") or ""
    sector = ""
    if sector_text:
        found = need_services.find_sector(sector_text)
        if found is None:
            abort(400, description=_unknown_sector(sector_text))
        sector = found.slug
    state = request.args.get("state") or ""
    if state and state != "national":
        node = _node(state, national="'national'")
        state = node.code if node is not None else ""
    filters = need_queries.NeedFilters(status=status, sector=sector, state=state)
    pagination = need_queries.paginate_needs(filters, page, per_page)
    return jsonify(
        items=[_need_json(n, user) for n in pagination.items],
        page=pagination.page,
        per_page=pagination.per_page,
        total=pagination.total or 0,
        pages=pagination.pages,
    )


@bp.get("/needs/<int:need_id>")
@documented(NeedOut, anonymous=True, errors=(404,))
def need(need_id: int) -> ResponseReturnValue:
    """One need.

    Drafts and closed needs answer 404 to all but their organisation's users and IME.
    """
    user = _optional_token_user()
    return jsonify(_need_json(_visible_need(need_id, user), user))


@bp.get("/needs/<int:need_id>/candidates")
@token_required
@documented(
    CandidatesOut,
    params=(QueryParam("limit", int, "How many candidates, best first.", minimum=1, maximum=100),),
    errors=(403, 404),
)
def need_candidates(need_id: int) -> ResponseReturnValue:
    """The need's candidates, best first, each with the factors of their score.

    For the need's organisation and IME. Only what members show organisations is used, and no
    contact details are given: those come through a contact request the member accepts.
    """
    user = g.api_user
    found = _visible_need(need_id, user)
    if not (can_manage_need(user, found) or is_ime_admin(user)):
        abort(403, description=_("Only the need's organisation and IME see its candidates."))
    limit = _int_arg("limit", 20, 1, 100)
    ranking = rank_candidates(found, language=_language(), limit=limit)
    names = {c.member_id: c.profile.user.full_name for c in ranking.candidates if c.profile}
    unnamed = [c.member_id for c in ranking.candidates if c.member_id not in names]
    if unnamed:
        names |= dict(
            db.session.execute(select(User.id, User.full_name).where(User.id.in_(unnamed))).tuples()
        )
    results = [
        CandidateOut(
            member_id=c.member_id,
            full_name=names.get(c.member_id, ""),
            score=c.score,
            at_capacity=c.at_capacity,
            factors=[FactorOut(**factor.as_json()) for factor in c.factors],
            missing_concepts=list(c.missing),
        )
        for c in ranking.candidates
    ]
    return jsonify(dataclasses.asdict(CandidatesOut(results=results, total=ranking.total)))


# ---------------------------------------------------------------- contact requests


@bp.post("/needs/<int:need_id>/contact-requests")
@token_required
@documented(
    ContactCreatedOut, request_body=ContactRequestIn, status=201, errors=(403, 404, 409, 429)
)
def request_contact(need_id: int) -> ResponseReturnValue:
    """Ask a member whether they agree to be contacted about the need.

    For the need's verified organisation. The member is e-mailed and answers; until they accept,
    the organisation learns nothing of how to reach them. 409 when the need is not open, the
    member takes no requests or was already asked about this need; 429 when the member already
    has as many requests as the fair-load caps allow (they are then not contacted at all).
    """
    user = g.api_user
    found = _visible_need(need_id, user)
    if not can_manage_need(user, found):
        abort(
            403,
            description=_("Only the need's verified organisation asks experts for contact."),
        )
    sent = _json_object(CONTACT_FIELDS, _("'member_id' and 'message'"))
    missing = _missing(ContactRequestIn, sent)
    if missing:
        return _invalid_values(missing)
    try:
        contact = need_services.request_contact(user, found, sent["member_id"], sent["message"])
    except ValidationError as error:
        return _refused(error)
    db.session.commit()
    body = ContactCreatedOut(id=contact.id, status=contact.status)
    return jsonify(dataclasses.asdict(body)), 201


@bp.get("/contact-requests/<int:request_id>")
@token_required
@documented(ContactRequestOut, errors=(404,))
def contact_request(request_id: int) -> ResponseReturnValue:
    """One contact request, for the member it was sent to, the organisation that sent it and IME.

    Once the member accepted, the organisation's users also get `contact`, the member's e-mail
    address (and phone, if given); each such read is written to the audit log.
    """
    user = g.api_user
    contact = _visible_contact(request_id, user)
    details = (
        need_services.reveal_contact_details(user, contact) if _asks_for(user, contact) else None
    )
    body = _contact_json(contact, details)
    if details is not None:
        db.session.commit()  # the audit entry of this read
    return jsonify(body)


def _answer(request_id: int, accept: bool) -> ResponseReturnValue:
    user = g.api_user
    contact = _visible_contact(request_id, user)
    if contact.member_id != user.id:
        abort(403, description=_("Only the member the request was sent to answers it."))
    sent = _json_object(ANSWER_FIELDS, _("an optional 'reply'"), optional=True)
    try:
        need_services.answer_contact(user, contact, accept, sent.get("reply", ""))
    except ValidationError as error:
        return _refused(error)
    db.session.commit()
    return jsonify(_contact_json(contact, None))


@bp.post("/contact-requests/<int:request_id>/accept")
@token_required
@documented(
    ContactRequestOut, request_body=ContactAnswerIn, body_optional=True, errors=(403, 404, 409)
)
def accept_contact_request(request_id: int) -> ResponseReturnValue:
    """Accept a request, as the member it was sent to: the organisation may now see your e-mail
    address (and phone, if given).

    The body is optional. 404 for anyone the request is not visible to, 403 for the organisation
    and IME, 409 once it has been answered.
    """
    return _answer(request_id, accept=True)


@bp.post("/contact-requests/<int:request_id>/decline")
@token_required
@documented(
    ContactRequestOut, request_body=ContactAnswerIn, body_optional=True, errors=(403, 404, 409)
)
def decline_contact_request(request_id: int) -> ResponseReturnValue:
    """Decline a request, as the member it was sent to.

    The body is optional. 404 for anyone the request is not visible to, 403 for the organisation
    and IME, 409 once it has been answered.
    """
    return _answer(request_id, accept=False)
