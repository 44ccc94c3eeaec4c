"""Profile pages, the directory, the autocomplete, own data; thin handlers over services/queries."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response as WerkzeugResponse

from chapters import queries as chapter_queries
from network.errors import ValidationError
from network.extensions import db
from network.forms import ActionForm, apply_error, page_arg
from network.geo import current_language
from network.members import bp, queries, services
from network.members.directory import filter_choices, paginate_directory
from network.members.forms import DeleteAccountForm, DirectoryForm, ProfileForm
from network.members.profile_input import parse_profile
from network.mentoring.services import can_ask
from network.security import Role, is_ime_admin, is_member_account, login_required, require
from network.visibility import (
    ANONYMOUS,
    FIELD_LABELS,
    TIER_LABELS,
    Viewer,
    name_is_visible,
    visible_fields,
)

PREVIEWS = {
    "public": lambda member_id: ANONYMOUS,
    "member": lambda member_id: Viewer(user_id=-2, is_signed_in=True),
    "organisation": lambda member_id: Viewer(
        user_id=-2, is_signed_in=True, is_verified_organisation=True
    ),
    "coordinator": lambda member_id: Viewer(
        user_id=-2, is_signed_in=True, coordinated_member_ids=frozenset({member_id})
    ),
}


@bp.route("")
def directory() -> str:
    viewer = queries.build_viewer(current_user)
    language = current_language()
    form = DirectoryForm(request.args)
    _directory_choices(form, language)
    filters = queries.DirectoryFilters(
        **{
            name: (form[name].data or "")
            for name in (
                "country",
                "chapter",
                "region",
                "state",
                "sector",
                "concept",
                "language",
                "mode",
            )
        },
        mentoring=bool(form.mentoring.data),
        sort=form.sort.data if form.sort.data in {"name", "recent"} else "name",
    )
    page = page_arg()
    pagination = paginate_directory(
        viewer, filters, page, current_app.config["DIRECTORY_PAGE_SIZE"]
    )
    cards = [queries.present_profile(p, viewer, language) for p in pagination.items]
    return render_template(
        "members/directory.html", form=form, pagination=pagination, cards=[c for c in cards if c]
    )


def _directory_choices(form: DirectoryForm, language: str) -> None:
    for name, options in filter_choices(language).items():
        form[name].choices = options


@bp.route("/<int:user_id>")
def profile(user_id: int) -> str:
    # A suspended member's page is gone for everyone but IME, who may need to review it.
    profile = queries.get_profile_for_user_id(user_id, include_suspended=is_ime_admin(current_user))
    if profile is None:
        abort(404)
    is_self = current_user.is_authenticated and current_user.id == user_id
    preview = request.args.get("as") if is_self else None
    if preview in PREVIEWS:
        viewer = PREVIEWS[preview](user_id)
    else:
        preview = None
        viewer = queries.build_viewer(current_user)
    data = queries.present_profile(profile, viewer, current_language())
    if data is None:
        if preview:
            data = {"id": user_id, "hidden_name": True}
        else:
            abort(404)  # not even the name may be shown: the page does not exist for this viewer
    return render_template(
        "members/profile.html",
        data=data,
        profile=profile,
        is_self=is_self,
        preview=preview,
        previews=PREVIEWS,
        visibility=profile.visibility if is_self and not preview else None,
        field_labels=FIELD_LABELS,
        tier_labels=TIER_LABELS,
        action_form=ActionForm(),
        can_ask_mentoring=not preview and can_ask(current_user, profile),
        ccime_terms=chapter_queries.ccime_terms_of(profile.user, current=True),
    )


@bp.route("/me")
@login_required
def me() -> WerkzeugResponse:
    require(is_member_account(current_user))
    services.get_or_create_profile(current_user)
    db.session.commit()
    return redirect(url_for("members.profile", user_id=current_user.id))


def _raw_from_form(form: ProfileForm) -> dict[str, Any]:
    """The submission under the names parse_profile reads, which are the form's field names
    (education as one dict per entry, visibility as `<field>_visibility`)."""
    return {name: value for name, value in form.data.items() if name != form.meta.csrf_field_name}


def _fill_form(form: ProfileForm, user: Any) -> None:
    profile = services.get_or_create_profile(user)
    form.full_name.data = user.full_name
    form.name_public.data = profile.name_public
    for name in (
        "headline",
        "bio",
        "country",
        "city",
        "timezone",
        "position",
        "employer",
        "days_per_year",
        "open_to_requests",
        "phone",
        "website",
        "linkedin",
        "orcid",
    ):
        form[name].data = getattr(profile, name)
    form.state_of_origin.data = profile.state_of_origin.code if profile.state_of_origin else ""
    form.languages.data = "; ".join(
        f"{lang.code}:{lang.level}" if lang.level else lang.code for lang in profile.languages
    )
    form.expertise.data = "; ".join(
        [c.slug for c in profile.concepts] + [t.tag for t in profile.free_tags]
    )
    form.modes.data = profile.mode_names
    form.open_to_mentor.data = profile.open_to_mentoring
    form.mentor_capacity.data = profile.mentor_capacity
    while len(form.education.entries) > 0:
        form.education.pop_entry()
    for entry in profile.education:
        form.education.append_entry(
            {
                "degree": entry.degree,
                "field": entry.field,
                "institution": entry.institution,
                "year": entry.year,
            }
        )
    while len(form.education.entries) < max(3, len(profile.education) + 1):
        form.education.append_entry()
    for field, tier in profile.visibility.items():
        form[f"{field}_visibility"].data = tier


@bp.route("/me/edit", methods=["GET", "POST"])
@login_required
def edit() -> str | WerkzeugResponse | tuple[str, int]:
    require(is_member_account(current_user))
    form = ProfileForm()
    form.set_state_choices(chapter_queries.list_nodes())
    if request.method == "GET":
        _fill_form(form, current_user)
    elif form.validate_on_submit():
        try:
            services.update_profile(current_user, parse_profile(_raw_from_form(form)))
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("members.profile", user_id=current_user.id))
    labels = queries.concept_labels(
        [item.strip() for item in (form.expertise.data or "").split(";")], current_language()
    )
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "members/edit.html", form=form, concept_labels=json.dumps(labels, ensure_ascii=False)
    ), status


@bp.route("/me/confirm", methods=["POST"])
@login_required
def confirm() -> WerkzeugResponse:
    require(is_member_account(current_user))
    if ActionForm().validate_on_submit():
        services.confirm_profile(current_user)
        db.session.commit()
        flash(_("Thank you: your profile is marked as up to date."), "success")
    return redirect(url_for("members.profile", user_id=current_user.id))


@bp.route("/me/visibility", methods=["POST"])
@login_required
def visibility_preset() -> WerkzeugResponse:
    require(is_member_account(current_user))
    if ActionForm().validate_on_submit():
        preset = request.form.get("preset", "")
        try:
            services.apply_visibility_preset(current_user, preset)
        except ValidationError as error:
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            if preset == "public":
                flash(_("Your profile is now public, except your contact details."), "success")
            else:
                flash(_("Your profile is now visible only to network accounts."), "success")
    return redirect(url_for("members.profile", user_id=current_user.id))


@bp.route("/me/data.json")
@login_required
def download_data() -> Response:
    body = json.dumps(queries.get_own_data(current_user), ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="red-global-mx-my-data.json"'},
    )


@bp.route("/me/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> str | WerkzeugResponse | tuple[str, int]:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.delete_account(user, form.password.data)
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            logout_user()
            flash(
                _(
                    "Your account and your data have been erased. Thank you for being part of the network."
                ),
                "info",
            )
            return redirect(url_for("chapters.home"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("members/delete.html", form=form), status


@bp.route("/concepts")
def concepts() -> Response:
    """Autocomplete for expertise: either language, any accents."""
    language = current_language()
    found = queries.search_concepts(request.args.get("q", "")[:80], language)
    return jsonify(
        [
            {
                "slug": c.slug,
                "label": c.label(language),
                "other_label": c.other_label(language),
                "sector": c.sector.label(language),
            }
            for c in found
        ]
    )


def _request_viewer() -> Viewer:
    """The current viewer, built once per request (pages may ask about many people)."""
    if "member_viewer" not in g:
        g.member_viewer = queries.build_viewer(current_user)
    return g.member_viewer


@bp.app_context_processor
def _visibility_helpers() -> dict[str, Any]:
    """Let every template ask the one visibility rule before showing a person's details."""

    def can_see(user: Any, field: str) -> bool:
        profile = getattr(user, "profile", None)
        if profile is None:
            return False
        return field in visible_fields(_request_viewer(), user.id, profile.visibility)

    def name_visible(user: Any) -> bool:
        profile = getattr(user, "profile", None)
        return name_is_visible(_request_viewer(), user.id, bool(profile and profile.name_public))

    def email_shown(user: Any) -> str:
        """An account's e-mail address where the viewer may read it: always for organisation
        and IME accounts (they sign for an institution), for members as their profile says."""
        if getattr(user, "role", None) != Role.MEMBER:
            return user.email
        return user.email if can_see(user, "email") else ""

    return {"can_see": can_see, "name_visible": name_visible, "email_shown": email_shown}
