"""Form helpers shared by every domain."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import flash, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from wtforms import FieldList, SelectChoice
from wtforms.widgets import Select, html_params

from network.errors import ValidationError
from network.extensions import db
from network.i18n import LANGUAGE_NAMES

MAX_NEXT_LENGTH = 2000


class ActionForm(FlaskForm):
    """A form with only its CSRF token: for buttons that change something (join, approve, revoke)."""


@functools.lru_cache(maxsize=256)
def _option_tags(choices: tuple[tuple[str, str], ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    """Each choice as its `<option>` tag, and where each value sits (built once per list)."""
    tags = tuple(
        f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in choices
    )
    return tags, {value: n for n, (value, _label) in enumerate(choices)}


class ManyOptionsSelect(Select):
    """WTForms' select for lists of hundreds of options (countries, concepts, chapters).

    Why: WTForms builds every `<option>` with `html_params` on each render; the directory's
    filters (about 700 options) took most of its page time. The tags of a list are the same for
    every request in one language, so they are built once per list of (value, label) and only
    the chosen one is marked `selected`. Plain choices only (no optgroups, no render_kw)."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in self.validation_attrs:
            if name not in kwargs and getattr(flags, name, False):
                kwargs[name] = getattr(flags, name)
        choices = field.iter_choices()
        tags, position = _option_tags(tuple((str(c.value), str(c.label)) for c in choices))
        chosen = next((position[str(c.value)] for c in choices if c.selected), None)
        html = list(tags)
        if chosen is not None:
            html[chosen] = html[chosen].replace("<option ", "<option selected ", 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{''.join(html)}</select>")


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
