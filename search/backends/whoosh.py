"""The Whoosh backend (`SEARCH_BACKEND=whoosh`, the default): an index on this machine's disk.

Its storage: one index per process, a reusable searcher per thread, one writer at a time (a
lock shared by every process on the host), and a rebuild in worker processes.

Its searching: every word must match some field the viewer may see (AND across words, OR across
fields); a member's text is indexed in the field of its tier (`search.schema.tier_field`), and a
query names only the tiers the viewer holds for that member (`search.tiers`). A prefix stands for
a bounded number of indexed words. Members are counted with bitsets (`whoosh_bitsets`) and ranked
by Whoosh: exact totals and facet counts cost a few C-level operations, and Whoosh only scores
what can reach the top. Events, chapters and needs are a few thousand documents at most: Whoosh
visits them all.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import operator
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh import sorting
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import LockError
from whoosh.searching import Searcher
from whoosh.util.filelock import try_for
from whoosh.writing import CLEAR

from network.config import ConfigurationError
from network.db import utcnow
from network.visibility import Tier, Viewer
from search.backends import whoosh_bitsets as bitsets
from search.documents import member_key
from search.explain import explain_member, listed_hit
from search.parsing import (
    CANDIDATES,
    DOCUMENT_KIND,
    MAX_EXPANSIONS,
    STALE_AFTER,
    STALE_FACTOR,
    SearchQuery,
    event_facet_filters,
    is_prefix,
    need_facet_filters,
    period,
    period_facet,
    scored_terms,
    status_facet,
)
from search.results import Hit, SearchResult, mark_incomplete
from search.schema import (
    ANALYZER,
    EVENT_FACETS,
    EVENT_TEXT_FIELDS,
    FACETS,
    FIELD_VISIBILITY,
    MEMBER_FIELD_GROUPS,
    NEED_FACETS,
    NEED_TEXT_FIELDS,
    PUBLIC_TIER,
    SCHEMA,
    need_facet_field,
    tier_field,
)
from search.tiers import allowed_tiers, coordinates_more, own_tiers, sees_every_name

log = logging.getLogger(__name__)
MEMBER_FIELDS = ("name", *FIELD_VISIBILITY)
MEMBER_GROUPS = tuple(MEMBER_FIELD_GROUPS)
# Whoosh's BM25F defaults (the searcher's weighting), for `_bm25f`.
BM25_B = 0.75
BM25_K1 = 1.2
SCORE_AMONG = 400  # up to this many matches, BM25F scores them all (see _run_members)
PREFIX_SCAN = 500  # words read per field to choose a prefix's expansions
# A full rebuild: at most this many worker processes, and this much memory (MB) of postings
# each before Whoosh sorts them out to a temporary file. Measured again for issue 19: 512 and
# 4,096 MB took the same CPU time on 30,000 members (sorting and analysing dominate, not the
# spills), so 512 stays, for well under a GiB per worker.
MAX_REBUILD_PROCS = 4
REBUILD_LIMIT_MB = 512
# How long a write waits for another process's write (a rebuild holds the lock longer: its
# changes then stay pending and are retried).
WRITE_LOCK_WAIT_S = 10.0
Expanded = dict[str, list[str]]


def _same_schema(schema: Any) -> bool:
    """Whether an opened index has this version's fields and analyzer (Whoosh keeps the
    analyzer it was built with, pickled, and writes with it)."""
    if set(schema.names()) != set(SCHEMA.names()):
        return False
    name = tier_field("high", str(Tier.PUBLIC))
    return schema[name].analyzer == SCHEMA[name].analyzer


class WhooshBackend:
    """The app's index: one per process, with a reusable searcher per thread."""

    name = "whoosh"

    def __init__(self, app: Flask) -> None:
        if app.config["SEARCH_STORAGE"] == "ram":
            # Whoosh's RAM writers sort in /tmp/<index name>.tmp: a unique name keeps parallel
            # processes (two test runs, say) out of each other's temporary files.
            self.index = RamStorage().create_index(SCHEMA, indexname=f"ram{secrets.token_hex(8)}")
        else:
            self.index = self._open_on_disk(
                Path(app.config["SEARCH_INDEX_DIR"] or Path(app.instance_path) / "search_index")
            )
        self._local = threading.local()

    @staticmethod
    def _open_on_disk(path: Path) -> Any:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            # A setting that cannot work: one line from `flask` and gunicorn, not a traceback.
            raise ConfigurationError(
                f"the search index folder {path} cannot be created ({error.strerror}): "
                "set SEARCH_INDEX_DIR to a writable folder"
            ) from error
        storage = FileStorage(str(path))
        try:
            index = (
                storage.open_index()
                if whoosh_index.exists_in(str(path))
                else storage.create_index(SCHEMA)
            )
        except (AttributeError, ImportError, EOFError):  # its pickled schema names old code
            index = storage.create_index(SCHEMA)
        if not _same_schema(index.schema):
            # Built by an older version: start empty (`make run` and `flask search reindex
            # --if-empty` then rebuild it) rather than answer queries with missing fields,
            # or keep writing words the queries' analyzer no longer makes.
            log.warning("the search index has an older schema; run `flask search reindex`")
            index = storage.create_index(SCHEMA)
        return index

    def searcher(self) -> Searcher:
        """A searcher reused across requests and refreshed after commits (opening one is slow)."""
        current = getattr(self._local, "searcher", None)
        # Whoosh's refresh() reuses segment readers that miss newer deletions (an updated
        # document would show twice), so a stale searcher is replaced, not refreshed. With
        # non-compound segments opening one costs well under a millisecond.
        if current is None or not current.up_to_date():
            if current is not None:
                current.close()
            current = self.index.searcher()
            self._local.searcher = current
        return current

    def close(self) -> None:
        """Close this thread's reused searcher (its open segment files), e.g. at shutdown."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

    # ------------------------------------------------------------ stats

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def kinds(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for stored in self.searcher().all_stored_fields():
            kinds[stored["kind"]] = kinds.get(stored["kind"], 0) + 1
        return kinds

    def size_bytes(self) -> int:
        storage = self.index.storage
        return sum(storage.file_length(name) for name in storage.list())

    # ------------------------------------------------------------ writing

    def write(self, documents: list[dict[str, Any]], deleted: list[str]) -> None:
        """Apply documents in one writer; wait (up to WRITE_LOCK_WAIT_S) while another process
        holds the lock.

        The lock is taken here and released in `finally`, not by Whoosh's writer: a writer that
        fails while creating its segment (an unwritable index directory) raises from its
        constructor holding the lock, and would keep every later write on this host waiting
        until the garbage collector freed it, so a recovered directory stayed unusable."""
        if not documents and not deleted:
            return
        lock = self.index.lock("WRITELOCK")
        if not try_for(lambda: lock.acquire(blocking=False), WRITE_LOCK_WAIT_S, delay=0.05):
            raise LockError("another process has been writing the search index for too long")
        try:
            writer = self.index.writer(_lk=False, compound=False)
            try:
                for key in deleted:
                    writer.delete_by_term("key", key)
                for document in documents:
                    writer.update_document(**document)
                writer.commit()
            except Exception:
                with contextlib.suppress(Exception):
                    writer.cancel()
                raise
        finally:
            lock.release()

    def rebuild(self, documents: Iterable[dict[str, Any]], progress: Callable[[int], None]) -> int:
        """Replace the whole index with these documents.

        On disk, Whoosh's multiprocess writer analyses and writes the documents in worker
        processes while this one builds them from the database; each worker keeps its own
        segment (`multisegment`), which saves a final single-threaded merge of all postings.
        RAM indexes (tests) keep the plain writer: worker processes cannot share them.
        """
        procs = self._rebuild_procs()
        options: dict[str, Any] = {"timeout": 10.0, "compound": False, "limitmb": REBUILD_LIMIT_MB}
        if procs > 1:
            options.update(procs=procs, multisegment=True)
        writer = self.index.writer(**options)
        count = 0
        try:
            for document in documents:
                writer.add_document(**document)
                count += 1
                progress(1)
        except BaseException:
            # Workers wait for more work forever unless stopped; cancel() does not reach them.
            for task in getattr(writer, "tasks", ()):
                task.terminate()
                task.join()
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)
        # Whoosh's multiprocess writer drops a worker's segment silently if the worker died.
        written = self.index.doc_count_all()
        if written != count:
            raise RuntimeError(
                f"the rebuilt index holds {written} of {count} documents (a worker process "
                "failed); run `flask search reindex` again"
            )
        return count

    def _rebuild_procs(self) -> int:
        if not isinstance(self.index.storage, FileStorage):
            return 1
        return max(1, min(len(os.sched_getaffinity(0)), MAX_REBUILD_PROCS))

    # ------------------------------------------------------------ searching

    def search(self, query: SearchQuery) -> SearchResult:
        """One kind of document for this viewer; a query that runs out of SEARCH_TIME_BUDGET
        answers with what it found so far (`_collect`)."""
        searcher = self.searcher()
        if query.kind == "members":
            return _run_members(searcher, query)
        return _run_listed(searcher, query, _LISTED[query.kind])

    def count_kinds(
        self, terms: list[str], viewer: Viewer, known: dict[str, int]
    ) -> dict[str, int]:
        """Every kind's total for these words (upcoming events, open needs); `known` as given."""
        searcher = self.searcher()
        counts = dict(known)
        if "members" not in counts:
            expanded = _expand_members(searcher, terms, viewer)
            matches = _member_matches(searcher, terms, viewer, expanded, {})[1]
            counts["members"] = sum(m.bit_count() for m in matches)
        leaves = bitsets.leaves(searcher)
        for kind, listed in _LISTED.items():
            if kind not in counts:
                expanded = _expand(searcher, terms, list(listed.fields))
                counts[kind] = sum(
                    _listed_bits(leaf, kind, terms, viewer, expanded).bit_count() for leaf in leaves
                )
        return counts


