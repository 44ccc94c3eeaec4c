"""Countries and time zones for forms and pages, named in the viewer's language."""

from __future__ import annotations

import unicodedata
import zoneinfo
from functools import cache
from importlib.resources import files
from urllib.parse import unquote

from babel import Locale
from babel.dates import get_timezone_location
from flask import request
from flask_babel import get_locale
from flask_login import current_user
from wtforms import SelectChoice


@cache
def _territories(locale: str) -> dict[str, str]:
    names = Locale.parse(locale).territories
    # Two-letter keys are countries; numeric ones are world regions. A few two-letter keys are
    # groupings or placeholders, not countries.
    not_countries = {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"}
    return {
        code: name
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in not_countries
    }


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
    return [SelectChoice(code, name) for code, name in ordered]


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


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """Country -> its IANA zones, main one first, from the tzdata package's zone.tab."""
    zones: dict[str, list[str]] = {}
    text = files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coords, zone, *_ = line.split("\t")
            zones.setdefault(code, []).append(zone)
    return {code: tuple(names) for code, names in zones.items()}


def default_timezone(country: str | None) -> str | None:
    """The usual zone of a country (its first in zone.tab), to pre-fill a member's time zone."""
    if not country:
        return None
    names = _country_zones().get(country.upper())
    return names[0] if names else None


@cache
def language_names(locale: str) -> dict[str, str]:
    """ISO 639-1 codes -> language names in `locale`."""
    names = Locale.parse(locale).languages
    return {code: name for code, name in names.items() if len(code) == 2 and code.isalpha()}


def language_name(code: str, locale: str | None = None) -> str:
    return language_names(locale or current_language()).get(code, code)


def place_of(zone: str, language: str | None = None) -> str:
    """A time zone by its city, in the viewer's language ("Madrid", "Ciudad de México")."""
    return get_timezone_location(
        zoneinfo.ZoneInfo(zone), locale=language or current_language(), return_city=True
    )


def viewer_zone() -> str | None:
    """The viewer's zone: their profile's, else the one their browser reported (cookie `tz`)."""
    profile = getattr(current_user, "profile", None) if current_user.is_authenticated else None
    if profile is not None and profile.timezone and is_timezone(profile.timezone):
        return profile.timezone
    cookie = unquote(request.cookies.get("tz", ""))[:64]
    return cookie if is_timezone(cookie) else None
