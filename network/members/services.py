"""Profile rules: one validator for the form, the API and the CSV import; freshness; own data.

Every way in goes through `clean_profile_data`, so a value refused on the page is refused in a CSV
row or a PATCH too, with the same message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from chapters.models import Node
from network.auth.models import User
from network.auth.services import send_password_link, verify_password
from network.db import db, utcnow
from network.errors import ValidationError
from network.geo import (
    default_timezone,
    is_country,
    is_timezone,
    language_names,
)
from network.members.models import (
    LANGUAGE_LEVELS,
    EducationEntry,
    FreeTag,
    Mode,
    Profile,
    ProfileLanguage,
    ProfileMode,
)
from network.members.states import state_forms, state_key
from network.members.vocabulary import resolve_expertise
from network.outbox import OutboxMessage, queue_email
from network.signals import member_deleted
from network.text import fold
from network.urls import external_url
from network.visibility import PRESET_FIELDS, PROFILE_FIELDS, Tier

TRUE_WORDS = {"yes", "true", "1", "si", "sí", "y"}
FALSE_WORDS = {"no", "false", "0", "n", ""}
ORCID_RE = re.compile(r"^(\d{4})-(\d{4})-(\d{4})-(\d{3}[\dX])$")
PHONE_RE = re.compile(r"^\+?[\d\s().-]{7,25}$")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ProfileErrors(Exception):
    """All the problems of one submission, so the member can fix them in one go."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


# ---------------------------------------------------------------- parsing helpers


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


# ---------------------------------------------------------------- the validator


def clean_profile_data(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Check and normalise the given keys (absent keys are left alone). Returns (clean, errors)."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []

    def fail(field: str, message: Any) -> None:
        errors.append(FieldError(field, str(message)))

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
    for field, limit in (
        ("headline", 160),
        ("bio", 5000),
        ("city", 120),
        ("position", 160),
        ("employer", 160),
    ):
        text(field, limit)
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
        known = language_names("en")
        languages = []
        for item in split_list(raw["languages"]):
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
                fail(
                    "languages",
                    _l("Unknown level “%(level)s”: use native or A1 to C2.", level=level),
                )
            elif code not in {c for c, _ in languages}:
                languages.append((code, level))
        clean["languages"] = languages
    if "modes" in raw:
        modes = []
        for item in split_list(raw["modes"]):
            try:
                modes.append(Mode(item.strip().lower()))
            except ValueError:
                fail("modes", _l("Unknown way of contributing “%(mode)s”.", mode=item))
        clean["modes"] = list(dict.fromkeys(modes))
    if "expertise" in raw:
        clean["expertise"] = resolve_expertise(split_list(raw["expertise"]))
    for field, low, high in (("days_per_year", 0, 365), ("mentor_capacity", 0, 50)):
        if field in raw:
            try:
                clean[field] = _parse_int(raw[field], low, high)
            except ValueError:
                fail(
                    field, _l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)
                )
    for field in ("open_to_mentor", "open_to_requests", "name_public"):
        if field in raw:
            try:
                clean[field] = parse_bool(raw[field])
            except ValueError:
                fail(field, _l("Answer yes or no."))
    if "phone" in raw:
        phone = " ".join(str(raw["phone"] or "").split())
        if phone and not PHONE_RE.match(phone):
            fail("phone", _l("Enter a phone number with its country code, e.g. +52 55 1234 5678."))
        else:
            clean["phone"] = phone
    for field, suffix, message in (
        ("website", None, _l("Enter a web address such as https://example.org.")),
        (
            "linkedin",
            "linkedin.com",
            _l("Enter your LinkedIn address, e.g. https://www.linkedin.com/in/yourname."),
        ),
    ):
        if field in raw:
            try:
                clean[field] = _clean_url(str(raw[field] or ""), host_suffix=suffix)
            except ValueError:
                fail(field, message)
    if "orcid" in raw:
        orcid = str(raw["orcid"] or "").strip().upper()
        orcid = orcid.removeprefix("HTTPS://ORCID.ORG/").removeprefix("HTTP://ORCID.ORG/")
        if orcid and not orcid_is_valid(orcid):
            fail("orcid", _l("Enter a valid ORCID iD, e.g. 0000-0002-1825-0097."))
        else:
            clean["orcid"] = orcid
    if "education" in raw:
        entries = []
        for entry in raw["education"] or []:
            if not isinstance(entry, Mapping):
                fail(
                    "education",
                    _l("Each education entry needs a degree, field, institution and year."),
                )
                continue
            values = {
                k: " ".join(str(entry.get(k) or "").split())
                for k in ("degree", "field", "institution")
            }
            if not any(values.values()) and not entry.get("year"):
                continue
            try:
                year = _parse_int(entry.get("year"), 1940, date.today().year + 6)
            except ValueError:
                fail(
                    "education",
                    _l("Enter a year between 1940 and %(year)d.", year=date.today().year + 6),
                )
                continue
            if not values["institution"]:
                fail("education", _l("Each education entry needs at least the institution."))
                continue
            entries.append({**{k: v[:200] for k, v in values.items()}, "year": year})
        clean["education"] = entries
    for field in PROFILE_FIELDS:
        key = f"{field}_visibility"
        if key in raw and raw[key] not in (None, ""):
            try:
                clean[key] = Tier(str(raw[key]).strip().lower())
            except ValueError:
                fail(
                    key,
                    _l(
                        "Unknown visibility “%(tier)s”: use public, members, organisations, coordinators, ime or private.",
                        tier=raw[key],
                    ),
                )
    return clean, errors


