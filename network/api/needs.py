"""/needs and /contact-requests: posting and reading development needs, explained candidates, and
consent-gated contact requests. The handlers call network.needs' services and queries, as the
pages do.

An expert's e-mail address and phone leave the server in one place only: a contact request the
expert accepted, read by a user of the organisation that asked, through
`services.reveal_contact_details`, which writes the read to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from chapters.models import Node
from network.api.auth import account_may, api_user, language, loads, token_optional, token_required
from network.api.blueprint import Blueprint
from network.api.errors import service_fields
from network.api.pagination import page_body, page_of
from network.api.schemas.needs import (
    CandidateArgs,
    CandidatesOut,
    ContactAnswerIn,
    ContactCreatedOut,
    ContactRequestIn,
    ContactRequestOut,
    NeedArgs,
    NeedCreatedOut,
    NeedIn,
    NeedOut,
)
from network.auth.models import User
from network.extensions import db
from network.members.profile_input import split_list
from network.members.vocabulary import resolve_expertise
from network.needs import queries as need_queries
from network.needs import services as need_services
from network.needs.models import ContactRequest, Need, NeedStatus
from network.needs.ranking import rank_candidates
from network.security import (
    can_manage_need,
    can_see_need,
    is_ime_admin,
    is_verified_organisation_user,
)

bp = Blueprint("needs", __name__, description="Development needs and contact requests to experts.")

# The services name some fields as the pages' form does; the API names them as NeedIn does.
SERVICE_FIELDS = {"required": "required_concepts", "nice": "nice_concepts", "node": "state"}


# ---------------------------------------------------------------- request in


def _unknown_sector(raw: str) -> str:
    return _("Unknown sector %(value)s.", value=repr(raw[:80]))


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


def _need_data(sent: dict[str, Any]) -> need_services.NeedData:
    """NeedIn's values -> NeedData, with an unknown concept, sector or state refused (400)."""
    sector = None
    if sent["sector"].strip():
        sector = need_services.find_sector(sent["sector"])
        if sector is None:
            abort(400, description=_unknown_sector(sent["sector"]))
    return need_services.NeedData(
        title=sent["title"],
        sector=sector,
        required=_concepts("required_concepts", sent["required_concepts"]),
        description=sent["description"],
        nice=_concepts("nice_concepts", sent["nice_concepts"]),
        languages=sent["languages"],
        modes=sent["modes"],
        effort_days=sent["effort_days"],
        starts_on=sent["starts_on"],
        ends_on=sent["ends_on"],
        node=_node(sent["state"]),
        remote=sent["remote"],
        status=NeedStatus(sent["status"]),
    )


# ---------------------------------------------------------------- JSON out


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _need_body(need: Need, user: Any) -> dict[str, Any]:
    speaking = language()
    body = {
        "id": need.id,
        "title": need.title,
        "description": need.description,
        "sector": {"slug": need.sector.slug, "label": need.sector.label(speaking)},
        "required_concepts": [
            {"slug": c.slug, "label": c.label(speaking)} for c in need.required_concepts
        ],
        "nice_concepts": [{"slug": c.slug, "label": c.label(speaking)} for c in need.nice_concepts],
        "languages": need.language_codes,
        "modes": need.mode_names,
        "effort_days": need.effort_days,
        "starts_on": need.starts_on.isoformat() if need.starts_on else None,
        "ends_on": need.ends_on.isoformat() if need.ends_on else None,
        "state": {"code": need.node.code, "name": need.node.name} if need.node else None,
        "remote": need.remote,
        "status": need.status,
        "organisation": {"slug": need.organisation.slug, "name": need.organisation.name},
        "created_at": _iso(need.created_at) or "",
    }
    if need.close_reason is not None and (can_manage_need(user, need) or is_ime_admin(user)):
        body["close_reason"] = need.close_reason
    return body


