"""Who may see which profile field: the tiers, the defaults, and the one function that decides.

Every page, the directory, the API, exports and (later) search ask here; none decides on its own.
A field is visible to a viewer when the field's tier is one of the tiers the viewer holds *for that
member*: the coordinator tier depends on whether the viewer coordinates one of the member's chapters.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from network.security import Role, sees_members_events


class Tier(enum.StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"
    ORGANISATIONS = "organisations"
    COORDINATORS = "coordinators"
    IME = "ime"
    PRIVATE = "private"


TIER_LABELS = {
    Tier.PUBLIC: _l("Everyone"),
    Tier.MEMBERS: _l("Network accounts"),
    Tier.ORGANISATIONS: _l("Verified organisations and IME"),
    Tier.COORDINATORS: _l("My chapters' coordinators and IME"),
    Tier.IME: _l("IME only"),
    Tier.PRIVATE: _l("Only me"),
}

# Profile fields with a visibility of their own (stable names: the CSV and the API use them).
# The full name is special: visible to every signed-in account, to the public only if chosen.
PROFILE_FIELDS: tuple[str, ...] = (
    "email",
    "phone",
    "headline",
    "bio",
    "country",
    "city",
    "state_of_origin",
    "timezone",
    "languages",
    "position",
    "education",
    "links",
    "expertise",
    "modes",
    "days_per_year",
    "mentoring",
    "open_to_requests",
    "chapters",
)

FIELD_LABELS = {
    "full_name": _l("Full name"),
    "email": _l("E-mail address"),
    "phone": _l("Phone"),
    "headline": _l("Headline"),
    "bio": _l("About me"),
    "country": _l("Country of residence"),
    "city": _l("City"),
    "state_of_origin": _l("State of origin"),
    "timezone": _l("Time zone"),
    "languages": _l("Languages"),
    "position": _l("Current position"),
    "education": _l("Education"),
    "links": _l("Links"),
    "expertise": _l("Expertise"),
    "modes": _l("Ways I can contribute"),
    "days_per_year": _l("Availability (days per year)"),
    "mentoring": _l("Mentoring"),
    "open_to_requests": _l("Open to requests from verified organisations"),
    "chapters": _l("Chapters"),
}

DEFAULT_VISIBILITY: dict[str, Tier] = {
    # Organisations reach members through consented contact, never by address or phone.
    "email": Tier.PRIVATE,
    "phone": Tier.PRIVATE,
    "days_per_year": Tier.ORGANISATIONS,
    "open_to_requests": Tier.ORGANISATIONS,
    **{
        name: Tier.MEMBERS
        for name in PROFILE_FIELDS
        if name not in {"email", "phone", "days_per_year", "open_to_requests"}
    },
}

# What the one-click presets change: never the contact details, which stay as the member set them.
PRESET_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in {"email", "phone"})

ALL_TIERS = frozenset(Tier)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, reduced to what visibility needs. Built once per request."""

    user_id: int | None = None
    is_signed_in: bool = False
    is_verified_organisation: bool = False
    is_ime: bool = False
    # Whether members-only events are for this viewer (`security.sees_members_events`).
    sees_members_events: bool = False
    # Members of the chapters this viewer coordinates (user ids).
    coordinated_member_ids: frozenset[int] = field(default_factory=frozenset)
    # The chapters this viewer coordinates (search filters documents by chapter).
    coordinated_chapter_ids: frozenset[int] = field(default_factory=frozenset)

    def tiers_for(self, member_id: int) -> frozenset[Tier]:
        """The tiers this viewer holds for one member."""
        if self.user_id is not None and self.user_id == member_id:
            return ALL_TIERS
        tiers = {Tier.PUBLIC}
        if self.is_signed_in:
            tiers.add(Tier.MEMBERS)
        if self.is_verified_organisation or self.is_ime:
            tiers.add(Tier.ORGANISATIONS)
        if self.is_ime or member_id in self.coordinated_member_ids:
            tiers.add(Tier.COORDINATORS)
        if self.is_ime:
            tiers.add(Tier.IME)
        return frozenset(tiers)


ANONYMOUS = Viewer()

# Any verified organisation, as far as profile fields go: candidates are ranked and shown with
# what these tiers let through, whoever at IME or at the organisation is looking.
ORGANISATION_VIEWER = Viewer(is_signed_in=True, is_verified_organisation=True)
ORGANISATION_TIERS = ORGANISATION_VIEWER.tiers_for(-1)


def viewer_for(
    user: Any,
    coordinated_member_ids: Iterable[int] = (),
    coordinated_chapter_ids: Iterable[int] = (),
) -> Viewer:
    """Describe a user (or the anonymous user) as a Viewer."""
    if not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    organisation = getattr(user, "organisation", None)
    return Viewer(
        user_id=user.id,
        is_signed_in=True,
        is_verified_organisation=bool(
            user.role == Role.ORGANISATION and organisation is not None and organisation.is_verified
        ),
        is_ime=user.role == Role.IME,
        sees_members_events=sees_members_events(user),
        coordinated_member_ids=frozenset(coordinated_member_ids),
        coordinated_chapter_ids=frozenset(coordinated_chapter_ids),
    )


def tier_of(visibility: dict[str, str] | None, field_name: str) -> Tier:
    value = (visibility or {}).get(field_name)
    try:
        return Tier(value) if value else DEFAULT_VISIBILITY[field_name]
    except ValueError:
        return Tier.PRIVATE  # an unreadable setting hides rather than shows


def name_is_visible(viewer: Viewer, member_id: int, name_public: bool) -> bool:
    tiers = viewer.tiers_for(member_id)
    return Tier.MEMBERS in tiers or name_public


def visible_fields(viewer: Viewer, member_id: int, visibility: dict[str, str] | None) -> set[str]:
    """The profile fields this viewer may see of this member: the single decision point."""
    tiers = viewer.tiers_for(member_id)
    return {name for name in PROFILE_FIELDS if tier_of(visibility, name) in tiers}