# ---------------------------------------------------------------- words


def _expand(searcher: Any, terms: list[str], fields: list[str], fuzzy: bool = False) -> Expanded:
    """The indexed words standing for a query word, in these fields.

    A prefix stands for its MAX_EXPANSIONS most frequent words among the first PREFIX_SCAN of
    each field: bounded, so "bio*" on 100,000 bios cannot run away (unbounded, Whoosh expands it
    into every matching word of every field). On the fuzzy pass a word of 5+ letters also stands
    for the words one edit away (same first two letters)."""
    expanded: Expanded = {}
    reader = searcher.reader()
    for term in terms:
        if is_prefix(term):
            frequency: dict[str, int] = {}
            for name in fields:
                for number, (word, info) in enumerate(reader.iter_prefix(name, term[:-1])):
                    if number >= PREFIX_SCAN:
                        break
                    word = word.decode() if isinstance(word, bytes) else word
                    frequency[word] = frequency.get(word, 0) + info.doc_frequency()
            expanded[term] = sorted(frequency, key=lambda w: (-frequency[w], w))[:MAX_EXPANSIONS]
        elif fuzzy and len(term) >= 5:
            near: set[str] = set()
            for name in fields:
                near.update(reader.terms_within(name, term, 1, prefix=2))
            # The word itself always stays: a right word beside a typo must still match.
            expanded[term] = [term, *sorted(near - {term})[: MAX_EXPANSIONS - 1]]
    return expanded


