"""IME administration: regions, chapters, nodes and coordinators. Calls the chapters services."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, StringField
from wtforms.validators import Length
from wtforms.validators import ValidationError as WTFValidationError

from chapters import queries, services
from chapters.forms import ChapterAdminForm, CoordinatorForm, NodeForm, RegionForm
from chapters.models import Chapter
from network import audit
from network.admin import bp
from network.auth.services import get_user_by_email
from network.csvsafe import csv_lines
from network.db import utcnow
from network.errors import ValidationError
from network.extensions import db
from network.forms import ActionForm, apply_error, page_arg
from network.geo import current_language
from network.members import csvio
from network.members import queries as member_queries
from network.members import vocabulary as member_vocabulary
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
        action = "region.updated" if region else "region.created"
        try:
            saved = services.save_region(region, form.region_data())
        except ValidationError as error:
            apply_error(form, error)
        else:
            audit.record(current_user, action, "region", saved.id, saved.slug)
            db.session.commit()
            flash(_("The region has been saved."), "success")
            return redirect(url_for("admin.index"))
    return render_template("admin/region.html", form=form, region=region)


def _chapter_data(form: ChapterAdminForm) -> services.ChapterData:
    return form.chapter_data(queries.list_regions(), queries.list_nodes())


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


def _snapshot(chapter: Chapter, data: services.ChapterData) -> dict[str, Any]:
    """The chapter's values of the fields IME edits, comparable before and after an edit, so
    the audit log can say which fields an edit changed."""
    values = {}
    for name in (item.name for item in dataclasses.fields(data)):
        value = getattr(chapter, name)
        if isinstance(value, list):  # nodes: the same set in any order is no change
            value = sorted(item.id for item in value)
        elif hasattr(value, "id"):  # region
            value = value.id
        values[name] = value
    return values


@bp.route("/chapters/new", methods=["GET", "POST"])
@ime_required
def new_chapter() -> str | Response:
    form = _chapter_form(None)
    if form.validate_on_submit():
        try:
            chapter = services.create_chapter(_chapter_data(form))
        except ValidationError as error:
            apply_error(form, error)
        else:
            audit.record(current_user, "chapter.created", "chapter", chapter.id, chapter.slug)
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
        data = _chapter_data(form)
        before = _snapshot(chapter, data)
        try:
            services.update_chapter(chapter, data)
        except ValidationError as error:
            apply_error(form, error)
        else:
            changed = [
                name for name, value in _snapshot(chapter, data).items() if value != before[name]
            ]
            audit.record(
                current_user,
                "chapter.updated",
                "chapter",
                chapter.id,
                f"{chapter.slug}: {', '.join(changed) or '—'}",
            )
            db.session.commit()
            flash(_("The chapter has been updated."), "success")
            return redirect(url_for("chapters.detail", slug=chapter.slug))
    return render_template("admin/chapter.html", form=form, chapter=chapter)


def _person(user: Any) -> str:
    """Who an action concerned, in the audit detail: the name alone could be ambiguous, and the
    e-mail address stays out of the log (members choose who sees it)."""
    return f"{user.full_name} (#{user.id})"


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
            services.assign_coordinator(current_user, chapter, user)
        except ValidationError as error:
            apply_error(form, error)
        else:
            audit.record(current_user, "coordinator.assigned", "chapter", chapter.id, _person(user))
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
        audit.record(current_user, "coordinator.removed", "chapter", chapter.id, _person(user))
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
            description_es=form.description_es.data or "",
            description_en=form.description_en.data or "",
        )
        audit.record(current_user, "node.updated", "node", node.id, node.slug)
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
                audit.record(
                    current_user,
                    "members.imported",
                    "member_import",
                    0,
                    f"{report.rows} rows: {report.created} created, {report.updated} "
                    f"updated, {report.skipped} skipped",
                )
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
    """Every member's profile as IME sees it: the most sensitive thing the platform hands out,
    so who took it and when is logged before the file leaves."""
    body = csvio.export_csv(current_user)
    rows = max(0, sum(1 for _row in csv.reader(io.StringIO(body))) - 1)
    audit.record(current_user, "members.exported", "member_export", 0, f"{rows} members")
    db.session.commit()
    return Response(
        body,
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
                concept = member_vocabulary.concept_named("concept", form.concept.data)
                count = member_vocabulary.map_free_tag(current_user, form.tag.data, concept)
                message = _(
                    "%(count)d members now carry “%(concept)s”.",
                    count=count,
                    concept=concept.label(current_language()),
                )
            elif form.new_tag.data:
                count = member_vocabulary.rename_free_tag(
                    current_user, form.tag.data, form.new_tag.data
                )
                message = _("Renamed on %(count)d profiles.", count=count)
            else:
                raise ValidationError(None, _("Choose a concept or a new name."))
        except ValidationError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            flash(message, "success")
        return redirect(url_for("admin.free_tags"))
    for name, errors in form.errors.items():
        if name != "csrf_token":
            flash(f"{form[name].label.text or name}: {' '.join(map(str, errors))}", "danger")
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
            flash(
                _("%(name)s was not verified; its users were told why.", name=organisation.name),
                "info",
            )
            return redirect(url_for("admin.organisations"))
    flash(_("Give the reason for the organisation."), "danger")
    return redirect(url_for("admin.organisations"))


AUDIT_CSV_COLUMNS = (
    "time_utc",
    "actor_name",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "detail",
)
# The subjects entries name today, offered as suggestions; any other type may still be typed.
AUDIT_SUBJECT_TYPES = (
    "member",
    "need",
    "organisation",
    "concept",
    "free_tag",
    "chapter",
    "region",
    "node",
    "member_import",
    "member_export",
    "audit_log",
)


AUDIT_FILTERS = ("actor", "action", "subject_type", "subject_id", "date_from", "date_to")


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()) if (text or "").strip() else None
    except ValueError:
        return None


class AuditFilterForm(FlaskForm):
    """The log's filters, read from the query string (a GET form: links to a filtered view and
    its CSV can be shared, and nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    actor = StringField(_l("Who (name, e-mail or account number)"), validators=[Length(max=120)])
    action = StringField(_l("Action (or its start, e.g. contact.)"), validators=[Length(max=60)])
    subject_type = StringField(
        _l("Subject type"), validators=[Length(max=40)], render_kw={"list": "audit-subject-types"}
    )
    subject_id = StringField(
        _l("Subject id"), validators=[Length(max=20)], render_kw={"inputmode": "numeric"}
    )
    date_from = StringField(_l("From (UTC day)"), render_kw={"type": "date"})
    date_to = StringField(_l("To (UTC day, included)"), render_kw={"type": "date"})

    def validate_subject_id(self, field: StringField) -> None:
        if field.data and not (field.data.strip().isdecimal() and field.data.strip().isascii()):
            raise WTFValidationError(_("Enter a whole number."))

    def _validate_day(self, field: StringField) -> None:
        if field.data and field.data.strip() and _parse_day(field.data) is None:
            raise WTFValidationError(
                _("“%(value)s” is not a date: use YYYY-MM-DD, e.g. 2026-03-31.", value=field.data)
            )

    validate_date_from = _validate_day
    validate_date_to = _validate_day

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        start, end = _parse_day(self.date_from.data), _parse_day(self.date_to.data)
        if start and end and start > end:
            self.date_to.errors = [
                *self.date_to.errors,
                _("The end date is before the start date: nothing can match. Swap them?"),
            ]
            return False
        return valid

    def filters(self) -> audit.AuditFilters:
        subject_id = int(self.subject_id.data) if (self.subject_id.data or "").strip() else None
        if subject_id is not None and not 0 <= subject_id < 2**31:
            subject_id = -1  # no such subject: an empty list, not an overflow
        return audit.AuditFilters(
            action=(self.action.data or "").strip(),
            subject_type=(self.subject_type.data or "").strip(),
            subject_id=subject_id,
            actor=(self.actor.data or "").strip(),
            date_from=_parse_day(self.date_from.data),
            date_to=_parse_day(self.date_to.data),
        )