# ---------------------------------------------------------------- writing


def get_or_create_profile(user: User) -> Profile:
    if user.profile is None:
        user.profile = Profile()
        db.session.flush()
    return user.profile


def apply_profile_data(user: User, clean: Mapping[str, Any]) -> Profile:
    """Write cleaned data. Editing one's profile also confirms it is current."""
    profile = get_or_create_profile(user)
    if "full_name" in clean:
        user.full_name = clean["full_name"]
    simple = (
        "headline",
        "bio",
        "country",
        "city",
        "timezone",
        "position",
        "employer",
        "phone",
        "website",
        "linkedin",
        "orcid",
        "days_per_year",
        "mentor_capacity",
        "open_to_requests",
        "name_public",
    )
    for field in simple:
        if field in clean:
            setattr(profile, field, clean[field])
    if profile.country and not profile.timezone:
        profile.timezone = default_timezone(profile.country)
    if "state_of_origin" in clean:
        profile.state_of_origin = clean["state_of_origin"]
    if "open_to_mentor" in clean:
        profile.open_to_mentoring = clean["open_to_mentor"]
    if clean.get("mentor_capacity", 0) is None:
        profile.mentor_capacity = 0
    if profile.open_to_mentoring and profile.mentor_capacity < 1:
        profile.mentor_capacity = 1  # open to mentoring means room for one mentee at least
    # Lists are updated in place, reusing rows: replacing them would insert the new rows before
    # deleting the old ones and trip the unique constraints.
    if "languages" in clean:
        existing_languages = {lang.code: lang for lang in profile.languages}
        languages = []
        for index, (code, level) in enumerate(clean["languages"]):
            row = existing_languages.get(code) or ProfileLanguage(code=code)
            row.level, row.position = level, index
            languages.append(row)
        profile.languages = languages
    if "modes" in clean:
        existing_modes = {m.mode: m for m in profile.modes}
        profile.modes = [
            existing_modes.get(str(m)) or ProfileMode(mode=str(m)) for m in clean["modes"]
        ]
    if "expertise" in clean:
        concepts, tags = clean["expertise"]
        profile.concepts = concepts
        existing = {fold(t.tag): t for t in profile.free_tags}
        profile.free_tags = [existing.get(fold(tag)) or FreeTag(tag=tag) for tag in tags]
    if "education" in clean:
        profile.education = [
            EducationEntry(position=index, **entry)
            for index, entry in enumerate(clean["education"])
        ]
    for field in PROFILE_FIELDS:
        key = f"{field}_visibility"
        if key in clean:
            profile.set_visibility(field, clean[key])
    profile.confirmed_at = utcnow()
    db.session.flush()
    return profile


def update_profile(user: User, raw: Mapping[str, Any]) -> Profile:
    """Validate and save; raise ProfileErrors with every problem found."""
    clean, errors = clean_profile_data(raw)
    if errors:
        raise ProfileErrors(errors)
    return apply_profile_data(user, clean)


def confirm_profile(user: User) -> Profile:
    """ "My profile is still accurate": one click that resets the freshness clock."""
    profile = get_or_create_profile(user)
    profile.confirmed_at = utcnow()
    return profile


def apply_visibility_preset(user: User, preset: str) -> Profile:
    """Make the whole profile public or network-only at once (contact details stay as they are)."""
    tiers = {"public": Tier.PUBLIC, "members": Tier.MEMBERS}
    if preset not in tiers:
        raise ValidationError("preset", _l("Choose public or network only."))
    profile = get_or_create_profile(user)
    for field in PRESET_FIELDS:
        profile.set_visibility(field, tiers[preset])
    profile.name_public = preset == "public"
    return profile


def nudge_stale_profiles(months: int = 12) -> int:
    """Queue a reminder to members whose profile was last confirmed `months` ago or more,
    at most once every 30 days each. Returns how many were queued."""
    now = utcnow()
    cutoff = now - timedelta(days=round(months * 30.44))
    recently = now - timedelta(days=30)
    stale = db.session.scalars(
        select(Profile)
        .join(Profile.user)
        .where(
            Profile.confirmed_at <= cutoff,
            (Profile.last_nudged_at.is_(None)) | (Profile.last_nudged_at <= recently),
        )
    ).all()
    for profile in stale:
        user = profile.user
        queue_email(
            user.email,
            _l("Is your Red Global MX profile still accurate?"),
            "profile_nudge",
            locale=user.preferred_language,
            kind="profile_nudge",
            user=user,
            confirmed_at=profile.confirmed_at,
            link=external_url("members.me"),
        )
        profile.last_nudged_at = now
    db.session.flush()
    return len(stale)


def delete_account(user: User, password: str) -> None:
    """Erase the account and everything personal about it. Nothing identifying is kept.

    member_deleted goes out before the rows do: the database would drop registrations and
    mentorships with the account, leaving seats to whoever registers next (past the people
    waiting) and mentors' places taken; the events and mentoring domains settle those first."""
    if not verify_password(user, password):
        raise ValidationError("password", _l("Your current password is not correct."))
    member_deleted.send(user)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == user.email))
    db.session.delete(user)
    db.session.flush()


def invite_member(user: User) -> None:
    """An imported member chooses their own password through a link (like a reset, but longer)."""
    send_password_link(
        user,
        "invite",
        _l("You are invited to Red Global MX"),
        "invitation",
        days=current_app.config["INVITATION_MAX_AGE"] // 86400,
    )


def as_validation_error(error: FieldError) -> ValidationError:
    """For views: a profile problem in the shape forms already know how to show."""
    return ValidationError(error.field, error.message)