def _expand_members(
    searcher: Any, terms: list[str], viewer: Viewer, fuzzy: bool = False
) -> Expanded:
    """`_expand` over the member fields the viewer reads, plus, for a prefix, the words of the
    viewer's own profile (they read all of it; other people's hidden words never count)."""
    expanded = _expand(searcher, terms, _member_fields(viewer), fuzzy)
    prefixes = [t for t in terms if is_prefix(t)]
    if prefixes and viewer.user_id is not None:
        own = searcher.document(key=member_key(viewer.user_id)) or {}
        words = {token.text for name in MEMBER_FIELDS for token in ANALYZER(own.get(name) or "")}
        for term in prefixes:
            extra = sorted(w for w in words if w.startswith(term[:-1]))[:MAX_EXPANSIONS]
            expanded[term] = list(dict.fromkeys([*expanded[term], *extra]))
    return expanded


def _words(terms: list[str], expanded: Expanded) -> list[str]:
    """The indexed words a query may match: its plain words and what the others expand to."""
    return [word for term in terms for word in expanded.get(term, [term])]


def _member_fields(viewer: Viewer) -> list[str]:
    """The indexed member fields this viewer reads on every profile, to expand words from: not
    the coordinators tier of a coordinator (other chapters' members' text is in it too), so
    words they may not read never choose, nor crowd out, a prefix's expansions."""
    return [tier_field(group, tier) for group in MEMBER_GROUPS for tier in allowed_tiers(viewer)]


def _term(field_name: str, text: str, fuzzy: bool, expanded: Expanded | None = None) -> Q.Query:
    """An exact term; a prefix's (or, for members, a fuzzy word's) expansion; or, on the
    fallback pass, one spelling mistake away (words of 5+ letters)."""
    if expanded and text in expanded:
        words = expanded[text]
        return Q.Or([Q.Term(field_name, w) for w in words]) if words else Q.NullQuery
    if is_prefix(text):
        return Q.NullQuery
    if fuzzy and len(text) >= 5:
        return Q.FuzzyTerm(field_name, text, maxdist=1, prefixlength=2)
    return Q.Term(field_name, text)


def _every_word(
    terms: list[str], fields: Iterable[str], fuzzy: bool, expanded: Expanded
) -> list[Q.Query]:
    """Per word: the word in one of these fields."""
    return [Q.Or([_term(f, t, fuzzy, expanded) for f in fields]) for t in terms]


def _collect(searcher: Any, query: Q.Query, order: Any = None) -> Any:
    """The top CANDIDATES within the time budget: a query that would run away returns what it
    found so far instead."""
    collector = TimeLimitCollector(
        searcher.collector(limit=CANDIDATES, sortedby=order),
        timelimit=current_app.config["SEARCH_TIME_BUDGET"],
        use_alarm=False,  # SIGALRM only works in the main thread; web requests are not
    )
    try:
        searcher.search_with_collector(query, collector)
    except TimeLimit:
        mark_incomplete()
    return collector.results()


