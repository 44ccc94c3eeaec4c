"""The search facade: what views, the API, the CLI and the bench call, whichever backend answers.

It reads the query (`search.parsing`), decides whether there is anything to search, asks the
app's backend (`search.backends`) for one kind, and falls back to a fuzzy pass when nothing
matched. How a backend matches, ranks, counts and explains is its own affair; what the results
are is `search.results`, reloaded from the database by `load_results`.
"""

from __future__ import annotations

from dataclasses import replace

from network.visibility import Viewer
from search.backends import get_backend
from search.parsing import (
    CANDIDATES,
    EVENT_FILTERS,
    KINDS,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    NEED_FILTERS,
    NEED_STATUS_FILTERS,
    SearchQuery,
    accepted_filters,
    query_terms,
)
from search.results import SearchResult, load_results, mark_incomplete

__all__ = [
    "CANDIDATES",
    "EVENT_FILTERS",
    "KINDS",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "NEED_FILTERS",
    "NEED_STATUS_FILTERS",
    "SearchResult",
    "kind_counts",
    "load_results",
    "mark_incomplete",
    "search",
]


def search(
    text: str,
    viewer: Viewer,
    *,
    kind: str = "members",
    page: int = 1,
    per_page: int = 20,
    language: str = "es",
    filters: dict[str, str] | None = None,
    with_facets: bool = False,
) -> SearchResult:
    """Search one kind of document for this viewer; fall back to a fuzzy match on no results."""
    terms = query_terms(text)
    if kind not in KINDS:
        kind = "members"
    chosen = accepted_filters(kind, filters)
    # No words: browsing is allowed over events, over needs when nothing was typed (open ones,
    # newest first) or a filter narrows them, and over members once a filter narrows them (the
    # mentor search: open to mentoring, a concept, a language, a time zone).
    browsing = not terms and (
        kind == "events"
        or (kind == "needs" and (chosen or not (text or "").strip()))
        or (kind == "members" and chosen)
    )
    if not terms and not browsing:
        return SearchResult(text, [], 0, [], message="empty")
    query = SearchQuery(
        kind,
        terms,
        viewer,
        chosen,
        with_facets=with_facets and kind != "chapters",
        page=page,
        per_page=per_page,
        language=language,
    )
    backend = get_backend()
    result = backend.search(query)
    if result.total == 0 and terms:
        fuzzy = backend.search(replace(query, fuzzy=True))
        if fuzzy.total:
            fuzzy.corrected = text
            return fuzzy
    return result


def kind_counts(text: str, viewer: Viewer, known: dict[str, int] | None = None) -> dict[str, int]:
    """How many results each kind has for these words (upcoming events, open needs), for the
    kind tabs.

    The same visibility rules as the search itself, so a hidden field cannot show up here as a
    number either. `known` holds totals the page already has (its own kind's)."""
    terms = query_terms(text)
    if not terms:
        return {}
    counts = get_backend().count_kinds(terms, viewer, dict(known or {}))
    return {kind: counts[kind] for kind in KINDS} if counts else {}
