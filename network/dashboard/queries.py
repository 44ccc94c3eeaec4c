"""Public aggregates with small-cell suppression: a count below SMALL_CELL is given as "< 5", so
that nobody can be singled out (five members of one sector in one region are a crowd; two are
two people). Each figure comes from its domain's query function."""

from __future__ import annotations

from typing import Any

from chapters import queries as chapter_queries
from chapters.models import Region
from network.db import db
from network.events.queries import count_events_held
from network.members.models import Sector
from network.members.queries import count_members_by_sector
from network.needs.queries import count_needs_completed

SMALL_CELL = 5
SUPPRESSED = f"< {SMALL_CELL}"


def suppress(count: int) -> int | str:
    """The count, or "< 5" when it is small enough to point at someone."""
    return count if count >= SMALL_CELL else SUPPRESSED


def public_statistics(language: str) -> dict[str, Any]:
    """What anyone may know of the network, every count of people suppressed when small."""
    figures = chapter_queries.get_network_figures()
    by_region = chapter_queries.count_members_by_region()
    by_sector = count_members_by_sector()
    regions = sorted(db.session.scalars(db.select(Region)), key=lambda r: r.position)
    sectors = sorted(db.session.scalars(db.select(Sector)), key=lambda s: s.label(language))
    return {
        "chapters": figures.chapters,
        "countries": figures.countries,
        "members": suppress(figures.members),
        "events_held": suppress(count_events_held()),
        "needs_completed": suppress(count_needs_completed()),
        "members_by_region": [
            {
                "slug": r.slug,
                "name": r.name(language),
                "members": suppress(by_region.get(r.slug, 0)),
            }
            for r in regions
        ],
        "members_by_sector": [
            {
                "slug": s.slug,
                "name": s.label(language),
                "members": suppress(by_sector.get(s.slug, 0)),
            }
            for s in sectors
        ],
        "suppressed_below": SMALL_CELL,
    }