def _ranked_page(hits: list[Hit], query: SearchQuery) -> list[Hit]:
    """The asked page of the hits, best first; ties go to the higher `confirmed` (the fresher
    profile, the sooner event, the more recently opened need). Browsing keeps the index's order."""
    if query.terms:
        hits.sort(key=lambda h: (-h.score, -h.confirmed))
    return hits[query.start : query.start + query.per_page]


# ---------------------------------------------------------------- events, chapters, needs


def _event_query(
    terms: list[str], viewer: Viewer, fuzzy: bool, expanded: Expanded, filters: dict[str, str]
) -> Q.Query:
    """Published events the viewer may see (members-only ones for members' accounts and IME),
    upcoming (not yet ended) by default, or past ones, with the chosen facet values."""
    tiers = [Q.Term("event_tier", "public")]
    if viewer.sees_members_events:
        tiers.append(Q.Term("event_tier", "members"))
    now = int(utcnow().timestamp())
    when = (
        Q.NumericRange("ends", None, now - 1)
        if period(filters) == "past"
        else Q.NumericRange("ends", now, None)
    )
    chosen = [
        Q.Term(f"f_{f}", f"{PUBLIC_TIER}|{v}") for f, v in event_facet_filters(filters).items()
    ]
    words = _every_word(terms, EVENT_TEXT_FIELDS, fuzzy, expanded)
    query = Q.And([Q.Term("kind", "event"), Q.Or(tiers), when, *words])
    return Q.And([query, *chosen]) if chosen else query


_CHAPTER_FIELDS = ("title", "body")


def _chapter_query(
    terms: list[str], viewer: Viewer, fuzzy: bool, expanded: Expanded, filters: dict[str, str]
) -> Q.Query:
    return Q.And([Q.Term("kind", "chapter"), *_every_word(terms, _CHAPTER_FIELDS, fuzzy, expanded)])


def _need_query(
    terms: list[str], viewer: Viewer, fuzzy: bool, expanded: Expanded, filters: dict[str, str]
) -> Q.Query:
    """Published needs (all public) with every word in some need field, narrowed by the filters;
    open ones only unless the "status" filter asks for another status, or "all"."""
    narrow = [
        Q.Term(need_facet_field(f), f"{PUBLIC_TIER}|{v}")
        for f, v in need_facet_filters(filters).items()
    ]
    words = _every_word(terms, NEED_TEXT_FIELDS, fuzzy, expanded)
    return Q.And([Q.Term("kind", "need"), *narrow, *words])


def _count(
    searcher: Any,
    query: Q.Query,
    counts: dict[str, dict[str, int]],
    field_of: Callable[[str], str] = "f_{}".format,
) -> None:
    """Add the public facet values of the matching documents to `counts` (every value of a
    visible event or need is visible)."""
    groups = {
        facet: sorting.FieldFacet(field_of(facet), allow_overlap=True, maptype=sorting.Count)
        for facet in counts
    }
    results = searcher.search(query, groupedby=groups, limit=1)
    for facet in counts:
        for token, number in results.groups(facet).items():
            token = token.decode() if isinstance(token, bytes) else str(token)
            tier, _, value = token.partition("|")
            if tier == PUBLIC_TIER and value:
                counts[facet][value] = counts[facet].get(value, 0) + number


def _event_facets(
    searcher: Any, found: Q.Query, total: int, query: SearchQuery, expanded: Expanded
) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {}
    if total:
        facets = {facet: {} for facet in EVENT_FACETS}
        _count(searcher, found, facets)
    when = period(query.filters)
    other = "upcoming" if when == "past" else "past"
    others = _event_query(
        query.terms, query.viewer, query.fuzzy, expanded, {**query.filters, "when": other}
    )
    facets["when"] = period_facet(when, total, sum(1 for _ in others.docs(searcher)))
    return facets


def _need_facets(
    searcher: Any, found: Q.Query, total: int, query: SearchQuery, expanded: Expanded
) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {facet: {} for facet in NEED_FACETS if facet != "status"}
    if total:
        _count(searcher, found, facets, need_facet_field)
    statuses: dict[str, int] = {}
    every = _need_query(
        query.terms, query.viewer, query.fuzzy, expanded, {**query.filters, "status": "all"}
    )
    _count(searcher, every, {"status": statuses}, need_facet_field)
    facets["status"] = status_facet(statuses)
    return facets


@dataclass(frozen=True)
class _Listed:
    """How one kind of public document is searched: the fields its words are expanded from,
    its query, its order when browsing (no words), and its facets."""

    fields: tuple[str, ...]
    query: Callable[[list[str], Viewer, bool, Expanded, dict[str, str]], Q.Query]
    browse: Any = None
    facets: Callable[..., dict[str, dict[str, int]]] | None = None


_LISTED = {
    # Browsing events lists the soonest first, needs the most recently opened first.
    "events": _Listed(
        tuple(EVENT_TEXT_FIELDS), _event_query, sorting.FieldFacet("starts"), _event_facets
    ),
    "chapters": _Listed(tuple(EVENT_TEXT_FIELDS), _chapter_query),
    "needs": _Listed(
        tuple(NEED_TEXT_FIELDS),
        _need_query,
        sorting.FieldFacet("need_opened", reverse=True),
        _need_facets,
    ),
}


def _listed_bits(
    leaf: bitsets.Leaf, kind: str, terms: list[str], viewer: Viewer, expanded: Expanded
) -> int:
    """The documents of one segment that `_event_query` (upcoming), `_chapter_query` or
    `_need_query` (open) match without filters, as a bitset: the tabs' counts, in C rather than
    Whoosh's matchers (whose numeric range over event ends alone cost ~50 ms a page)."""
    found = leaf.term("kind", DOCUMENT_KIND[kind])
    if kind == "events":
        tiers = leaf.term("event_tier", "public")
        if viewer.sees_members_events:
            tiers |= leaf.term("event_tier", "members")
        found &= tiers & leaf.at_least("ends", "event", int(utcnow().timestamp()))
    elif kind == "needs":
        for facet, value in need_facet_filters({}).items():
            found &= leaf.term(need_facet_field(facet), f"{PUBLIC_TIER}|{value}")
    fields = _CHAPTER_FIELDS if kind == "chapters" else _LISTED[kind].fields
    for term in terms:
        if not found:
            return 0
        words = _term_words(term, expanded)
        found &= functools.reduce(operator.or_, (leaf.term(f, w) for f in fields for w in words), 0)
    return found


def _run_listed(searcher: Any, query: SearchQuery, listed: _Listed) -> SearchResult:
    """Events, chapters or needs: few enough for Whoosh to visit them all."""
    terms = query.terms
    expanded = _expand(searcher, terms, list(listed.fields))
    found = listed.query(terms, query.viewer, query.fuzzy, expanded, query.filters)
    results = _collect(searcher, found, None if terms else listed.browse)
    words = _words(terms, expanded)
    kind = DOCUMENT_KIND[query.kind]
    hits = [
        listed_hit(kind, hit["obj_id"], hit.score, hit.fields(), terms, words, query.language)
        for hit in results
    ]
    total = len(results)
    facets = {}
    if query.with_facets and listed.facets:
        facets = listed.facets(searcher, found, total, query, expanded)
    return SearchResult(query.text, terms, total, _ranked_page(hits, query), facets=facets)


# ---------------------------------------------------------------- members


def _member_clauses(
    terms: list[str], viewer: Viewer, expanded: Expanded, with_own: bool = True
) -> list[Q.Query]:
    """Per word: the word in some member field, read only in the tiers the viewer holds for
    that member: everybody's for their tiers, their chapters' members' for coordinators, all of
    their own. `_member_bits` is the same rule on bitsets; keep them together.

    Only member documents have these fields, so no "kind" filter is needed; the coordinator's
    and the viewer's own clauses are one per word (not per field), which keeps Whoosh's
    matcher tree small."""
    held, own = allowed_tiers(viewer), (own_tiers(viewer) if with_own else [])
    coordinator = str(Tier.COORDINATORS) if coordinates_more(viewer) else None

    def any_field(word: str, tiers: list[str]) -> list[Q.Query]:
        return [
            _term(tier_field(group, t), word, False, expanded)
            for group in MEMBER_GROUPS
            for t in tiers
        ]

    per_term = []
    for word in terms:
        clauses = any_field(word, held)
        if coordinator:
            clauses.append(Q.And([Q.Or(any_field(word, [coordinator])), _in_coordinated(viewer)]))
        if own:
            clauses.append(Q.And([Q.Or(any_field(word, own)), Q.Term("obj_id", viewer.user_id)]))
        per_term.append(Q.Or(clauses))
    return per_term


def _facet_filter(facet: str, value: str, viewer: Viewer) -> Q.Query:
    """Documents having this facet value in a tier the viewer holds for them."""
    name = f"f_{facet}"
    clauses: list[Q.Query] = [Q.Term(name, f"{tier}|{value}") for tier in allowed_tiers(viewer)]
    if coordinates_more(viewer):
        clauses.append(
            Q.And([Q.Term(name, f"{Tier.COORDINATORS}|{value}"), _in_coordinated(viewer)])
        )
    if viewer.user_id is not None:
        clauses.append(
            Q.And(
                [
                    Q.Term("obj_id", viewer.user_id),
                    Q.Or([Q.Term(name, f"{tier}|{value}") for tier in Tier]),
                ]
            )
        )
    return Q.Or(clauses)