def _filter_args() -> dict[str, str]:
    """The query string's filters (not its page), for the CSV link and back to the page."""
    return {k: v for k, v in request.args.items() if k in AUDIT_FILTERS and v}


@bp.route("/audit")
@ime_required
def audit_log() -> str:
    """Who did what to whom: contact requests and answers, views of revealed contact details,
    every administrative action. Filters by actor, action (or its prefix), subject and days."""
    page = page_arg()
    form = AuditFilterForm(formdata=request.args)
    total, rows = 0, []
    if form.validate():
        total, rows = audit.list_entries(form.filters(), page=page)
    # A bad filter is shown next to its field with the page's usual status: nothing failed.
    return render_template(
        "admin/audit.html",
        form=form,
        rows=rows,
        total=total,
        page=page,
        per_page=50,
        subject_types=AUDIT_SUBJECT_TYPES,
        filter_args=_filter_args(),
    )


@bp.route("/audit.csv")
@ime_required
def audit_csv() -> Response:
    """The filtered log as a CSV file, every matching row, streamed. Taking a copy of the log is
    itself logged, before the first row leaves."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        flash(_("Correct the filters before exporting."), "danger")
        return redirect(url_for("admin.audit_log", **_filter_args()))
    filters = form.filters()
    described = "; ".join(f"{k}={v}" for k, v in _filter_args().items()) or "no filter"
    audit.record(current_user, "audit.exported", "audit_log", 0, described)
    db.session.commit()

    def rows() -> Iterator[tuple[Any, ...]]:
        yield AUDIT_CSV_COLUMNS
        for entry, user in audit.iter_entries(filters):
            yield (
                entry.created_at.isoformat(),
                user.full_name if user else "",
                user.id if user else "",
                entry.action,
                entry.subject_type,
                entry.subject_id,
                entry.detail,
            )

    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(csv_lines(rows())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )
