"""Countries and time zones for forms and pages, named in the viewer's language."""

from __future__ import annotations

import unicodedata
import zoneinfo
from functools import cache

from babel import Locale
from flask_babel import get_locale
from wtforms import SelectChoice


@cache
def _territories(locale: str) -> dict[str, str]:
    names = Locale.parse(locale).territories
    # Two-letter keys are countries; numeric ones are world regions.
    return {code: name for code, name in names.items() if len(code) == 2 and code.isalpha()}


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "es"


def country_name(code: str | None, locale: str | None = None) -> str:
    if not code:
        return ""
    return _territories(locale or current_language()).get(code.upper(), code.upper())


def is_country(code: str | None) -> bool:
    return bool(code) and code.upper() in _territories("en")


def country_choices(locale: str | None = None) -> list[SelectChoice]:
    names = _territories(locale or current_language())
    ordered = sorted(names.items(), key=lambda item: _sort_key(item[1]))
    return [SelectChoice(code, name) for code, name in ordered if code not in {"ZZ", "XK"}]


def _sort_key(name: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c)
    )


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(
        sorted(
            name
            for name in zoneinfo.available_timezones()
            if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
        )
    )


def is_timezone(name: str | None) -> bool:
    return bool(name) and name in timezone_names()


def timezone_choices() -> list[SelectChoice]:
    return [SelectChoice(name, name.replace("_", " ")) for name in timezone_names()]