def _in_coordinated(viewer: Viewer) -> Q.Query:
    return Q.Or([Q.Term("coord_chapters", str(c)) for c in sorted(viewer.coordinated_chapter_ids)])


def _tier_bits(
    leaf: bitsets.Leaf, name: str, token: str, viewer: Viewer, coordinated: int, own_bit: int
) -> int:
    """The members of one segment having `<tier>|<token>` in this field, in a tier the viewer
    holds for them: the rule of `_member_clauses` and `_facet_filter`, on bitsets."""
    found = 0
    for tier in allowed_tiers(viewer):
        found |= leaf.term(name, f"{tier}{token}")
    if coordinated:
        found |= leaf.term(name, f"{Tier.COORDINATORS}{token}") & coordinated
    for tier in own_tiers(viewer) if own_bit else ():
        found |= leaf.holds(name, f"{tier}{token}", own_bit)
    return found


def _word_bits(
    leaf: bitsets.Leaf, group: str, words: list[str], viewer: Viewer, coordinated: int, own_bit: int
) -> int:
    """The members of one segment having one of these words in a weight group, in a tier the
    viewer holds for them: the rule of `_member_clauses`, on bitsets."""
    held, own = allowed_tiers(viewer), (own_tiers(viewer) if own_bit else [])
    found = 0
    for word in words:
        for tier in held:
            found |= leaf.term(tier_field(group, tier), word)
        if coordinated:
            found |= leaf.term(tier_field(group, str(Tier.COORDINATORS)), word) & coordinated
        for tier in own:
            found |= leaf.holds(tier_field(group, tier), word, own_bit)
    return found


def _coordinated_bits(leaf: bitsets.Leaf, viewer: Viewer) -> int:
    """The members of a coordinator's chapters, if that widens what the viewer reads."""
    coordinated = 0
    if coordinates_more(viewer):
        for chapter in sorted(viewer.coordinated_chapter_ids):
            coordinated |= leaf.term("coord_chapters", str(chapter))
    return coordinated


def _term_words(term: str, expanded: Expanded) -> list[str]:
    return expanded.get(term, [] if is_prefix(term) else [term])


def _member_bits(
    leaf: bitsets.Leaf,
    terms: list[str],
    viewer: Viewer,
    expanded: Expanded,
    filters: dict[str, str],
    own_bit: int,
) -> int:
    """The members of one segment matching the query for this viewer, as a bitset: the rule
    of `_member_clauses` and `_facet_filter`, counted in C instead of visited in Python."""
    coordinated = _coordinated_bits(leaf, viewer)
    matches = leaf.term("kind", "member")
    if not sees_every_name(viewer):
        matches &= leaf.term("name_tier", PUBLIC_TIER) | own_bit
    for term in terms:
        words = _term_words(term, expanded)
        found = 0
        for group in MEMBER_GROUPS:
            found |= _word_bits(leaf, group, words, viewer, coordinated, own_bit)
        matches &= found
        if not matches:
            return 0
    for facet, value in filters.items():
        matches &= _tier_bits(leaf, f"f_{facet}", f"|{value}", viewer, coordinated, own_bit)
    return matches


def _candidates(
    leaves: list[bitsets.Leaf],
    matches: list[int],
    terms: list[str],
    viewer: Viewer,
    expanded: Expanded,
    own_bits: list[int],
    limit: int,
) -> list[int]:
    """First phase of ranking many matches: the `limit` members whose words sit in the
    heaviest fields (each word counted by its best weight group; the freshest first among
    equals). Whoosh then ranks these by BM25F, which costs per document scored.

    Per word, a match falls in its best group (high, else mid, else low); every combination
    of groups over the words is a level with the sum of their boosts, taken best level first
    until `limit` members are in."""
    boosts = [MEMBER_FIELD_GROUPS[g][0] for g in MEMBER_GROUPS]
    levels = sorted(
        itertools.product(range(len(MEMBER_GROUPS)), repeat=len(terms)),
        key=lambda combo: -sum(boosts[g] for g in combo),
    )
    chosen = [0] * len(leaves)
    taken = 0
    partitions = []
    for leaf, found, own_bit in zip(leaves, matches, own_bits, strict=True):
        coordinated = _coordinated_bits(leaf, viewer)
        per_term = []
        for term in terms:
            words = _term_words(term, expanded)
            rest, parts = found, []
            for group in MEMBER_GROUPS:
                part = _word_bits(leaf, group, words, viewer, coordinated, own_bit) & rest
                parts.append(part)
                rest &= ~part
            per_term.append(parts)
        partitions.append(per_term)
    for combo in levels:
        level = []
        for per_term, found in zip(partitions, matches, strict=True):
            bits = found
            for parts, group in zip(per_term, combo, strict=True):
                bits &= parts[group]
            level.append(bits)
        size = sum(bits.bit_count() for bits in level)
        if not size:
            continue
        if taken + size > limit:  # part of this level: the freshest
            newest = set(bitsets.newest(leaves, level, "confirmed", limit - taken))
            for position, leaf in enumerate(leaves):
                for docnum in newest:
                    if leaf.offset <= docnum < leaf.offset + leaf.size:
                        chosen[position] |= 1 << (docnum - leaf.offset)
            break
        chosen = [a | b for a, b in zip(chosen, level, strict=True)]
        taken += size
        if taken == limit:
            break
    return chosen


