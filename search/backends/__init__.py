"""The search backends: one typed protocol, and the registry choosing one from SEARCH_BACKEND.

As Warehouse does it, search is a service behind an interface chosen by configuration: the
indexer writes documents through it and the facade (`search.queries`) asks it one kind at a
time, so neither knows which backend answers. Whoosh (the default) keeps an index on this
machine's disk; PostgreSQL keeps the documents in the database every app server shares. A third
backend implements `SearchBackend`, is named in `BACKENDS`, and runs the contract tests of
`tests/search` (parametrised over `BACKENDS`).

A backend never imports another backend, nor private names of shared modules: what both need is
a public name of `search.parsing`, `search.tiers`, `search.explain` or `search.results`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Flask, current_app

from network.config import ConfigurationError
from network.visibility import Viewer
from search.backends.postgres import PostgresBackend
from search.backends.whoosh import WhooshBackend
from search.parsing import SearchQuery
from search.results import SearchResult

# A document as `search.documents` makes it: field name -> value.
Document = dict[str, Any]


class SearchBackend(Protocol):
    """What the indexer, the facade, the CLI and the bench ask of a backend."""

    #: The SEARCH_BACKEND value choosing it.
    name: str

    def write(self, documents: list[Document], deleted: list[str]) -> None:
        """Add or replace these documents (by key) and delete these keys, all at once: one
        writer (or transaction), so a search sees all of the change or none of it. Raises if
        it cannot write; the indexer then keeps the keys for retry."""

    def rebuild(self, documents: Iterable[Document], progress: Callable[[int], None]) -> int:
        """Replace every document with these; call `progress(n)` as n more are written.
        Returns how many were written."""

    def search(self, query: SearchQuery) -> SearchResult:
        """One page of one kind of document as this viewer may see it, ranked, explained,
        with the exact total and (if asked) facet counts. Out of SEARCH_TIME_BUDGET it answers
        what it has (or `message="slow"`) and calls `search.results.mark_incomplete`."""

    def count_kinds(
        self, terms: list[str], viewer: Viewer, known: dict[str, int]
    ) -> dict[str, int]:
        """Every kind's total for these words, by the search's own visibility rules (upcoming
        events, open needs); `known` totals as given. Empty if it ran out of time."""

    def doc_count(self) -> int:
        """How many documents the index holds (the health check and `--if-empty` read it)."""

    def kinds(self) -> dict[str, int]:
        """Documents per kind (`flask search stats`)."""

    def size_bytes(self) -> int:
        """The index's size on disk (`flask search stats`, the bench)."""

    def close(self) -> None:
        """Release what this process holds open (at shutdown, and between tests)."""


BACKENDS: dict[str, Callable[[Flask], SearchBackend]] = {
    "whoosh": WhooshBackend,
    "postgres": PostgresBackend,
}


def create_backend(app: Flask) -> SearchBackend:
    """The backend SEARCH_BACKEND names, for this app; a name no backend has stops the app at
    start with a clear message, rather than answering searches from an index that is not there."""
    name = app.config["SEARCH_BACKEND"]
    if name not in BACKENDS:
        choices = " or ".join(repr(known) for known in BACKENDS)
        raise ConfigurationError(f"SEARCH_BACKEND must be {choices}, not {name!r}")
    return BACKENDS[name](app)


def get_backend() -> SearchBackend:
    """The current app's backend (made once, by `search.indexer.register_indexer`)."""
    return current_app.extensions["search_index"]