def _asks_for(user: Any, contact: ContactRequest) -> bool:
    """Whether the user speaks, verified, for the organisation that sent the request."""
    return is_verified_organisation_user(user) and user.organisation_id == contact.organisation_id


def _contact_body(contact: ContactRequest, details: dict[str, str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": contact.id,
        "need_id": contact.need_id,
        "need_title": contact.need.title,
        "organisation": {"slug": contact.organisation.slug, "name": contact.organisation.name},
        "member_id": contact.member_id,
        "member_full_name": contact.member.full_name,
        "message": contact.message,
        "status": contact.status,
        "reply": contact.reply,
        "created_at": _iso(contact.created_at) or "",
        "answered_at": _iso(contact.answered_at),
    }
    if details:
        body["contact"] = {k: v for k, v in details.items() if k != "phone" or v is not None}
    return body


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


# The need of the path, as the caller may see it (network.api.auth.loads).
_need = partial(loads, "need_id", _visible_need, to="need")


# ---------------------------------------------------------------- needs


@bp.route("/needs", methods=["POST"])
@token_required
@bp.answers(403)
@account_may(is_verified_organisation_user, _l("Only users of a verified organisation post needs."))
@bp.arguments(NeedIn)
@bp.response(201, NeedCreatedOut)
def create_need(sent: dict[str, Any]) -> dict[str, Any]:
    """Post a need, as a user of a verified organisation.

    Malformed JSON, an unknown concept, sector or state, or a malformed date answers 400 naming
    it; values the rules refuse answer 422 with the fields at fault.
    """
    with service_fields(SERVICE_FIELDS):
        need = need_services.post_need(api_user(), _need_data(sent))
    db.session.commit()
    return {"id": need.id}


@bp.route("/needs")
@token_optional
@bp.arguments(NeedArgs, location="query")
@bp.response(200, page_of(NeedOut))
def needs(args: dict[str, Any]) -> dict[str, Any]:
    """Published needs, the most recently opened first.

    Drafts and closed needs are never listed: their organisation reads them by id.
    """
    sector = ""
    if args.get("sector"):
        found = need_services.find_sector(args["sector"])
        if found is None:
            abort(400, description=_unknown_sector(args["sector"]))
        sector = found.slug
    state = args.get("state") or ""
    if state and state != "national":
        node = _node(state, national="'national'")
        state = node.code if node is not None else ""
    filters = need_queries.NeedFilters(status=args.get("status") or "", sector=sector, state=state)
    pagination = need_queries.paginate_needs(filters, args["page"], args["per_page"])
    user = api_user()
    return page_body(pagination, [_need_body(n, user) for n in pagination.items])


@bp.route("/needs/<int:need_id>")
@token_optional
@bp.answers(404)
@_need()
@bp.response(200, NeedOut)
def need(need: Need) -> dict[str, Any]:
    """One need.

    Drafts and closed needs answer 404 to all but their organisation's users and IME.
    """
    return _need_body(need, api_user())


@bp.route("/needs/<int:need_id>/candidates")
@token_required
@bp.answers(403, 404)
@_need(
    rule=lambda user, need: can_manage_need(user, need) or is_ime_admin(user),
    refusal=_l("Only the need's organisation and IME see its candidates."),
)
@bp.arguments(CandidateArgs, location="query")
@bp.response(200, CandidatesOut)
def need_candidates(args: dict[str, Any], need: Need) -> dict[str, Any]:
    """The need's candidates, best first, each with the factors of their score.

    For the need's organisation and IME. Only what members show organisations is used, and no
    contact details are given: those come through a contact request the member accepts.
    """
    ranking = rank_candidates(need, language=language(), limit=args["limit"])
    names = {c.member_id: c.profile.user.full_name for c in ranking.candidates if c.profile}
    unnamed = [c.member_id for c in ranking.candidates if c.member_id not in names]
    if unnamed:
        names |= dict(
            db.session.execute(select(User.id, User.full_name).where(User.id.in_(unnamed))).tuples()
        )
    results = [
        {
            "member_id": c.member_id,
            "full_name": names.get(c.member_id, ""),
            "score": c.score,
            "at_capacity": c.at_capacity,
            "factors": [factor.as_json() for factor in c.factors],
            "missing_concepts": list(c.missing),
        }
        for c in ranking.candidates
    ]
    return {"results": results, "total": ranking.total}


# ---------------------------------------------------------------- contact requests


@bp.route("/needs/<int:need_id>/contact-requests", methods=["POST"])
@token_required
@bp.answers(403, 404, 409, 429)
@_need(
    rule=can_manage_need,
    refusal=_l("Only the need's verified organisation asks experts for contact."),
)
@bp.arguments(ContactRequestIn)
@bp.response(201, ContactCreatedOut)
def request_contact(sent: dict[str, Any], need: Need) -> dict[str, Any]:
    """Ask a member whether they agree to be contacted about the need.

    For the need's verified organisation. The member is e-mailed and answers; until they accept,
    the organisation learns nothing of how to reach them. 409 when the need is not open, the
    member takes no requests or was already asked about this need; 429 when the member already
    has as many requests as the fair-load caps allow (they are then not contacted at all).
    """
    with service_fields(SERVICE_FIELDS):
        contact = need_services.request_contact(
            api_user(), need, sent["member_id"], sent["message"]
        )
    db.session.commit()
    return {"id": contact.id, "status": contact.status}


@bp.route("/contact-requests/<int:request_id>")
@token_required
@bp.answers(404)
@loads("request_id", _visible_contact, to="contact")
@bp.response(200, ContactRequestOut)
def contact_request(contact: ContactRequest) -> dict[str, Any]:
    """One contact request, for the member it was sent to, the organisation that sent it and IME.

    Once the member accepted, the organisation's users also get `contact`, the member's e-mail
    address (and phone, if given); each such read is written to the audit log.
    """
    user = api_user()
    details = (
        need_services.reveal_contact_details(user, contact) if _asks_for(user, contact) else None
    )
    body = _contact_body(contact, details)
    if details is not None:
        db.session.commit()  # the audit entry of this read
    return body


def _answer(sent: dict[str, Any], contact: ContactRequest, *, accept: bool) -> dict[str, Any]:
    with service_fields(SERVICE_FIELDS):
        need_services.answer_contact(api_user(), contact, accept, sent["reply"])
    db.session.commit()
    return _contact_body(contact, None)


# Only the member the request was sent to answers it: 404 for anyone it is not visible to, 403
# for the organisation and IME, before the body is read.
_answered_by_its_member = loads(
    "request_id",
    _visible_contact,
    to="contact",
    rule=lambda user, contact: contact.member_id == user.id,
    refusal=_l("Only the member the request was sent to answers it."),
)


@bp.route("/contact-requests/<int:request_id>/accept", methods=["POST"])
@token_required
@bp.answers(403, 404, 409)
@_answered_by_its_member
@bp.arguments(ContactAnswerIn)
@bp.response(200, ContactRequestOut)
def accept_contact_request(sent: dict[str, Any], contact: ContactRequest) -> dict[str, Any]:
    """Accept a request, as the member it was sent to: the organisation may now see your e-mail
    address (and phone, if given).

    The body is optional. 404 for anyone the request is not visible to, 403 for the organisation
    and IME, 409 once it has been answered.
    """
    return _answer(sent, contact, accept=True)


@bp.route("/contact-requests/<int:request_id>/decline", methods=["POST"])
@token_required
@bp.answers(403, 404, 409)
@_answered_by_its_member
@bp.arguments(ContactAnswerIn)
@bp.response(200, ContactRequestOut)
def decline_contact_request(sent: dict[str, Any], contact: ContactRequest) -> dict[str, Any]:
    """Decline a request, as the member it was sent to.

    The body is optional. 404 for anyone the request is not visible to, 403 for the organisation
    and IME, 409 once it has been answered.
    """
    return _answer(sent, contact, accept=False)