def _bm25(searcher: Any, leaf: bitsets.Leaf, holders: int, field: str, word: str) -> Any:
    """(document, BM25F) of these documents of a segment for one word in one field: Whoosh's
    formula, defaults, statistics and field lengths."""
    idf = searcher.idf(field, word)
    average = searcher.avg_field_length(field) or 1
    for docnum in bitsets.ids(holders):
        weight = leaf.weight(field, word, docnum)
        length = leaf.reader.doc_field_length(docnum, field, 1)
        yield (
            docnum,
            idf
            * (
                (weight * (BM25_K1 + 1))
                / (weight + BM25_K1 * ((1 - BM25_B) + BM25_B * length / average))
            ),
        )


def _bm25f(
    searcher: Any,
    leaves: list[bitsets.Leaf],
    matches: list[int],
    terms: list[str],
    viewer: Viewer,
    expanded: Expanded,
) -> list[tuple[int, float]]:
    """The score Whoosh gives these members (at most SCORE_AMONG) for the words' clauses of
    `_member_clauses` without the viewer's own clause, from the cached postings. Best first,
    ties in index order, at most CANDIDATES.

    Whoosh builds a matcher tree per segment (a term look-up and block reads per field and word)
    and skips through it in Python: that was half of a search page. Its scores, summed as its
    Or and And do: per word, BM25F in every field the viewer reads on everybody's profile; for a
    coordinator, on their chapters' members, BM25F in the coordinators' fields plus 1 per
    coordinated chapter of the member (`_in_coordinated`, an unscored field weighing 1)."""
    deadline = time.monotonic() + current_app.config["SEARCH_TIME_BUDGET"]
    fields = [tier_field(group, tier) for group in MEMBER_GROUPS for tier in allowed_tiers(viewer)]
    coordinator = [tier_field(group, str(Tier.COORDINATORS)) for group in MEMBER_GROUPS]
    chapters = [str(c) for c in sorted(viewer.coordinated_chapter_ids)]
    ranked: list[tuple[int, float]] = []
    for leaf, found in zip(leaves, matches, strict=True):
        if not found:
            continue
        coordinated = _coordinated_bits(leaf, viewer) & found
        # 1 each to start with, as Whoosh gave: its matcher of the chosen members (`among`)
        # weighs 1 per document, and an And adds its parts' scores.
        scores = dict.fromkeys(bitsets.ids(found), 1.0)
        for term in terms:
            if time.monotonic() > deadline:
                # Out of SEARCH_TIME_BUDGET: these members ranked by the words scored so far.
                mark_incomplete()
                break
            words = _term_words(term, expanded)
            for field in fields:
                for word in words:
                    for docnum, score in _bm25(
                        searcher, leaf, found & leaf.term(field, word), field, word
                    ):
                        scores[docnum] += score
            if not coordinated:
                continue
            extra: dict[int, float] = {}
            for field in coordinator:
                for word in words:
                    holders = coordinated & leaf.term(field, word)
                    for docnum, score in _bm25(searcher, leaf, holders, field, word):
                        extra[docnum] = extra.get(docnum, 0.0) + score
            for docnum, score in extra.items():
                scores[docnum] += score + sum(
                    leaf.weight("coord_chapters", chapter, docnum) for chapter in chapters
                )
        ranked += [(leaf.offset + docnum, score) for docnum, score in scores.items()]
    ranked.sort(key=lambda item: (-item[1], item[0]))
    return ranked[:CANDIDATES]


def _member_facet_counts(
    leaves: list[bitsets.Leaf], matches: list[int], viewer: Viewer, own_bits: list[int]
) -> dict[str, dict[str, int]]:
    """Counts per facet value over the matching members, counting only values the viewer may
    see for each member: hidden values never show up, not even as a number."""
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
    held = set(allowed_tiers(viewer))
    held_key = tuple(sorted(held))
    coordinator = coordinates_more(viewer)
    for leaf, found, own_bit in zip(leaves, matches, own_bits, strict=True):
        if not found:
            continue
        coordinated = 0
        if coordinator:
            for chapter in sorted(viewer.coordinated_chapter_ids):
                coordinated |= leaf.term("coord_chapters", str(chapter)) & found
        own = found & own_bit
        for facet, bucket in counts.items():
            name = f"f_{facet}"
            for value, documents in leaf.values_in(name, held_key):
                number = (found & documents).bit_count()
                if number:
                    bucket[value] = number + bucket.get(value, 0)
            for tier, values in leaf.values(name).items():
                if tier in held:
                    continue
                among = (coordinated if tier == str(Tier.COORDINATORS) else 0) | own
                if not among:
                    continue
                for value, documents in values:
                    # A member counted through a held tier has no other tier for this value.
                    number = (among & documents).bit_count()
                    if number:
                        bucket[value] = number + bucket.get(value, 0)
    return counts


