"""Names for facet values in the viewer's language (the index holds only codes and slugs)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from chapters import queries as chapter_queries
from network.events.forms import FORMAT_LABELS
from network.geo import country_name, language_name, place_of
from network.members import queries as member_queries
from network.members.models import MODE_LABELS, Mode
from network.needs.models import NEED_STATUS_LABELS

FACET_TITLES = {
    "country": _l("Country"),
    "region": _l("Region"),
    "chapter": _l("Chapter"),
    "state": _l("State of origin"),
    "sector": _l("Sector"),
    "concept": _l("Expertise"),
    "language": _l("Language"),
    "mode": _l("Way of contributing"),
    "mentoring": _l("Mentoring"),
    "timezone": _l("Time zone"),
    "format": _l("Format"),
    "when": _l("When"),
}
WHEN_LABELS = {"upcoming": _l("Upcoming"), "past": _l("Past")}
# Needs: the state is where the need is (not anyone's state of origin), and two facets of their own.
NEED_FACET_TITLES = {
    **FACET_TITLES,
    "state": _l("State"),
    "concept": _l("Expertise needed"),
    "remote": _l("Remote"),
    "status": _l("Status"),
}
REMOTE_LABELS = {"yes": _l("Remote work possible"), "no": _l("On site")}
STATUS_LABELS = {**{str(k): v for k, v in NEED_STATUS_LABELS.items()}, "all": _l("Any status")}


def _zone_label(zone: str, language: str) -> str:
    """A time zone by its city, in the viewer's language ("Ciudad de México (America/...)")."""
    try:
        return f"{place_of(zone, language)} ({zone})"
    except LookupError:
        return zone


def facet_labels(facets: dict[str, dict[str, int]], language: str) -> dict[str, dict[str, str]]:
    """value -> label for every value present, looked up once per facet."""
    labels: dict[str, dict[str, str]] = {name: {} for name in facets}
    if not any(facets.values()):
        return labels
    regions = {r.slug: r.name(language) for r in chapter_queries.list_regions()}
    chapters = {c.slug: c.name for c in chapter_queries.list_chapters(include_inactive=True)}
    nodes = {n.code: n.name for n in chapter_queries.list_nodes()}
    sectors = {s.slug: s.label(language) for s in member_queries.list_sectors()}
    concepts = member_queries.concept_labels(list(facets.get("concept", {})), language)
    lookup: dict[str, Any] = {
        "country": lambda v: country_name(v, language),
        "region": regions.get,
        "chapter": chapters.get,
        "state": nodes.get,
        "sector": sectors.get,
        "concept": concepts.get,
        "language": lambda v: language_name(v, language),
        "mode": lambda v: str(MODE_LABELS[Mode(v)]) if v in set(Mode) else v,
        "mentoring": lambda v: str(_l("Open to mentoring")),
        "timezone": lambda v: _zone_label(v, language),
        "format": lambda v: str(FORMAT_LABELS[v]) if v in FORMAT_LABELS else v,
        "when": lambda v: str(WHEN_LABELS[v]) if v in WHEN_LABELS else v,
        "remote": lambda v: str(REMOTE_LABELS[v]) if v in REMOTE_LABELS else v,
        "status": lambda v: str(STATUS_LABELS[v]) if v in STATUS_LABELS else v,
    }
    for name, values in facets.items():
        for value in values:
            labels[name][value] = lookup[name](value) or value
    return labels
