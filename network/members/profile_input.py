"""Reading a profile submission: the form's, the API's and a CSV row's values become one
`ProfileInput`, or one ValidationError with every problem found.

This is the form/API layer's side of a profile edit. The services of network.members.services
take the typed result and never see raw strings; all three ways in parse here, so a value
refused on the page is refused in a CSV row or a PATCH too, with the same message.

A submission may give only some fields (the API's PATCH, a CSV row with empty cells): a field it
does not give is UNSET in the result and the profile keeps what it has, while None clears a
value that may be empty (country, time zone, state of origin, days per year).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from chapters.models import Node
from network.db import db
from network.errors import ValidationError
from network.geo import is_country, is_timezone, language_names
from network.members.models import LANGUAGE_LEVELS, Concept, Mode
from network.members.states import state_forms, state_key
from network.members.vocabulary import resolve_expertise
from network.visibility import PROFILE_FIELDS, Tier

TRUE_WORDS = {"yes", "true", "1", "si", "sí", "y"}
FALSE_WORDS = {"no", "false", "0", "n", ""}
ORCID_RE = re.compile(r"^(\d{4})-(\d{4})-(\d{4})-(\d{3}[\dX])$")
PHONE_RE = re.compile(r"^\+?[\d\s().-]{7,25}$")


class Unset(enum.Enum):
    """The type of UNSET: a field the submission did not give."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class Expertise:
    """What a member knows: concepts of the vocabulary, and free tags for the rest."""

    concepts: list[Concept]
    free_tags: list[str]


@dataclass(frozen=True)
class Education:
    degree: str
    field: str
    institution: str
    year: int | None


@dataclass(frozen=True)
class ProfileInput:
    """A profile submission, checked and normalised; UNSET where it did not give a field.
    `visibility` holds the tiers it sets, by profile field (see network.visibility)."""

    full_name: str | Unset = UNSET
    name_public: bool | Unset = UNSET
    headline: str | Unset = UNSET
    bio: str | Unset = UNSET
    country: str | Unset | None = UNSET
    city: str | Unset = UNSET
    state_of_origin: Node | Unset | None = UNSET
    timezone: str | Unset | None = UNSET
    languages: list[tuple[str, str]] | Unset = UNSET  # (ISO 639-1 code, level or "")
    position: str | Unset = UNSET
    employer: str | Unset = UNSET
    expertise: Expertise | Unset = UNSET
    modes: list[Mode] | Unset = UNSET
    days_per_year: int | Unset | None = UNSET
    open_to_mentoring: bool | Unset = UNSET
    mentor_capacity: int | Unset | None = UNSET
    open_to_requests: bool | Unset = UNSET
    phone: str | Unset = UNSET
    website: str | Unset = UNSET
    linkedin: str | Unset = UNSET
    orcid: str | Unset = UNSET
    education: list[Education] | Unset = UNSET
    visibility: Mapping[str, Tier] = field(default_factory=dict)


# ---------------------------------------------------------------- value parsers


