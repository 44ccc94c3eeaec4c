"""Needs pages: the list, "Needs for you", one need, posting and editing, ranked candidates with
their explanation, the shortlist, contact requests and outcomes."""

from __future__ import annotations

import json
from datetime import date

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from chapters.models import Node
from network.csvsafe import csv_text
from network.errors import ValidationError
from network.extensions import db
from network.forms import ActionForm, apply_error, commit_or_flash, page_arg, safe_next
from network.geo import current_language, language_name
from network.members.models import MODE_LABELS, Sector
from network.members.profile_input import split_list
from network.members.queries import list_sectors
from network.members.vocabulary import resolve_expertise
from network.needs import bp, queries, services
from network.needs.forms import (
    AnswerForm,
    ConfirmOutcomeForm,
    ContactForm,
    InterestForm,
    NeedFiltersForm,
    NeedForm,
    OutcomeForm,
    StatusForm,
)
from network.needs.models import (
    NEED_STATUS_LABELS,
    ContactRequest,
    ContactStatus,
    Need,
    NeedStatus,
    Outcome,
)
from network.needs.ranking import rank_candidates as rank
from network.needs.ranking import weights_table
from network.security import (
    can_manage_need,
    can_see_need,
    is_ime_admin,
    is_member_account,
    is_verified_organisation_user,
    login_required,
    require,
)
from network.visibility import ORGANISATION_VIEWER, visible_fields

CANDIDATES_PER_PAGE = 20


def _load(need_id: int) -> Need:
    need = queries.get_need(need_id)
    if need is None or not can_see_need(current_user, need):
        abort(404)
    return need


def _managed(need_id: int) -> Need:
    need = _load(need_id)
    require(can_manage_need(current_user, need))
    return need


def _page_arg() -> int:
    return page_arg()


def _sector_choices(empty: str) -> list[SelectChoice]:
    language = current_language()
    sectors = sorted(list_sectors(), key=lambda s: s.label(language))
    return [SelectChoice("", empty), *(SelectChoice(s.slug, s.label(language)) for s in sectors)]


def _state_choices(empty: str, national: str) -> list[SelectChoice]:
    return [
        SelectChoice("", empty),
        SelectChoice("national", national),
        *(SelectChoice(n.code, n.name) for n in queries.list_nodes()),
    ]


# ---------------------------------------------------------------- lists


@bp.route("/needs")
def index() -> ResponseReturnValue:
    form = NeedFiltersForm(request.args)
    form.sector.choices = _sector_choices(_("Any sector"))
    form.state.choices = _state_choices(_("Anywhere in Mexico"), _("National"))
    form.mode.choices = [
        SelectChoice("", _("Any")),
        *(SelectChoice(str(m), str(label)) for m, label in MODE_LABELS.items()),
    ]
    filters = queries.NeedFilters(
        status=form.status.data or "open",
        sector=form.sector.data or "",
        state=form.state.data or "",
        mode=form.mode.data or "",
        remote=form.remote.data or "",
        concept=request.args.get("concept", "")[:80],
    )
    page = queries.paginate_needs(filters, _page_arg(), current_app.config["NEEDS_PAGE_SIZE"])
    return render_template("needs/index.html", form=form, page=page, tab="all")


@bp.route("/needs/for-you")
@login_required
def for_you() -> ResponseReturnValue:
    """A member's open needs ranked by their own expertise, with the same factors organisations
    see, so that the member knows why a need is proposed."""
    require(is_member_account(current_user))
    profile = current_user.profile
    ranked = queries.needs_for_member(profile, current_language()) if profile else []
    interests = {i.need_id for i in queries.list_interests_of(current_user.id)}
    seen = (
        profile is not None
        and services.open_to_organisations(profile)
        and "expertise" in visible_fields(ORGANISATION_VIEWER, profile.user_id, profile.visibility)
    )
    return render_template(
        "needs/for_you.html",
        ranked=ranked,
        interests=interests,
        seen=seen,
        tab="for_you",
        has_expertise=bool(profile and (profile.concepts or profile.free_tags)),
    )


@bp.route("/needs/ours")
@login_required
def ours() -> ResponseReturnValue:
    """The organisation's needs in every status, drafts included."""
    require(is_verified_organisation_user(current_user))
    page = queries.paginate_needs(
        queries.NeedFilters(status="all"),
        _page_arg(),
        current_app.config["NEEDS_PAGE_SIZE"],
        organisation_id=current_user.organisation_id,
    )
    return render_template("needs/index.html", form=None, page=page, tab="ours")


# ---------------------------------------------------------------- one need


