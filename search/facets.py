"""Names for facet values in the viewer's language (the index holds only codes and slugs)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from chapters.models import Chapter, ChapterStatus, Node, Region
from network.events.forms import FORMAT_LABELS
from network.extensions import db
from network.geo import country_name, language_name, place_of
from network.members import queries as member_queries
from network.members.models import MODE_LABELS, Mode, Sector
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
SHOWN_VALUES = 12  # values offered per facet, the most frequent first


def shown_facets(facets: dict[str, dict[str, int]]) -> dict[str, list[tuple[str, int]]]:
    """The values the page offers per facet: the SHOWN_VALUES most frequent (ties in the
    backend's order). Only these (and the chosen filters' values, `shown_labels`) are labelled:
    naming all of a broad query's time zones and concepts cost more than the search itself."""
    return {
        name: sorted(values.items(), key=lambda item: item[1], reverse=True)[:SHOWN_VALUES]
        for name, values in facets.items()
    }


def shown_labels(
    shown: dict[str, list[tuple[str, int]]], filters: dict[str, str], language: str
) -> dict[str, dict[str, str]]:
    """Labels of the offered values and of the chosen filters' values."""
    wanted = {name: dict(values) for name, values in shown.items()}
    for name, value in filters.items():
        wanted.setdefault(name, {})[value] = 0
    return facet_labels(wanted, language)


def _zone_label(zone: str, language: str) -> str:
    """A time zone by its city, in the viewer's language ("Ciudad de México (America/...)")."""
    try:
        return f"{place_of(zone, language)} ({zone})"
    except LookupError:
        return zone


def _among(model: Any, facet: str, facets: dict[str, dict[str, int]], *columns: Any) -> Any:
    """The rows of `model` whose slug is a value of this facet (columns, or the whole rows)."""
    return select(*(columns or (model,))).where(model.slug.in_(list(facets.get(facet, {}))))


def facet_labels(facets: dict[str, dict[str, int]], language: str) -> dict[str, dict[str, str]]:
    """value -> label for every value present, looked up once per facet."""
    labels: dict[str, dict[str, str]] = {name: {} for name in facets}
    if not any(facets.values()):
        return labels
    # Only the values present are read (not every region, chapter, node and sector).
    regions = {
        r.slug: r.name(language) for r in db.session.scalars(_among(Region, "region", facets))
    }
    chapters = dict(
        db.session.execute(
            _among(Chapter, "chapter", facets, Chapter.slug, Chapter.name).where(
                Chapter.status == ChapterStatus.APPROVED
            )
        ).all()
    )
    nodes = dict(
        db.session.execute(
            select(Node.code, Node.name).where(Node.code.in_(list(facets.get("state", {}))))
        ).all()
    )
    sectors = {
        s.slug: s.label(language) for s in db.session.scalars(_among(Sector, "sector", facets))
    }
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