def split_list(value: Any) -> list[str]:
    """`a; b;;c` or a JSON list -> ["a", "b", "c"]."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(";")
    return [str(item).strip() for item in items if str(item).strip()]


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(word)


def _parse_int(value: Any, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    number = int(str(value).strip())
    if not low <= number <= high:
        raise ValueError(number)
    return number


def orcid_is_valid(orcid: str) -> bool:
    """ORCID iDs end in an ISO 7064 11,2 check character."""
    match = ORCID_RE.match(orcid)
    if not match:
        return False
    digits = "".join(match.groups())
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def _clean_url(value: str, *, host_suffix: str | None = None) -> str:
    value = value.strip()
    if not value:
        return ""
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or "." not in host or " " in value:
        raise ValueError(value)
    if host_suffix and not (host == host_suffix or host.endswith("." + host_suffix)):
        raise ValueError(value)
    return value


def find_node(value: str) -> Node | None:
    """A state by any form people write it in: MX-CMX, CMX, CDMX, 09, Ciudad de México, ciudad
    de mexico (see network.members.states)."""
    wanted = state_key(value)
    if not wanted:
        return None
    return next(
        (
            n
            for n in db.session.scalars(select(Node))
            if wanted in state_forms(n.code, n.inegi_code, n.name)
        ),
        None,
    )


# ---------------------------------------------------------------- the parser


def parse_profile(raw: Mapping[str, Any]) -> ProfileInput:
    """Check and normalise the keys given (absent keys stay UNSET). Raises one ValidationError
    with every (field, message) found, fields named as the form, the API and the CSV name them."""
    clean: dict[str, Any] = {}
    visibility: dict[str, Tier] = {}
    problems: list[tuple[str | None, object]] = []

    def fail(field: str, message: object) -> None:
        problems.append((field, message))

    def take(field: str, parse: Callable[[Any], Any], message: object, key: str = "") -> None:
        """Parse a given field with `parse`; a ValueError from it is `message` on the field."""
        if field in raw:
            try:
                clean[key or field] = parse(raw[field])
            except ValueError:
                fail(field, message)

    def text(field: str, limit: int) -> None:
        if field in raw:
            value = (
                " ".join(str(raw[field] or "").split())
                if field != "bio"
                else str(raw[field] or "").strip()
            )
            if len(value) > limit:
                fail(field, _l("Keep it under %(n)d characters.", n=limit))
            else:
                clean[field] = value

    if "full_name" in raw:
        name = " ".join(str(raw["full_name"] or "").split())
        if len(name) < 2 or len(name) > 120:
            fail("full_name", _l("Enter your full name."))
        else:
            clean["full_name"] = name
    for field_name, limit in (
        ("headline", 160),
        ("bio", 5000),
        ("city", 120),
        ("position", 160),
        ("employer", 160),
    ):
        text(field_name, limit)
    if "country" in raw:
        code = str(raw["country"] or "").strip().upper()
        if code and not is_country(code):
            fail(
                "country",
                _l("Unknown country code “%(code)s”: use ISO codes such as MX, US, ES.", code=code),
            )
        else:
            clean["country"] = code or None
    if "timezone" in raw:
        zone = str(raw["timezone"] or "").strip()
        if zone and not is_timezone(zone):
            fail(
                "timezone",
                _l(
                    "Unknown time zone “%(zone)s”: use a name such as America/Mexico_City.",
                    zone=zone,
                ),
            )
        else:
            clean["timezone"] = zone or None
    if "state_of_origin" in raw:
        value = str(raw["state_of_origin"] or "").strip()
        node = find_node(value) if value else None
        if value and node is None:
            fail(
                "state_of_origin",
                _l(
                    "Unknown Mexican state “%(state)s”: use a Mexican state's name or code, "
                    "e.g. Jalisco, JAL or MX-JAL.",
                    state=value,
                ),
            )
        else:
            clean["state_of_origin"] = node
    if "languages" in raw:
        clean["languages"] = _languages(raw["languages"], fail)
    if "modes" in raw:
        modes = []
        for item in split_list(raw["modes"]):
            try:
                modes.append(Mode(item.strip().lower()))
            except ValueError:
                fail("modes", _l("Unknown way of contributing “%(mode)s”.", mode=item))
        clean["modes"] = list(dict.fromkeys(modes))
    if "expertise" in raw:
        clean["expertise"] = Expertise(*resolve_expertise(split_list(raw["expertise"])))
    for field_name, low, high in (("days_per_year", 0, 365), ("mentor_capacity", 0, 50)):
        take(
            field_name,
            lambda value, low=low, high=high: _parse_int(value, low, high),
            _l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high),
        )
    for field_name, key in (
        ("open_to_mentor", "open_to_mentoring"),
        ("open_to_requests", "open_to_requests"),
        ("name_public", "name_public"),
    ):
        take(field_name, parse_bool, _l("Answer yes or no."), key)
    if "phone" in raw:
        phone = " ".join(str(raw["phone"] or "").split())
        if phone and not PHONE_RE.match(phone):
            fail("phone", _l("Enter a phone number with its country code, e.g. +52 55 1234 5678."))
        else:
            clean["phone"] = phone
    take(
        "website",
        lambda value: _clean_url(str(value or "")),
        _l("Enter a web address such as https://example.org."),
    )
    take(
        "linkedin",
        lambda value: _clean_url(str(value or ""), host_suffix="linkedin.com"),
        _l("Enter your LinkedIn address, e.g. https://www.linkedin.com/in/yourname."),
    )
    if "orcid" in raw:
        orcid = str(raw["orcid"] or "").strip().upper()
        orcid = orcid.removeprefix("HTTPS://ORCID.ORG/").removeprefix("HTTP://ORCID.ORG/")
        if orcid and not orcid_is_valid(orcid):
            fail("orcid", _l("Enter a valid ORCID iD, e.g. 0000-0002-1825-0097."))
        else:
            clean["orcid"] = orcid
    if "education" in raw:
        clean["education"] = _education(raw["education"], fail)
    for field_name in PROFILE_FIELDS:
        key = f"{field_name}_visibility"
        if key in raw and raw[key] not in (None, ""):
            try:
                visibility[field_name] = Tier(str(raw[key]).strip().lower())
            except ValueError:
                fail(
                    key,
                    _l(
                        "Unknown visibility “%(tier)s”: use public, members, organisations, coordinators, ime or private.",
                        tier=raw[key],
                    ),
                )
    if problems:
        raise ValidationError.of(problems)
    return ProfileInput(**clean, visibility=visibility)


def _languages(value: Any, fail: Callable[[str, object], None]) -> list[tuple[str, str]]:
    """`es:native; en:C1; fr` -> [("es", "native"), ("en", "C1"), ("fr", "")], once each."""
    known = language_names("en")
    languages: list[tuple[str, str]] = []
    for item in split_list(value):
        code, _, level = item.partition(":")
        code, level = code.strip().lower(), level.strip()
        level = "native" if level.lower() == "native" else level.upper()
        if code not in known:
            fail(
                "languages",
                _l(
                    "Unknown language code “%(code)s”: use ISO 639-1 codes such as es, en, fr.",
                    code=code,
                ),
            )
        elif level and level not in LANGUAGE_LEVELS:
            fail("languages", _l("Unknown level “%(level)s”: use native or A1 to C2.", level=level))
        elif code not in {c for c, _ in languages}:
            languages.append((code, level))
    return languages


def _education(value: Any, fail: Callable[[str, object], None]) -> list[Education]:
    """Education entries; wholly empty ones (the form's spare rows) are skipped."""
    entries = []
    latest = date.today().year + 6
    for entry in value or []:
        if not isinstance(entry, Mapping):
            fail(
                "education",
                _l("Each education entry needs a degree, field, institution and year."),
            )
            continue
        values = {
            k: " ".join(str(entry.get(k) or "").split()) for k in ("degree", "field", "institution")
        }
        if not any(values.values()) and not entry.get("year"):
            continue
        try:
            year = _parse_int(entry.get("year"), 1940, latest)
        except ValueError:
            fail("education", _l("Enter a year between 1940 and %(year)d.", year=latest))
            continue
        if not values["institution"]:
            fail("education", _l("Each education entry needs at least the institution."))
            continue
        entries.append(Education(**{k: v[:200] for k, v in values.items()}, year=year))
    return entries