@bp.route("/needs/<int:need_id>")
def detail(need_id: int) -> ResponseReturnValue:
    need = _load(need_id)
    manages = can_manage_need(current_user, need)
    mine = None
    my_outcome: Outcome | None = None
    if is_member_account(current_user):
        mine = next((i for i in need.interests if i.member_id == current_user.id), None)
        my_outcome = next((o for o in need.outcomes if o.member_id == current_user.id), None)
    engaged = [c for c in need.contact_requests if c.status == ContactStatus.ACCEPTED]
    return render_template(
        "needs/detail.html",
        need=need,
        manages=manages,
        mine=mine,
        my_outcome=my_outcome,
        interest_form=InterestForm(obj=mine),
        status_form=StatusForm(status=need.status),
        outcome_form=OutcomeForm(),
        confirm_form=ConfirmOutcomeForm(),
        action_form=ActionForm(),
        engaged=engaged,
        transitions=services.NEED_TRANSITIONS[need.status],
        sees_interests=manages or is_ime_admin(current_user),
        mode_labels=MODE_LABELS,
        status_labels=NEED_STATUS_LABELS,
        language_name=language_name,
    )


def _concepts(form: NeedForm, name: str) -> list:
    concepts, unknown = resolve_expertise(split_list(getattr(form, name).data))
    if unknown:
        raise ValidationError(
            name, _("Not an expertise concept: %(items)s", items="; ".join(unknown))
        )
    return concepts


def _form_data(form: NeedForm, status: str) -> services.NeedData:
    sector = db.session.scalar(select(Sector).where(Sector.slug == form.sector.data))
    node = (
        db.session.scalar(select(Node).where(Node.code == form.state.data))
        if form.state.data
        else None
    )
    return services.NeedData(
        title=form.title.data or "",
        description=form.description.data or "",
        sector=sector,
        required=_concepts(form, "required"),
        nice=_concepts(form, "nice"),
        languages=form.languages.data or [],
        modes=form.modes.data or [],
        effort_days=form.effort_days.data,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        node=node,
        remote=bool(form.remote.data),
        status=NeedStatus(status),
    )


def _need_form(need: Need | None) -> NeedForm:
    form = NeedForm(obj=need) if need is not None and request.method == "GET" else NeedForm()
    form.sector.choices = _sector_choices(_("— choose a sector —"))
    form.state.choices = [
        SelectChoice("", _("National (no particular state)")),
        *(SelectChoice(n.code, n.name) for n in queries.list_nodes()),
    ]
    if need is not None and request.method == "GET":
        form.sector.data = need.sector.slug
        form.state.data = need.node.code if need.node else ""
        form.required.data = "; ".join(c.slug for c in need.required_concepts)
        form.nice.data = "; ".join(c.slug for c in need.nice_concepts)
        form.languages.data = need.language_codes
        form.modes.data = need.mode_names
        form.status.data = str(need.status) if need.status in ("draft", "open") else "open"
    elif need is None and request.method == "GET":
        form.languages.data = ["es"]
    return form


def _save(form: NeedForm, need: Need | None) -> ResponseReturnValue | None:
    """Post the need (`need` None; as a draft or open, as chosen) or save the edit (its status
    moves with its own buttons): the way to its page, or None with the refusal on the form."""
    try:
        if need is None:
            need = services.post_need(current_user, _form_data(form, form.status.data or "draft"))
        else:
            services.update_need(current_user, need, _form_data(form, "draft"))
    except ValidationError as error:
        db.session.rollback()
        apply_error(form, error)
        return None
    db.session.commit()
    flash(_("Need saved."), "success")
    return redirect(url_for("needs.detail", need_id=need.id))


def _edit_page(form: NeedForm, need: Need | None) -> str:
    language = current_language()
    slugs = split_list(form.required.data) + split_list(form.nice.data)
    concepts, _unknown = resolve_expertise(slugs)
    labels = {c.slug: c.label(language) for c in concepts}
    return render_template(
        "needs/edit.html",
        form=form,
        need=need,
        concept_labels=json.dumps(labels, ensure_ascii=False),
    )


