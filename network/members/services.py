"""Profile writes: a member's edit, visibility presets, freshness reminders, deleting an account.

The services take a parsed `ProfileInput` (network.members.profile_input), never raw strings: the
form, the API and the CSV import parse their values there, with the same rules and messages.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from network.auth.models import User
from network.auth.services import send_password_link, verify_password
from network.db import db, utcnow
from network.errors import ValidationError
from network.geo import default_timezone
from network.members.models import EducationEntry, FreeTag, Profile, ProfileLanguage, ProfileMode
from network.members.profile_input import UNSET, ProfileInput
from network.outbox import OutboxMessage, queue_email
from network.signals import member_deleted
from network.text import fold
from network.urls import external_url
from network.visibility import PRESET_FIELDS, Tier


def get_or_create_profile(user: User) -> Profile:
    if user.profile is None:
        user.profile = Profile()
        db.session.flush()
    return user.profile


# A ProfileInput's fields are the Profile's own columns, written as given, except these.
_WRITTEN_APART = {"full_name", "languages", "modes", "expertise", "education", "visibility"}
_PROFILE_VALUES = tuple(f.name for f in fields(ProfileInput) if f.name not in _WRITTEN_APART)


def update_profile(user: User, data: ProfileInput) -> Profile:
    """Write a parsed submission (network.members.profile_input), from the member's form or the
    API or an IME import; its UNSET fields are left alone. Editing a profile also confirms it is
    current."""
    profile = get_or_create_profile(user)
    if data.full_name is not UNSET:
        user.full_name = data.full_name
    for name in _PROFILE_VALUES:
        value = getattr(data, name)
        if value is not UNSET:
            setattr(profile, name, value)
    if profile.country and not profile.timezone:
        profile.timezone = default_timezone(profile.country)
    if data.mentor_capacity is None:
        profile.mentor_capacity = 0
    if profile.open_to_mentoring and profile.mentor_capacity < 1:
        profile.mentor_capacity = 1  # open to mentoring means room for one mentee at least
    # Lists are updated in place, reusing rows: replacing them would insert the new rows before
    # deleting the old ones and trip the unique constraints.
    if data.languages is not UNSET:
        existing_languages = {lang.code: lang for lang in profile.languages}
        languages = []
        for index, (code, level) in enumerate(data.languages):
            row = existing_languages.get(code) or ProfileLanguage(code=code)
            row.level, row.position = level, index
            languages.append(row)
        profile.languages = languages
    if data.modes is not UNSET:
        existing_modes = {m.mode: m for m in profile.modes}
        profile.modes = [existing_modes.get(str(m)) or ProfileMode(mode=str(m)) for m in data.modes]
    if data.expertise is not UNSET:
        profile.concepts = data.expertise.concepts
        existing = {fold(t.tag): t for t in profile.free_tags}
        profile.free_tags = [
            existing.get(fold(tag)) or FreeTag(tag=tag) for tag in data.expertise.free_tags
        ]
    if data.education is not UNSET:
        profile.education = [
            EducationEntry(position=index, **asdict(entry))
            for index, entry in enumerate(data.education)
        ]
    for name, tier in data.visibility.items():
        profile.set_visibility(name, tier)
    profile.confirmed_at = utcnow()
    db.session.flush()
    return profile


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
