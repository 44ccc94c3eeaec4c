"""Mentoring pages: my mentorships (both sides), asking a mentor, answering, ending."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from network.errors import ValidationError
from network.extensions import db
from network.forms import ActionForm, apply_error, commit_or_flash
from network.members.queries import get_profile_for_user_id
from network.mentoring import bp, queries, services
from network.mentoring.forms import MentoringAnswerForm, MentoringEndForm, MentoringRequestForm
from network.mentoring.models import Mentorship
from network.security import is_member_account, login_required, require


@bp.route("")
@login_required
def index() -> ResponseReturnValue:
    require(is_member_account(current_user))
    mentorships = queries.list_mentorships_of(current_user.id)
    return render_template(
        "mentoring/index.html",
        as_mentor=[m for m in mentorships if m.mentor_id == current_user.id],
        as_mentee=[m for m in mentorships if m.mentee_id == current_user.id],
        profile=current_user.profile,
        answer_form=MentoringAnswerForm(),
        end_form=MentoringEndForm(),
        action_form=ActionForm(),
    )


@bp.route("/ask/<int:mentor_id>", methods=["GET", "POST"])
@login_required
def ask(mentor_id: int) -> ResponseReturnValue:
    require(is_member_account(current_user))
    profile = get_profile_for_user_id(mentor_id)
    if profile is None:
        abort(404)
    form = MentoringRequestForm()
    if form.validate_on_submit():
        try:
            services.request_mentoring(
                current_user, mentor_id, form.goal.data, int(form.duration_weeks.data)
            )
        except ValidationError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for("mentoring.index"))
    return render_template(
        "mentoring/ask.html",
        form=form,
        mentor=profile,
        can_ask=services.can_ask(current_user, profile),
    )


def _mine(mentorship_id: int) -> Mentorship:
    mentorship = queries.get_mentorship(mentorship_id)
    if mentorship is None or current_user.id not in (mentorship.mentor_id, mentorship.mentee_id):
        abort(404)
    return mentorship


@bp.post("/<int:mentorship_id>/answer")
@login_required
def answer(mentorship_id: int) -> ResponseReturnValue:
    mentorship = _mine(mentorship_id)
    require(mentorship.mentor_id == current_user.id)
    form = MentoringAnswerForm()
    decision = request.form.get("decision")
    if form.validate_on_submit() and decision in ("accept", "decline"):
        accept = decision == "accept"
        commit_or_flash(
            lambda: services.answer_mentoring(
                current_user, mentorship, accept, form.reply.data or ""
            ),
            _("Mentorship accepted.") if accept else _("Request declined."),
        )
    return redirect(url_for("mentoring.index"))


@bp.post("/<int:mentorship_id>/cancel")
@login_required
def cancel(mentorship_id: int) -> ResponseReturnValue:
    mentorship = _mine(mentorship_id)
    require(mentorship.mentee_id == current_user.id)
    if ActionForm().validate_on_submit():
        commit_or_flash(
            lambda: services.cancel_mentoring(current_user, mentorship), _("Request cancelled.")
        )
    return redirect(url_for("mentoring.index"))


@bp.post("/<int:mentorship_id>/end")
@login_required
def end(mentorship_id: int) -> ResponseReturnValue:
    mentorship = _mine(mentorship_id)
    form = MentoringEndForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.end_mentoring(current_user, mentorship, form.outcome.data),
            _("Mentorship ended. Thank you for the outcome."),
        )
    else:
        flash(_("Say in a few words how it went."), "danger")
    return redirect(url_for("mentoring.index"))