def _member_matches(
    searcher: Any,
    terms: list[str],
    viewer: Viewer,
    expanded: Expanded,
    filters: dict[str, str],
) -> tuple[list[bitsets.Leaf], list[int], list[int]]:
    """Per segment: the matching members (bitsets) and the viewer's own document's bit."""
    leaves = bitsets.leaves(searcher)
    own_bits = [0] * len(leaves)
    if viewer.user_id is not None:
        docnum = searcher.document_number(key=member_key(viewer.user_id))
        if docnum is not None:
            position, bit = bitsets.leaf_bit(leaves, docnum)
            if position >= 0:
                own_bits[position] = bit
    matches = [
        _member_bits(leaf, terms, viewer, expanded, filters, own)
        for leaf, own in zip(leaves, own_bits, strict=True)
    ]
    return leaves, matches, own_bits


def _run_members(searcher: Any, query: SearchQuery) -> SearchResult:
    """Totals and facet counts from bitsets; Whoosh ranks the top CANDIDATES (BM25F, skipping
    postings that cannot make the top); only the shown page is explained."""
    terms, viewer, filters = query.terms, query.viewer, query.filters
    expanded = _expand_members(searcher, terms, viewer, query.fuzzy)
    leaves, matches, own_bits = _member_matches(searcher, terms, viewer, expanded, filters)
    total = sum(m.bit_count() for m in matches)
    if not total:
        return SearchResult(query.text, terms, 0, [])
    facets = _member_facet_counts(leaves, matches, viewer, own_bits) if query.with_facets else {}
    scored = scored_terms(terms)
    if not scored:  # browsing, or prefixes only: the most recently confirmed profiles first
        ranked = [(d, 0.0) for d in bitsets.newest(leaves, matches, "confirmed", CANDIDATES)]
    elif total <= SCORE_AMONG or len(scored) <= 3:
        if total > SCORE_AMONG:
            # Many matches: BM25F over the best CANDIDATES by field weight (two phases).
            matches = _candidates(leaves, matches, scored, viewer, expanded, own_bits, CANDIDATES)
        # Score exactly these members (the words' clauses only skip to them), instead of
        # letting Whoosh intersect every word's postings with the filters to find them again.
        # On documents matching every word, the Or's score (the sum of the words') is the And's.
        # The viewer's own clause (their hidden fields) only if they are among these members.
        with_own = any(m & o for m, o in zip(matches, own_bits, strict=True))
        if with_own:
            words_query = Q.Or(_member_clauses(scored, viewer, expanded, with_own))
            among = Q.And([bitsets.among(leaves, matches), words_query])
            ranked = _collect(searcher, among).items()
        else:
            ranked = _bm25f(searcher, leaves, matches, scored, viewer, expanded)
    else:
        index_query = Q.And(_member_clauses(terms, viewer, expanded))
        if filters:
            index_query = Q.And(
                [index_query, *(_facet_filter(f, v, viewer) for f, v in sorted(filters.items()))]
            )
        if not sees_every_name(viewer):  # the rule of _member_bits
            index_query = Q.And([index_query, Q.Term("name_tier", PUBLIC_TIER)])
        ranked = _collect(searcher, index_query).items()
    now = utcnow().timestamp()
    hits: list[Hit] = []
    for docnum, score in ranked:
        leaf = next(leaf for leaf in leaves if docnum < leaf.offset + leaf.size)
        confirmed = leaf.column("confirmed")[docnum - leaf.offset]
        member_id = leaf.column("obj_id")[docnum - leaf.offset]
        stale = now - confirmed > STALE_AFTER.total_seconds()
        hits.append(
            Hit(
                "member",
                member_id,
                round(score * (STALE_FACTOR if stale else 1.0), 3),
                stale=stale,
                confirmed=confirmed,
                docnum=docnum,
            )
        )
    shown = _ranked_page(hits, query)
    words = _words(terms, expanded)
    for hit in shown:
        stored = searcher.stored_fields(hit.docnum)
        hit.why, hit.snippets = explain_member(stored, words, viewer, query.language)
    return SearchResult(query.text, terms, total, shown, facets=facets)
