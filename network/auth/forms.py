"""Account forms: they check shape only; the services check the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length

from network.forms import language_choices

_required = DataRequired(message=_l("This field is required."))


class RegistrationForm(FlaskForm):
    full_name = StringField(
        _l("Full name"), validators=[_required, Length(max=120)], render_kw={"autocomplete": "name"}
    )
    email = EmailField(
        _l("E-mail address"),
        validators=[_required, Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[_required, Length(max=200)],
        description=_l("At least 10 characters. A short sentence is easy to remember."),
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        _l("Repeat the password"),
        validators=[_required, EqualTo("password", message=_l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )
    language = SelectField(_l("Preferred language"), choices=language_choices)
    account_type = RadioField(
        _l("I am joining as"),
        choices=[
            SelectChoice("member", _l("A skilled Mexican abroad")),
            SelectChoice(
                "organisation",
                _l(
                    "Someone from an organisation in Mexico "
                    "(ministry, state government, university...) "
                    "looking for experts"
                ),
            ),
        ],
        default="member",
    )


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[_required, Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[_required, Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class EmailOnlyForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[_required, Length(max=254)],
        render_kw={"autocomplete": "email"},
    )


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[_required, Length(max=200)],
        description=_l("At least 10 characters."),
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[_required, EqualTo("password", message=_l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(PasswordResetForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[_required, Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(
        _l("New e-mail address"),
        validators=[_required, Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        _l("Current password"),
        validators=[_required, Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class SettingsForm(FlaskForm):
    full_name = StringField(
        _l("Full name"), validators=[_required, Length(max=120)], render_kw={"autocomplete": "name"}
    )
    language = SelectField(_l("Preferred language"), choices=language_choices)


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[_required, Length(max=80)],
        description=_l("What will use it, e.g. “state dashboard script”."),
    )


class LanguageForm(FlaskForm):
    language = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class AccountSuspendForm(FlaskForm):
    """IME's reason for a suspension: required, since the person is e-mailed it."""

    reason = TextAreaField(
        _l("Reason (sent to the person)"), validators=[_required, Length(max=2000)]
    )
