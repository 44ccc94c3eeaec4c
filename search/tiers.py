"""Which visibility tiers of a member's text a viewer reads, as both backends apply them.

A member's text is indexed in the field (Whoosh) or column (PostgreSQL) of its tier, so a query
names only the tiers the viewer holds: the ones they hold for everybody, the coordinators tier
for the members of the chapters they coordinate, and every tier of their own profile.
"""

from __future__ import annotations

from network.visibility import Tier, Viewer


def allowed_tiers(viewer: Viewer) -> list[str]:
    """The tiers the viewer reads on every member's profile."""
    return [str(t) for t in viewer.tiers_for(-1)]


def coordinates_more(viewer: Viewer) -> bool:
    """Whether the viewer holds the coordinators tier for some members only (their chapters')."""
    return bool(viewer.coordinated_chapter_ids) and Tier.COORDINATORS not in viewer.tiers_for(-1)


def own_tiers(viewer: Viewer) -> list[str]:
    """The tiers a viewer reads only on their own profile."""
    if viewer.user_id is None:
        return []
    held = set(allowed_tiers(viewer))
    return [str(t) for t in Tier if str(t) not in held]


def sees_every_name(viewer: Viewer) -> bool:
    """Whether the viewer may see members' names kept for members. Who may not see a member's
    name may not see the member at all (`name_is_visible`): such members are neither listed,
    counted nor explained."""
    return Tier.MEMBERS in viewer.tiers_for(-1)
