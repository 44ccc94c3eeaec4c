"""Form helpers shared by every domain."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import FieldList, SelectChoice

from network.errors import ValidationError
from network.extensions import db
from network.i18n import LANGUAGE_NAMES


class ActionForm(FlaskForm):
    """A form with only its CSRF token: for buttons that change something (join, approve, revoke)."""


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()]


def apply_error(form: FlaskForm, error: ValidationError) -> None:
    """Show a service's refusal next to the field it concerns, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and not isinstance(field, FieldList):
        field.errors = [*field.errors, str(error.message)]
    else:
        form.form_errors.append(str(error.message))


def commit_or_flash(action: Callable[[], object], success: str) -> bool:
    """Run a service call for a button: commit and say `success`, or roll back and show the
    service's refusal. One place for what every small POST view does."""
    try:
        action()
        db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return False
    except IntegrityError:  # the same click twice at once: the first one did it
        db.session.rollback()
        flash(_("That was already done."), "info")
        return False
    flash(success, "success")
    return True


def safe_next(target: str | None, fallback: str) -> str:
    """A `next` address from a form, only if it stays on this site (a path, not `//host`)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def page_arg(maximum: int = 10_000) -> int:
    """The `page` query argument, from 1 to `maximum` whatever was typed."""
    from flask import request

    return min(max(1, request.args.get("page", 1, type=int) or 1), maximum)
