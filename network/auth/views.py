"""Account pages: thin handlers that call auth.services and own the commit."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from network.auth import bp, services
from network.auth.forms import (
    ApiTokenForm,
    ChangeEmailForm,
    ChangePasswordForm,
    EmailOnlyForm,
    LanguageForm,
    LoginForm,
    PasswordResetForm,
    RegistrationForm,
    SettingsForm,
)
from network.errors import Conflict, NotFound, ValidationError
from network.extensions import db, limiter
from network.forms import ActionForm, apply_error, safe_next
from network.geo import current_language
from network.i18n import LANGUAGE_COOKIE
from network.security import Role, login_required


def _next_page(target: str | None) -> str:
    return safe_next(target, url_for("chapters.home"))


def _login_account_key() -> str:
    return "login-account:" + services.email_limit_key(request.form.get("email", ""))


def _setting(name: str) -> Callable[[], str]:
    """A limit read from the configuration at request time (tests and deployments change it)."""
    return lambda: current_app.config[name]


def _mail_address_key() -> str:
    return "mail-link:" + services.email_limit_key(request.form.get("email", ""))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_setting("REGISTER_LIMIT_PER_IP"), methods=["POST"], scope="register-ip")
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("chapters.home"))
    form = RegistrationForm()
    if request.method == "GET":
        form.language.data = current_language()
    if form.validate_on_submit():
        try:
            role = Role.ORGANISATION if form.account_type.data == "organisation" else Role.MEMBER
            user = services.register_user(
                form.full_name.data, form.email.data, form.password.data, form.language.data, role
            )
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()  # the account, or the notice to the address's owner
            email = user.email if user else services.canonical_email(form.email.data)
            return render_template("auth/check_email.html", email=email)
    return render_template("auth/register.html", form=form)


@bp.route("/confirm/<token>")
def confirm_email(token: str) -> Response:
    try:
        user = services.confirm_email(token)
    except Conflict:
        flash(_("This confirmation link has expired. We can send you a new one."), "warning")
        return redirect(url_for("auth.resend_confirmation"))
    except NotFound:
        flash(_("This confirmation link is not valid."), "danger")
        return redirect(url_for("auth.resend_confirmation"))
    db.session.commit()
    flash(_("Thank you, your e-mail address is confirmed. You can sign in now."), "success")
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    return redirect(url_for("auth.login", email=user.email))


@bp.route("/confirm", methods=["GET", "POST"])
# Pages that e-mail an address anyone may type: limited per client address (no bulk mailing of
# strangers) and per recipient (nobody's inbox is flooded).
@limiter.limit(_setting("MAIL_LINK_LIMIT_PER_IP"), methods=["POST"], scope="mail-link-ip")
@limiter.limit(
    _setting("MAIL_LINK_LIMIT_PER_ADDRESS"), key_func=_mail_address_key, methods=["POST"]
)
def resend_confirmation() -> str | Response:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        user = services.get_user_by_email(form.email.data)
        if user is not None and not user.is_confirmed:
            services.send_confirmation(user)
            db.session.commit()
        # The same answer either way, so the page does not reveal who has an account.
        flash(_("If that address has an unconfirmed account, we have sent a new link."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/resend_confirmation.html", form=form)


def _suspended_message() -> str:
    contact = services.ime_contact_address()
    if contact:
        return _(
            "This account is suspended. To ask about it, contact IME at %(email)s.", email=contact
        )
    return _(
        "This account is suspended. IME has e-mailed you the reason and whom to contact about it."
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_setting("LOGIN_LIMIT_PER_IP"), methods=["POST"], scope="login-ip")
@limiter.limit(_setting("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_login_account_key, methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(_next_page(request.args.get("next")))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        form.email.data = request.args.get("email", "")
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append(_("The e-mail address or the password is not correct."))
        elif user.is_suspended:
            # Said only after the right password, so the page does not reveal who is suspended.
            db.session.commit()  # keeps a password rehash, like the unconfirmed case
            form.form_errors.append(_suspended_message())
            return render_template("auth/login.html", form=form), 403
        elif not user.is_confirmed:
            db.session.commit()
            form.form_errors.append(
                _("Please confirm your e-mail address first: follow the link we sent you.")
            )
            return render_template("auth/login.html", form=form, unconfirmed=True), 403
        else:
            services.record_login(user)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.full_name), "success")
            return redirect(_next_page(form.next.data))
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            services.end_sessions(current_user)
            db.session.commit()
        logout_user()
        flash(_("You have signed out."), "info")
    return redirect(url_for("chapters.home"))


@bp.route("/reset", methods=["GET", "POST"])
# Pages that e-mail an address anyone may type: limited per client address (no bulk mailing of
# strangers) and per recipient (nobody's inbox is flooded).
@limiter.limit(_setting("MAIL_LINK_LIMIT_PER_IP"), methods=["POST"], scope="mail-link-ip")
@limiter.limit(
    _setting("MAIL_LINK_LIMIT_PER_ADDRESS"), key_func=_mail_address_key, methods=["POST"]
)
def request_password_reset() -> str | Response:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _("If an account uses that address, we have sent it a link to choose a new password."),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response:
    try:
        services.check_reset_token(token)
    except Conflict:
        flash(_("This link has expired. Ask for a new one below."), "warning")
        return redirect(url_for("auth.request_password_reset"))
    except NotFound:
        flash(_("This link is not valid or has already been used."), "danger")
        return redirect(url_for("auth.request_password_reset"))
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.password.data)
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Your password has been changed. You can sign in now."), "success")
            return redirect(url_for("auth.login", email=user.email))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> str | Response:
    settings_form = SettingsForm(prefix="settings")
    if request.method == "GET":
        settings_form.full_name.data = current_user.full_name
        settings_form.language.data = current_user.preferred_language
    if settings_form.validate_on_submit():
        try:
            services.update_settings(
                current_user, settings_form.full_name.data, settings_form.language.data
            )
        except ValidationError as error:
            apply_error(settings_form, error)
        else:
            db.session.commit()
            flash(_("Your settings have been saved."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(settings_form=settings_form)


def _account_page(status: int = 200, **forms: object) -> tuple[str, int]:
    context = {
        "settings_form": SettingsForm(
            prefix="settings",
            formdata=None,
            full_name=current_user.full_name,
            language=current_user.preferred_language,
        ),
        "password_form": ChangePasswordForm(prefix="password", formdata=None),
        "email_form": ChangeEmailForm(prefix="email", formdata=None),
        "token_form": ApiTokenForm(prefix="token", formdata=None),
        "action_form": ActionForm(),
        "new_token": None,
    }
    context.update(forms)
    has_errors = any(getattr(f, "errors", None) for f in forms.values())
    return render_template("auth/account.html", **context), (422 if has_errors else status)


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password() -> str | Response | tuple[str, int]:
    form = ChangePasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            # The auth stamp changed: renew this session's cookie so only other sessions end.
            login_user(current_user._get_current_object(), remember=True)
            flash(
                _("Your password has been changed. Other devices have been signed out."), "success"
            )
            return redirect(url_for("auth.account"))
    return _account_page(password_form=form)


@bp.route("/account/email", methods=["POST"])
@login_required
def change_email() -> str | Response | tuple[str, int]:
    form = ChangeEmailForm(prefix="email")
    if form.validate_on_submit():
        try:
            new_email = services.request_email_change(
                current_user, form.new_email.data, form.password.data
            )
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "We have sent a link to %(email)s. Your address changes when you follow it.",
                    email=new_email,
                ),
                "info",
            )
            return redirect(url_for("auth.account"))
    return _account_page(email_form=form)


@bp.route("/account/email/<token>")
def confirm_email_change(token: str) -> Response:
    try:
        services.confirm_email_change(token)
    except (Conflict, NotFound):  # expired, or not valid; a Conflict is a ValidationError too
        flash(_("This link is not valid or has expired."), "danger")
        return redirect(url_for("auth.account"))
    except ValidationError as error:
        flash(str(error.message), "danger")
        return redirect(url_for("auth.account"))
    db.session.commit()
    flash(_("Your e-mail address has been changed."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token() -> str | Response | tuple[str, int]:
    form = ApiTokenForm(prefix="token")
    if form.validate_on_submit():
        try:
            _token, plain = services.create_api_token(current_user, form.name.data)
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            return _account_page(new_token=plain)
    return _account_page(token_form=form)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.revoke_api_token(current_user, token_id)
        except ValidationError as error:
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            flash(_("The token has been revoked."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    """The switcher: remembered in a cookie, and in the account's setting when signed in."""
    form = LanguageForm()
    languages = current_app.config["LANGUAGES"]
    language = form.language.data if form.validate_on_submit() else None
    response = make_response(redirect(_next_page(form.next.data)))
    if language in languages:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        if current_user.is_authenticated and current_user.preferred_language != language:
            current_user.preferred_language = language
            db.session.commit()
    return response