@bp.route("/needs/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    require(is_verified_organisation_user(current_user))
    form = _need_form(None)
    if form.validate_on_submit() and (saved := _save(form, None)):
        return saved
    return _edit_page(form, None)


@bp.route("/needs/<int:need_id>/edit", methods=["GET", "POST"])
@login_required
def edit(need_id: int) -> ResponseReturnValue:
    need = _managed(need_id)
    form = _need_form(need)
    del form.status  # the status moves with its own buttons on the need's page
    if form.validate_on_submit() and (saved := _save(form, need)):
        return saved
    return _edit_page(form, need)


@bp.post("/needs/<int:need_id>/status")
@login_required
def change_status(need_id: int) -> ResponseReturnValue:
    need = _managed(need_id)
    form = StatusForm()
    if form.validate_on_submit():
        status = NeedStatus(form.status.data)
        commit_or_flash(
            lambda: services.change_status(current_user, need, status, form.reason.data or ""),
            _("Status changed to “%(status)s”.", status=NEED_STATUS_LABELS[status]),
        )
    return redirect(url_for("needs.detail", need_id=need.id))


@bp.post("/needs/<int:need_id>/interest")
@login_required
def express_interest(need_id: int) -> ResponseReturnValue:
    need = _load(need_id)
    require(is_member_account(current_user))
    form = InterestForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.express_interest(current_user, need, form.message.data or ""),
            _("The organisation can now see your interest and your message."),
        )
    return redirect(url_for("needs.detail", need_id=need.id))


@bp.post("/needs/<int:need_id>/interest/withdraw")
@login_required
def withdraw_interest(need_id: int) -> ResponseReturnValue:
    need = _load(need_id)
    require(is_member_account(current_user))
    if ActionForm().validate_on_submit():
        services.withdraw_interest(current_user, need)
        db.session.commit()
        flash(_("Your interest was withdrawn."), "info")
    return redirect(url_for("needs.detail", need_id=need.id))


# ---------------------------------------------------------------- candidates and shortlist


@bp.route("/needs/<int:need_id>/candidates")
@login_required
def candidates(need_id: int) -> ResponseReturnValue:
    need = _load(need_id)
    require(can_manage_need(current_user, need) or is_ime_admin(current_user))
    page = _page_arg()
    ranking = rank(
        need,
        language=current_language(),
        limit=CANDIDATES_PER_PAGE,
        offset=(page - 1) * CANDIDATES_PER_PAGE,
    )
    requested = {c.member_id: c for c in need.contact_requests}
    shortlisted = {e.member_id for e in need.shortlist}
    return render_template(
        "needs/candidates.html",
        need=need,
        ranking=ranking,
        page=page,
        per_page=CANDIDATES_PER_PAGE,
        weights=weights_table(),
        requested=requested,
        shortlisted=shortlisted,
        contact_form=ContactForm(),
        action_form=ActionForm(),
        can_contact=can_manage_need(current_user, need)
        and need.status in (NeedStatus.OPEN, NeedStatus.IN_PROGRESS),
    )


@bp.post("/needs/<int:need_id>/shortlist")
@login_required
def shortlist_add(need_id: int) -> ResponseReturnValue:
    need = _managed(need_id)
    if ActionForm().validate_on_submit():
        member_id = request.form.get("member_id", type=int) or 0
        member_id = member_id if 0 < member_id < 2**31 else 0  # 0: "no such member"
        commit_or_flash(
            lambda: services.add_to_shortlist(current_user, need, member_id),
            _("Added to the shortlist."),
        )
    return redirect(
        safe_next(request.form.get("next"), url_for("needs.shortlist", need_id=need.id))
    )


@bp.post("/needs/<int:need_id>/shortlist/<int:member_id>/remove")
@login_required
def shortlist_remove(need_id: int, member_id: int) -> ResponseReturnValue:
    need = _managed(need_id)
    if ActionForm().validate_on_submit():
        services.remove_from_shortlist(current_user, need, member_id)
        db.session.commit()
        flash(_("Removed from the shortlist."), "info")
    return redirect(url_for("needs.shortlist", need_id=need.id))


@bp.route("/needs/<int:need_id>/shortlist")
@login_required
def shortlist(need_id: int) -> ResponseReturnValue:
    need = _managed(need_id)
    requested = {c.member_id: c for c in need.contact_requests}
    return render_template(
        "needs/shortlist.html",
        need=need,
        requested=requested,
        contact_form=ContactForm(),
        action_form=ActionForm(),
    )


