"""IME administration: regions, chapters, nodes and coordinators. Calls the chapters services."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from chapters import queries, services
from chapters.forms import ChapterAdminForm, CoordinatorForm, NodeForm, RegionForm
from chapters.models import Chapter
from network import audit
from network.admin import bp
from network.auth.services import get_user_by_email
from network.errors import ValidationError
from network.extensions import db
from network.forms import ActionForm, apply_error, page_arg
from network.geo import current_language
from network.members import csvio
from network.members import queries as member_queries
from network.members import services as member_services
from network.members.forms import FreeTagForm, ImportForm
from network.organisations import services as organisation_services
from network.organisations.forms import RejectForm
from network.organisations.models import Organisation
from network.security import ime_required


@bp.route("/")
@ime_required
def index() -> str:
    return render_template(
        "admin/index.html",
        regions=queries.list_regions(),
        chapters=queries.list_chapters(include_inactive=True),
        member_counts=queries.count_members_by_chapter(),
        nodes=queries.list_nodes(),
    )


@bp.route("/regions/new", methods=["GET", "POST"], defaults={"slug": None})
@bp.route("/regions/<slug>/edit", methods=["GET", "POST"])
@ime_required
def edit_region(slug: str | None) -> str | Response:
    region = queries.get_region_by_slug(slug) if slug else None
    form = RegionForm(obj=region)
    if form.validate_on_submit():
        fields = {
            name: form[name].data
            for name in ("slug", "name_es", "name_en", "description_es", "description_en")
        }
        fields["position"] = form.position.data or 0
        try:
            services.save_region(region, fields)
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("The region has been saved."), "success")
            return redirect(url_for("admin.index"))
    return render_template("admin/region.html", form=form, region=region)


def _chapter_fields(form: ChapterAdminForm) -> dict[str, Any]:
    chosen = set(form.nodes.data or [])
    regions = {r.id: r for r in queries.list_regions()}
    return {
        "slug": (form.slug.data or "").strip().lower(),
        "name": form.name.data,
        "region": regions.get(form.region.data),
        "country": form.country.data,
        "city": form.city.data,
        "timezone": form.timezone.data,
        "founded_year": form.founded_year.data,
        "description": form.description.data or "",
        "is_active": bool(form.is_active.data),
        "nodes": [n for n in queries.list_nodes() if n.id in chosen],
    }


def _chapter_form(chapter: Chapter | None) -> ChapterAdminForm:
    form = ChapterAdminForm(obj=chapter if request.method == "GET" else None)
    form.set_node_choices(queries.list_nodes())
    form.region.choices = [
        SelectChoice(r.id, r.name(current_language())) for r in queries.list_regions()
    ]
    if request.method == "GET" and chapter is not None:
        form.nodes.data = [node.id for node in chapter.nodes]
        form.region.data = chapter.region_id
    return form


@bp.route("/chapters/new", methods=["GET", "POST"])
@ime_required
def new_chapter() -> str | Response:
    form = _chapter_form(None)
    if form.validate_on_submit():
        try:
            chapter = services.create_chapter(_chapter_fields(form))
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("The chapter has been created."), "success")
            return redirect(url_for("chapters.detail", slug=chapter.slug))
    return render_template("admin/chapter.html", form=form, chapter=None)


@bp.route("/chapters/<slug>/edit", methods=["GET", "POST"])
@ime_required
def edit_chapter(slug: str) -> str | Response:
    chapter = queries.get_chapter_by_slug(slug)
    form = _chapter_form(chapter)
    if form.validate_on_submit():
        try:
            services.update_chapter(
                chapter, _chapter_fields(form), allowed=services.EDITABLE_BY_IME
            )
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("The chapter has been updated."), "success")
            return redirect(url_for("chapters.detail", slug=chapter.slug))
    return render_template("admin/chapter.html", form=form, chapter=chapter)


@bp.route("/chapters/<slug>/coordinators", methods=["GET", "POST"])
@ime_required
def coordinators(slug: str) -> str | Response:
    chapter = queries.get_chapter_by_slug(slug)
    form = CoordinatorForm()
    if form.validate_on_submit():
        user = get_user_by_email(form.email.data)
        try:
            if user is None:
                raise ValidationError("email", _("No account uses this e-mail address."))
            services.assign_coordinator(chapter, user, assigned_by=current_user)
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "%(name)s now coordinates %(chapter)s.",
                    name=user.full_name,
                    chapter=chapter.name,
                ),
                "success",
            )
            return redirect(url_for("admin.coordinators", slug=chapter.slug))
    return render_template(
        "admin/coordinators.html",
        chapter=chapter,
        coordinators=queries.list_coordinators(chapter),
        form=form,
        action_form=ActionForm(),
    )


@bp.route("/chapters/<slug>/coordinators/<int:user_id>/remove", methods=["POST"])
@ime_required
def remove_coordinator(slug: str, user_id: int) -> Response:
    chapter = queries.get_chapter_by_slug(slug)
    user = next((u for u in queries.list_coordinators(chapter) if u.id == user_id), None)
    form = ActionForm()
    if user is None:
        flash(_("This person does not coordinate the chapter."), "warning")
    elif form.validate_on_submit():
        services.remove_coordinator(chapter, user)
        db.session.commit()
        flash(_("%(name)s no longer coordinates the chapter.", name=user.full_name), "info")
    return redirect(url_for("admin.coordinators", slug=chapter.slug))


@bp.route("/nodes/<slug>/edit", methods=["GET", "POST"])
@ime_required
def edit_node(slug: str) -> str | Response:
    node = queries.get_node_by_slug(slug)
    form = NodeForm(obj=node)
    if form.validate_on_submit():
        services.update_node(
            node,
            {
                "description_es": form.description_es.data,
                "description_en": form.description_en.data,
            },
        )
        db.session.commit()
        flash(_("The node has been updated."), "success")
        return redirect(url_for("chapters.node", slug=node.slug))
    return render_template("admin/node.html", form=form, node=node)


# ---------------------------------------------------------------- members: CSV, free tags


@bp.route("/members/import", methods=["GET", "POST"])
@ime_required
def import_members() -> str | Response | tuple[str, int]:
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            form.file.errors = [*form.file.errors, _("The file is not UTF-8 text.")]
        else:
            report = csvio.import_members(
                text, dry_run=form.dry_run.data, partial=form.partial.data
            )
            if report.applied:
                db.session.commit()
                flash(
                    _(
                        "%(created)d members created and %(updated)d updated.",
                        created=report.created,
                        updated=report.updated,
                    ),
                    "success",
                )
            else:
                db.session.rollback()
    status = 422 if form.errors or (report and report.problems) else 200
    return render_template("admin/import.html", form=form, report=report), status


@bp.route("/members/export.csv")
@ime_required
def export_members() -> Response:
    return Response(
        csvio.export_csv(current_user),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="red-global-mx-members.csv"'},
    )


@bp.route("/tags", methods=["GET", "POST"])
@ime_required
def free_tags() -> str | Response:
    form = FreeTagForm()
    if form.validate_on_submit():
        try:
            if form.concept.data:
                concepts, _tags = member_services.resolve_expertise([form.concept.data])
                if not concepts:
                    raise ValidationError("concept", _("No concept has that name or slug."))
                count = member_services.map_free_tag(form.tag.data, concepts[0])
                message = _("%(count)d members now carry “%(concept)s”.", count=count,
                            concept=concepts[0].label(current_language()))  # fmt: skip
            elif form.new_tag.data:
                count = member_services.rename_free_tag(form.tag.data, form.new_tag.data)
                message = _("Renamed on %(count)d profiles.", count=count)
            else:
                raise ValidationError(None, _("Choose a concept or a new name."))
        except ValidationError as error:
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            flash(message, "success")
        return redirect(url_for("admin.free_tags"))
    return render_template("admin/tags.html", tags=member_queries.list_free_tags())


@bp.route("/organisations")
@ime_required
def organisations() -> str:
    return render_template(
        "admin/organisations.html",
        organisations=organisation_services.list_for_review(),
        reject_form=RejectForm(),
        action_form=ActionForm(),
    )


@bp.route("/organisations/<int:organisation_id>/verify", methods=["POST"])
@ime_required
def verify_organisation(organisation_id: int) -> Response:
    organisation = db.get_or_404(Organisation, organisation_id)
    if ActionForm().validate_on_submit():
        organisation_services.verify_organisation(current_user, organisation)
        db.session.commit()
        flash(_("%(name)s is verified; its users were told.", name=organisation.name), "success")
    return redirect(url_for("admin.organisations"))


@bp.route("/organisations/<int:organisation_id>/reject", methods=["POST"])
@ime_required
def reject_organisation(organisation_id: int) -> Response | tuple[str, int]:
    organisation = db.get_or_404(Organisation, organisation_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            organisation_services.reject_organisation(current_user, organisation, form.reason.data)
        except ValidationError as error:
            flash(str(error.message), "danger")
            return redirect(url_for("admin.organisations"))
        else:
            db.session.commit()
            flash(_("%(name)s was not verified; its users were told why.",
                    name=organisation.name), "info")  # fmt: skip
            return redirect(url_for("admin.organisations"))
    flash(_("Give the reason for the organisation."), "danger")
    return redirect(url_for("admin.organisations"))


@bp.route("/audit")
@ime_required
def audit_log() -> str:
    """Who did what to whom: contact requests and answers, views of revealed contact details,
    organisation decisions. Filters by action (or its prefix) and subject."""
    page = page_arg()
    action = request.args.get("action", "").strip()[:60]
    subject_type = request.args.get("subject_type", "").strip()[:40]
    subject_id = request.args.get("subject_id", type=int)
    if subject_id is not None and not 0 <= subject_id < 2**31:
        subject_id = -1  # no such subject: an empty list, not an overflow
    total, rows = audit.list_entries(action=action, subject_type=subject_type,
                                     subject_id=subject_id, page=page)  # fmt: skip
    return render_template("admin/audit.html", rows=rows, total=total, page=page, per_page=50,
                           action=action, subject_type=subject_type, subject_id=subject_id)  # fmt: skip
