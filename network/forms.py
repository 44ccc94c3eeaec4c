"""Form helpers shared by every domain."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from flask import flash, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import FieldList, SelectChoice

from network.errors import ValidationError
from network.extensions import db
from network.i18n import LANGUAGE_NAMES

MAX_NEXT_LENGTH = 2000


class ActionForm(FlaskForm):
    """A form with only its CSRF token: for buttons that change something (join, approve, revoke)."""


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()]


def apply_error(form: FlaskForm, error: ValidationError) -> None:
    """Show a refusal's every problem next to the field it concerns, or above the form."""
    for name, message in error.problems:
        field = getattr(form, name, None) if name else None
        if field is not None and not isinstance(field, FieldList):
            field.errors = [*field.errors, str(message)]
        else:
            form.form_errors.append(str(message))


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


# Control and format characters, line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _stays_on_site(target: str) -> bool:
    if any(unicodedata.category(ch) in _INVISIBLE or ch == "\\" for ch in target):
        return False  # tab, CR, LF and the like: browsers drop them ("/\t/x" is "//x")
    if not target.startswith("/") or target.startswith("//"):
        return False  # "//host", "https:host", "javascript:", " /x" and relative paths
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, fallback: str) -> str:
    """The one check of every `next` address (sign-in, language switch, every POST that goes
    back where it came from): `target` only if it is a path on this site, else `fallback`.

    An open redirect would make our pages a phishing tool, and a CR or LF in a Location header
    is a server error. The address is checked as typed and once percent-decoded, since some
    servers and proxies decode `/%2F/host` to `//host` before a browser sees it."""
    if not target or len(target) > MAX_NEXT_LENGTH:
        return fallback
    if _stays_on_site(target) and _stays_on_site(unquote(target)):
        return target
    return fallback


def page_arg(maximum: int = 10_000) -> int:
    """The `page` query argument, from 1 to `maximum` whatever was typed."""
    return min(max(1, request.args.get("page", 1, type=int) or 1), maximum)