@bp.route("/needs/<int:need_id>/shortlist.csv")
@login_required
def shortlist_csv(need_id: int) -> ResponseReturnValue:
    """The shortlist for the organisation's own files: names and where each request stands.
    It never carries contact details, which are only on the request's page after consent."""
    need = _managed(need_id)
    requested = {c.member_id: c for c in need.contact_requests}
    table: list[list[object]] = [
        ["member_id", "full_name", "headline", "added_at", "request_status"]
    ]
    for entry in need.shortlist:
        contact = requested.get(entry.member_id)
        profile = entry.member.profile
        headline = (
            profile.headline
            if profile
            and "headline"
            in visible_fields(ORGANISATION_VIEWER, entry.member_id, profile.visibility)
            else ""
        )
        table.append(
            [
                entry.member_id,
                entry.member.full_name,
                headline,
                entry.added_at.date().isoformat(),
                contact.status if contact else "",
            ]
        )
    filename = f"need-{need.id}-shortlist-{date.today().isoformat()}.csv"
    return Response(
        csv_text(table),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.post("/needs/<int:need_id>/contact")
@login_required
def contact(need_id: int) -> ResponseReturnValue:
    need = _managed(need_id)
    form = ContactForm()
    back = safe_next(request.form.get("next"), url_for("needs.shortlist", need_id=need.id))
    if not form.validate_on_submit():
        flash(_("Write a message of 10 to 2000 characters."), "danger")
        return redirect(back)
    commit_or_flash(
        lambda: services.request_contact(
            current_user, need, form.member_id.data, form.message.data
        ),
        _("Request sent. You will see the expert's contact details if they accept."),
    )
    return redirect(back)


# ---------------------------------------------------------------- contact requests


@bp.route("/needs/requests")
@login_required
def my_requests() -> ResponseReturnValue:
    """An expert's requests from organisations, and who has seen their contact details."""
    require(is_member_account(current_user))
    return render_template(
        "needs/requests.html",
        requests=queries.list_contact_requests_for(current_user.id),
        views=queries.list_contact_views(current_user.id),
        interests=queries.list_interests_of(current_user.id),
    )


@bp.route("/needs/requests/<int:request_id>")
@login_required
def contact_request(request_id: int) -> ResponseReturnValue:
    contact = queries.get_contact_request(request_id)
    if contact is None:
        abort(404)
    is_expert = contact.member_id == current_user.id
    is_sender = can_manage_need(current_user, contact.need)
    if not (is_expert or is_sender or is_ime_admin(current_user)):
        abort(404)
    details = services.reveal_contact_details(current_user, contact) if is_sender else None
    if details is not None:
        db.session.commit()  # the audit entry of this view
    return render_template(
        "needs/request.html",
        contact=contact,
        is_expert=is_expert,
        is_sender=is_sender,
        details=details,
        answer_form=AnswerForm(),
        action_form=ActionForm(),
    )


def _own_request(request_id: int) -> ContactRequest:
    contact = queries.get_contact_request(request_id)
    if contact is None or contact.member_id != current_user.id:
        abort(404)
    return contact


@bp.post("/needs/requests/<int:request_id>/answer")
@login_required
def answer(request_id: int) -> ResponseReturnValue:
    contact = _own_request(request_id)
    form = AnswerForm()
    decision = request.form.get("decision")
    if form.validate_on_submit() and decision in ("accept", "decline"):
        accept = decision == "accept"
        commit_or_flash(
            lambda: services.answer_contact(current_user, contact, accept, form.reply.data or ""),
            _("You accepted: the organisation can now see your e-mail and phone.")
            if accept
            else _("You declined the request."),
        )
    return redirect(url_for("needs.contact_request", request_id=contact.id))


@bp.post("/needs/requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int) -> ResponseReturnValue:
    contact = _own_request(request_id)
    if ActionForm().validate_on_submit():
        commit_or_flash(
            lambda: services.withdraw_consent(current_user, contact),
            _("Consent withdrawn: the organisation no longer sees your contact details."),
        )
    return redirect(url_for("needs.contact_request", request_id=contact.id))


# ---------------------------------------------------------------- outcomes


@bp.post("/needs/<int:need_id>/outcomes")
@login_required
def record_outcome(need_id: int) -> ResponseReturnValue:
    need = _managed(need_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        flash(_("Give the days (0 to 365) and say what was achieved."), "danger")
        return redirect(url_for("needs.detail", need_id=need.id))
    rating = int(form.rating.data) if form.rating.data else None
    commit_or_flash(
        lambda: services.record_outcome(
            current_user, need, form.member_id.data, form.days.data, form.achieved.data, rating
        ),
        _("Outcome recorded; the expert is asked to confirm it."),
    )
    return redirect(url_for("needs.detail", need_id=need.id))


@bp.post("/needs/outcomes/<int:outcome_id>/confirm")
@login_required
def confirm_outcome(outcome_id: int) -> ResponseReturnValue:
    outcome = db.session.get(Outcome, outcome_id)
    if outcome is None or outcome.member_id != current_user.id:
        abort(404)
    form = ConfirmOutcomeForm()
    if form.validate_on_submit():
        services.confirm_outcome(current_user, outcome, form.comment.data or "")
        db.session.commit()
        flash(_("Thank you: your contribution is confirmed."), "success")
    return redirect(url_for("needs.detail", need_id=outcome.need_id))
