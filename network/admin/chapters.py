"""IME approves proposed chapters, deactivates chapters and marks CCIME representatives (issue 8)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from chapters import queries, services
from chapters.forms import CcimeTermForm, ChapterDeclineForm
from network.admin import bp
from network.auth.services import get_user_by_email
from network.db import utcnow
from network.errors import ValidationError
from network.extensions import db
from network.forms import ActionForm, apply_error, commit_or_flash, safe_next
from network.security import ime_required


@bp.context_processor
def _pending_proposals() -> dict[str, Any]:
    """The administration page's button shows how many proposals wait; a callable, so that only
    the pages that show it pay for the count."""
    return {"count_chapter_proposals": queries.count_chapter_proposals}


# ---------------------------------------------------------------- proposals


@bp.route("/chapters/proposals")
@ime_required
def chapter_proposals() -> str:
    return render_template(
        "admin/chapter_proposals.html",
        proposals=queries.list_chapter_proposals(),
    )


@bp.route("/chapters/proposals/<int:chapter_id>/approve", methods=["POST"])
@ime_required
def approve_chapter(chapter_id: int) -> Response:
    chapter = queries.get_chapter_proposal(chapter_id)
    if ActionForm().validate_on_submit():
        commit_or_flash(
            lambda: services.approve_chapter(current_user, chapter),
            _(
                "%(chapter)s is approved and listed; whoever proposed it was told.",
                chapter=chapter.name,
            ),
        )
    return redirect(url_for("admin.chapter_proposals"))


@bp.route("/chapters/proposals/<int:chapter_id>/decline", methods=["POST"])
@ime_required
def decline_chapter(chapter_id: int) -> Response:
    chapter = queries.get_chapter_proposal(chapter_id)
    form = ChapterDeclineForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for the member who proposed the chapter."), "danger")
        return redirect(url_for("admin.chapter_proposals"))
    commit_or_flash(
        lambda: services.decline_chapter(current_user, chapter, form.reason.data),
        _(
            "The proposal of %(chapter)s was declined; the member was told why.",
            chapter=chapter.name,
        ),
    )
    return redirect(url_for("admin.chapter_proposals"))


# ---------------------------------------------------------------- deactivating


def _set_active(slug: str, active: bool) -> Response:
    chapter = queries.get_chapter_by_slug(slug)
    if ActionForm().validate_on_submit():
        commit_or_flash(
            lambda: services.set_chapter_active(current_user, chapter, active),
            _("%(chapter)s is active again.", chapter=chapter.name)
            if active
            else _(
                "%(chapter)s is deactivated; its members and coordinators are kept.",
                chapter=chapter.name,
            ),
        )
    return redirect(safe_next(request.form.get("next"), url_for("admin.index")))


@bp.route("/chapters/<slug>/deactivate", methods=["POST"])
@ime_required
def deactivate_chapter(slug: str) -> Response:
    return _set_active(slug, active=False)


@bp.route("/chapters/<slug>/reactivate", methods=["POST"])
@ime_required
def reactivate_chapter(slug: str) -> Response:
    return _set_active(slug, active=True)


# ---------------------------------------------------------------- CCIME representatives


@bp.route("/ccime", methods=["GET", "POST"])
@ime_required
def ccime() -> str | Response:
    """Current and past terms, and the form to add one."""
    form = CcimeTermForm()
    chapters = queries.list_chapters(include_inactive=True)
    form.set_chapter_choices(chapters)
    if form.validate_on_submit():
        user = get_user_by_email(form.email.data or "")
        chapter = next((c for c in chapters if c.slug == form.chapter.data), None)
        try:
            if user is None:
                raise ValidationError("email", _("No account uses this e-mail address."))
            services.add_ccime_term(
                current_user, user, chapter, form.starts_on.data, form.ends_on.data
            )
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _("%(name)s is marked as a CCIME representative.", name=user.full_name), "success"
            )
            return redirect(url_for("admin.ccime"))
    today = utcnow().date()
    terms = queries.list_ccime_terms()
    return render_template(
        "admin/ccime.html",
        form=form,
        today=today,
        current=[t for t in terms if t.ends_on >= today],
        past=[t for t in terms if t.ends_on < today],
    )


@bp.route("/ccime/<int:term_id>/end", methods=["POST"])
@ime_required
def end_ccime_term(term_id: int) -> Response:
    term = queries.get_ccime_term(term_id)
    if ActionForm().validate_on_submit():
        commit_or_flash(
            lambda: services.end_ccime_term(current_user, term, utcnow().date()),
            _("The term of %(name)s ends today.", name=term.user.full_name),
        )
    return redirect(url_for("admin.ccime"))


@bp.route("/ccime/<int:term_id>/delete", methods=["POST"])
@ime_required
def delete_ccime_term(term_id: int) -> Response:
    term = queries.get_ccime_term(term_id)
    name = term.user.full_name
    if ActionForm().validate_on_submit():
        commit_or_flash(
            lambda: services.delete_ccime_term(current_user, term),
            _("The term of %(name)s was deleted.", name=name),
        )
    return redirect(url_for("admin.ccime"))
