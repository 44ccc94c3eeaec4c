"""IME suspends and reinstates accounts (issue 8)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from network.admin import bp
from network.auth import services
from network.auth.forms import AccountSuspendForm
from network.auth.models import User
from network.errors import ValidationError
from network.extensions import db
from network.forms import ActionForm, apply_error, commit_or_flash, page_arg
from network.security import ime_required

PER_PAGE = 25


def _query_arg() -> str:
    return " ".join(request.args.get("q", "").split())[:120]


def _back() -> str:
    """The list as IME left it: the same search and page."""
    page = page_arg()
    return url_for("admin.accounts", q=_query_arg() or None, page=page if page > 1 else None)


def _page(failed: User | None = None, form: AccountSuspendForm | None = None) -> tuple[str, int]:
    """The accounts page; after a refused suspension, with that account's form, its errors and
    the reason as typed, so nothing is lost."""
    text = _query_arg()
    html = render_template(
        "admin/accounts.html",
        q=text,
        pagination=services.search_accounts(text, page_arg(), PER_PAGE),
        suspended=services.list_suspended_accounts(),
        action_form=ActionForm(),
        failed=failed,
        failed_form=form,
    )
    return html, (422 if failed is not None else 200)


@bp.route("/accounts")
@ime_required
def accounts() -> tuple[str, int]:
    return _page()


@bp.route("/accounts/<int:user_id>/suspend", methods=["POST"])
@ime_required
def suspend_account(user_id: int) -> Response | tuple[str, int]:
    user = db.get_or_404(User, user_id)
    form = AccountSuspendForm()
    if form.validate_on_submit():
        try:
            services.suspend_account(current_user, user, form.reason.data)
        except ValidationError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is suspended and has been told why.", name=user.full_name), "success")
            return redirect(_back())
    return _page(failed=user, form=form)


@bp.route("/accounts/<int:user_id>/reinstate", methods=["POST"])
@ime_required
def reinstate_account(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        commit_or_flash(
            lambda: services.reinstate_account(current_user, user),
            _("%(name)s is reinstated and has been told.", name=user.full_name),
        )
    return redirect(_back())
