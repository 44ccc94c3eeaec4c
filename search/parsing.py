"""What a query means, whichever backend answers it: its words, its filters and their limits.

User input never reaches a backend's own query language: it is cut into words by the index's
analyzer (`search.schema.ANALYZER`), so quotes, brackets, operators or control characters cannot
make a query fail; a trailing `*` is a prefix. Both backends read the same words and the same
cleaned filters, and page the same CANDIDATES ranked results, so they answer alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from network.needs.models import PUBLISHED_STATUSES, NeedStatus
from network.visibility import Viewer
from search.schema import ANALYZER, EVENT_FACETS, FACETS, NEED_FACETS

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MIN_PREFIX = 3  # letters before a `*`
MAX_EXPANSIONS = 12  # indexed words one prefix (or misspelt word) may stand for
CANDIDATES = 200  # ranked hits per query (10 pages of 20): the rest is counted, not ranked
# A profile not confirmed for a year weighs less: its text may no longer be true.
STALE_AFTER = timedelta(days=365)
STALE_FACTOR = 0.7
KINDS = ("members", "events", "chapters", "needs")
# The document kind of each kind of result ("members" lists "member" documents).
DOCUMENT_KIND = {"members": "member", "events": "event", "chapters": "chapter", "needs": "need"}
# Filters each kind accepts; "when" (upcoming, the default, or past) is computed at query time.
EVENT_FILTERS = (*EVENT_FACETS, "when")
PERIODS = ("upcoming", "past")
# Needs: "status" is open by default; in_progress, completed, or all three on request.
NEED_FILTERS = NEED_FACETS
NEED_STATUS_FILTERS = (*(str(s) for s in PUBLISHED_STATUSES), "all")
DEFAULT_NEED_STATUS = str(NeedStatus.OPEN)


@dataclass(frozen=True)
class SearchQuery:
    """One search as a backend receives it: one kind of result, the words as the index sees
    them (`query_terms`), the filters that kind accepts (`accepted_filters`), the page, and
    whether this is the fallback pass that also takes words one spelling mistake away."""

    kind: str
    terms: list[str]
    viewer: Viewer
    filters: dict[str, str]
    with_facets: bool = False
    page: int = 1
    per_page: int = 20
    language: str = "es"
    fuzzy: bool = False

    @property
    def text(self) -> str:
        """The query as the index read it, for the result to say what was searched."""
        return " ".join(self.terms)

    @property
    def start(self) -> int:
        """The position of the page's first result among the ranked ones."""
        return (max(self.page, 1) - 1) * self.per_page


def query_terms(text: str) -> list[str]:
    """The words of a query as the index sees them (folded, singular), at most MAX_TERMS.

    A word typed with a trailing `*` and at least MIN_PREFIX letters is kept as a prefix
    ("hidro*"); shorter ones are plain words, since "b*" would mean half the lexicon."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in (text or "")[:MAX_QUERY_CHARS])
    terms: list[str] = []
    for chunk in cleaned.split():
        words = [token.text for token in ANALYZER(chunk)]
        if words and chunk.rstrip(")]}\"'").endswith("*") and len(words[-1]) >= MIN_PREFIX:
            words[-1] += "*"
        terms.extend(words)
    return list(dict.fromkeys(t for t in terms if len(t) > 1))[:MAX_TERMS]


def is_prefix(term: str) -> bool:
    return term.endswith("*")


def scored_terms(terms: list[str]) -> list[str]:
    """The words that weigh in a ranking: prefixes only narrow (their many expansions would
    outweigh a plain word), so a query of prefixes alone lists the freshest first."""
    return [t for t in terms if not is_prefix(t)]


def accepted_filters(kind: str, filters: dict[str, str] | None) -> dict[str, str]:
    """The filters this kind of result takes, with values it knows; others are dropped rather
    than refused, since they come from a hand-edited address as often as from a form."""
    allowed = {"members": FACETS, "events": EVENT_FILTERS, "needs": NEED_FILTERS}.get(kind, ())
    chosen = {k: v for k, v in (filters or {}).items() if k in allowed and v}
    if chosen.get("when") not in {None, *PERIODS}:
        del chosen["when"]
    if kind == "needs" and chosen.get("status") not in {None, *NEED_STATUS_FILTERS}:
        del chosen["status"]
    return chosen


def period(filters: dict[str, str]) -> str:
    """The events' period a search asks for: upcoming unless it says past."""
    return filters.get("when", "upcoming")


def event_facet_filters(filters: dict[str, str]) -> dict[str, str]:
    """The event facets a search narrows by (the period is not a facet: it is a time range)."""
    return {f: v for f, v in sorted(filters.items()) if f in EVENT_FACETS}


def need_facet_filters(filters: dict[str, str]) -> dict[str, str]:
    """The need facets a search narrows by: open needs unless the status filter asks for another
    status, or "all" of them (then no status at all)."""
    chosen = {"status": DEFAULT_NEED_STATUS, **filters}
    if chosen["status"] == "all":
        del chosen["status"]
    return {f: v for f, v in sorted(chosen.items()) if f in NEED_FACETS}


def period_facet(when: str, total: int, other_total: int) -> dict[str, int]:
    """Both periods are always offered, each with its count, so past events can be found."""
    other = "upcoming" if when == "past" else "past"
    return {when: total, other: other_total}


def status_facet(statuses: dict[str, int]) -> dict[str, int]:
    """Every status is offered with its count, and all of them together, so in-progress and
    completed needs can be found although open ones are the default."""
    if statuses:
        statuses["all"] = sum(statuses.values())
    return statuses
