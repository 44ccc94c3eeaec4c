"""An organisation user's own organisation: register it, and see where IME's review stands."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from network.errors import ValidationError
from network.extensions import db
from network.forms import apply_error
from network.organisations import services
from network.organisations.forms import OrganisationForm
from network.organisations.models import OrganisationKind
from network.security import Role, login_required

bp = Blueprint("organisations", __name__, url_prefix="/organisation")


def _organisation_user() -> None:
    if current_user.role != Role.ORGANISATION:
        abort(403)


@bp.route("")
@login_required
def mine() -> ResponseReturnValue:
    _organisation_user()
    organisation = current_user.organisation
    if organisation is None:
        return redirect(url_for("organisations.register"))
    return render_template("organisations/mine.html", organisation=organisation)


@bp.route("/register", methods=["GET", "POST"])
@login_required
def register() -> ResponseReturnValue:
    _organisation_user()
    organisation = current_user.organisation
    if organisation is not None and organisation.status != "rejected":
        return redirect(url_for("organisations.mine"))
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        data = services.OrganisationData(
            name=form.name.data,
            kind=OrganisationKind(form.kind.data),  # one of the form's choices
            country=form.country.data,
            state_code=form.state_code.data or "",
            website=form.website.data or "",
            email_domain=form.email_domain.data,
        )
        try:
            services.register_organisation(current_user, data)
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for("organisations.mine"))
    return render_template("organisations/register.html", form=form, organisation=organisation)
