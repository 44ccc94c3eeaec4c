"""Public pages of the network (home, regions, chapters, nodes) and coordinators' chapter tools."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from chapters import bp, queries, services
from chapters.forms import ChapterEditForm, ChapterProposalForm, DecisionForm, JoinRequestForm
from network.errors import ValidationError
from network.events import queries as event_queries
from network.extensions import db
from network.forms import ActionForm, apply_error, page_arg
from network.geo import current_language
from network.security import can_join_chapters, can_manage_chapter, login_required, require


@bp.route("/")
def home() -> str:
    figures = queries.get_network_figures()
    regions = queries.list_regions()
    return render_template("chapters/home.html", figures=figures, regions=regions)


@bp.route("/regions")
def regions() -> str:
    return render_template(
        "chapters/regions.html",
        regions=queries.list_regions(),
        member_counts=queries.count_members_by_chapter(),
    )


@bp.route("/chapters/propose", methods=["GET", "POST"])
@login_required
def propose() -> str | Response:
    """A member proposes a chapter and follows what IME decided on their earlier proposals."""
    require(can_join_chapters(current_user))
    form = ChapterProposalForm()
    regions = queries.list_regions()
    form.set_choices(regions, current_language())
    if form.validate_on_submit():
        try:
            chapter = services.propose_chapter(current_user, form.proposal(regions))
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Thank you. IME will review your proposal of %(chapter)s and write to you.",
                    chapter=chapter.name,
                ),
                "success",
            )
            return redirect(url_for("chapters.propose"))
    return render_template(
        "chapters/propose.html",
        form=form,
        proposals=queries.list_proposals_by(current_user),
    )


@bp.route("/chapters/<slug>")
def detail(slug: str) -> str:
    chapter = queries.get_chapter_for_viewer(slug, current_user)
    return render_template(
        "chapters/detail.html",
        chapter=chapter,
        ccime_terms=queries.list_current_ccime(chapter),
        coordinators=queries.list_coordinators(chapter, listed_only=True),
        member_count=queries.count_chapter_members(chapter),
        membership=queries.get_membership(current_user, chapter),
        upcoming_events=event_queries.list_chapter_events(chapter, current_user, limit=5),
        past_events=event_queries.list_chapter_events(chapter, current_user, past=True, limit=5),
        can_join=can_join_chapters(current_user),
        join_form=JoinRequestForm(),
        action_form=ActionForm(),
    )


@bp.route("/chapters/<slug>/join", methods=["POST"])
@login_required
def join(slug: str) -> str | Response:
    chapter = queries.get_chapter_by_slug(slug)
    require(can_join_chapters(current_user))
    form = JoinRequestForm()
    if form.validate_on_submit():
        try:
            services.request_to_join(current_user, chapter, form.message.data or "")
        except ValidationError as error:
            flash(str(error.message), "warning")
        else:
            db.session.commit()
            flash(
                _(
                    "Your request has been sent to the coordinators of %(chapter)s.",
                    chapter=chapter.name,
                ),
                "success",
            )
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
    return redirect(url_for("chapters.detail", slug=chapter.slug))


@bp.route("/chapters/<slug>/leave", methods=["POST"])
@login_required
def leave(slug: str) -> Response:
    chapter = queries.get_chapter_by_slug(slug)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.leave_chapter(current_user, chapter)
        except ValidationError as error:
            flash(str(error.message), "warning")
        else:
            db.session.commit()
            flash(_("You are no longer a member of %(chapter)s.", chapter=chapter.name), "info")
    return redirect(url_for("chapters.detail", slug=chapter.slug))


@bp.route("/chapters/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str) -> str | Response:
    chapter = queries.get_chapter_by_slug(slug)
    require(can_manage_chapter(current_user, chapter))
    form = ChapterEditForm(obj=chapter if request.method == "GET" else None)
    all_nodes = queries.list_nodes()
    form.set_node_choices(all_nodes)
    if request.method == "GET":
        form.nodes.data = [node.id for node in chapter.nodes]
    if form.validate_on_submit():
        try:
            services.update_chapter(chapter, form.details(all_nodes))
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("The chapter has been updated."), "success")
            return redirect(url_for("chapters.detail", slug=chapter.slug))
    return render_template("chapters/edit.html", chapter=chapter, form=form)


@bp.route("/chapters/<slug>/requests")
@login_required
def requests(slug: str) -> str:
    chapter = queries.get_chapter_by_slug(slug)
    require(can_manage_chapter(current_user, chapter))
    return render_template(
        "chapters/requests.html",
        chapter=chapter,
        pending=queries.list_pending_requests(chapter),
        form=DecisionForm(),
    )


@bp.route("/chapters/<slug>/requests/<int:membership_id>", methods=["POST"])
@login_required
def decide(slug: str, membership_id: int) -> Response:
    chapter = queries.get_chapter_by_slug(slug)
    require(can_manage_chapter(current_user, chapter))
    membership = queries.get_membership_by_id(chapter, membership_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("Choose whether to approve or decline the request."), "danger")
        return redirect(url_for("chapters.requests", slug=chapter.slug))
    approve = form.decision.data == "approve"
    try:
        services.decide_join_request(current_user, membership, approve=approve)
    except ValidationError as error:
        flash(str(error.message), "warning")
    else:
        db.session.commit()
        name = membership.user.full_name
        if approve:
            flash(_("%(name)s is now a member of the chapter.", name=name), "success")
        else:
            flash(_("The request from %(name)s has been declined.", name=name), "info")
    return redirect(url_for("chapters.requests", slug=chapter.slug))


@bp.route("/chapters/<slug>/members")
@login_required
def members(slug: str) -> str:
    chapter = queries.get_chapter_by_slug(slug)
    require(can_manage_chapter(current_user, chapter))
    page = page_arg()
    pagination = queries.paginate_chapter_members(
        chapter, max(page, 1), current_app.config["MEMBER_LIST_PAGE_SIZE"]
    )
    return render_template("chapters/members.html", chapter=chapter, pagination=pagination)


@bp.route("/nodes")
def nodes() -> str:
    return render_template("chapters/nodes.html", nodes=queries.list_nodes())


@bp.route("/nodes/<slug>")
def node(slug: str) -> str:
    return render_template("chapters/node.html", node=queries.get_node_by_slug(slug))


@bp.route("/my/chapters")
@login_required
def my_chapters() -> str:
    return render_template(
        "chapters/mine.html",
        memberships=queries.list_user_memberships(current_user),
        can_join_chapters=can_join_chapters(current_user),
    )
