"""Parse, filter by visibility, rank and explain. Results are reloaded from the database.

User input never reaches Whoosh's query parser: it is cut into words by the index's own analyzer,
so quotes, brackets, operators, wildcards or control characters cannot make a query fail or run
away. Every word must match some field the viewer may see (AND across words, OR across fields);
a field's text only counts where its tier is one the viewer holds for that member.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from whoosh import query as Q
from whoosh import sorting
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.highlight import ContextFragmenter, HtmlFormatter, highlight

from chapters.models import Chapter
from network.db import utcnow
from network.events.models import Event, EventStatus, EventVisibility
from network.extensions import db
from network.members import queries as member_queries
from network.members.models import Profile
from network.visibility import Tier, Viewer
from search.indexer import get_index
from search.schema import ANALYZER, EVENT_FACETS, EVENT_TEXT_FIELDS, FACETS, FIELD_VISIBILITY

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
CANDIDATES = 300  # ranked hits read per query before stale demotion and paging
STALE_AFTER = timedelta(days=365)
STALE_FACTOR = 0.7
KINDS = ("members", "events", "chapters")
# Filters each kind accepts; "when" (upcoming, the default, or past) is computed at query time.
EVENT_FILTERS = (*EVENT_FACETS, "when")


@dataclass
class Why:
    field: str
    matched: str
    query: str
    via: str = "text"


@dataclass
class Hit:
    kind: str
    obj_id: int
    score: float
    why: list[Why] = field(default_factory=list)
    snippets: dict[str, str] = field(default_factory=dict)
    stale: bool = False
    confirmed: int = 0


@dataclass
class SearchResult:
    query: str
    terms: list[str]
    total: int
    hits: list[Hit]
    corrected: str | None = None
    message: str | None = None
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def query_terms(text: str) -> list[str]:
    """The words of a query as the index sees them (folded, singular), at most MAX_TERMS."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in (text or "")[:MAX_QUERY_CHARS])
    terms = [token.text for token in ANALYZER(cleaned)]
    return list(dict.fromkeys(t for t in terms if len(t) > 1))[:MAX_TERMS]


def _allowed_tiers(viewer: Viewer) -> list[str]:
    return [str(t) for t in viewer.tiers_for(-1)]


def _visible(field_name: str, viewer: Viewer) -> Q.Query:
    """Documents whose `field_name` this viewer may see."""
    tier_field = f"{field_name}_tier"
    clauses: list[Q.Query] = [Q.Term(tier_field, t) for t in _allowed_tiers(viewer)]
    chapters = viewer.coordinated_chapter_ids
    if chapters and Tier.COORDINATORS not in viewer.tiers_for(-1):
        clauses.append(
            Q.And([Q.Term(tier_field, str(Tier.COORDINATORS)),
                   Q.Or([Q.Term("coord_chapters", str(c)) for c in chapters])])
        )  # fmt: skip
    if viewer.user_id is not None:
        clauses.append(Q.Term("obj_id", viewer.user_id))
    return Q.Or(clauses)


def _term(field_name: str, text: str, fuzzy: bool) -> Q.Query:
    """An exact term, or one spelling mistake away on the fallback pass (words of 5+ letters)."""
    if fuzzy and len(text) >= 5:
        return Q.FuzzyTerm(field_name, text, maxdist=1, prefixlength=2)
    return Q.Term(field_name, text)


def _member_query(terms: list[str], viewer: Viewer, fuzzy: bool) -> Q.Query:
    fields = ["name", *FIELD_VISIBILITY]
    visible = {f: _visible(f, viewer) for f in fields}

    per_term = [Q.Or([Q.And([_term(f, t, fuzzy), visible[f]]) for f in fields]) for t in terms]
    return Q.And([Q.Term("kind", "member"), *per_term]) if per_term else Q.Term("kind", "member")


def _event_query(terms: list[str], viewer: Viewer, fuzzy: bool, when: str) -> Q.Query:
    """Published events the viewer may see: members-only ones for members' accounts and IME.
    Upcoming (not yet ended) by default, or past ones."""
    tiers = [Q.Term("event_tier", "public")]
    if viewer.is_member or viewer.is_ime:
        tiers.append(Q.Term("event_tier", "members"))
    now = int(utcnow().timestamp())
    period = (
        Q.NumericRange("ends", None, now - 1)
        if when == "past"
        else Q.NumericRange("ends", now, None)
    )
    per_term = [Q.Or([_term(f, t, fuzzy) for f in EVENT_TEXT_FIELDS]) for t in terms]
    return Q.And([Q.Term("kind", "event"), Q.Or(tiers), period, *per_term])


def _chapter_query(terms: list[str], fuzzy: bool) -> Q.Query:
    return Q.And(
        [
            Q.Term("kind", "chapter"),
            *[Q.Or([_term("title", t, fuzzy), _term("body", t, fuzzy)]) for t in terms],
        ]
    )


def _facet_filter(facet: str, value: str, viewer: Viewer) -> Q.Query:
    """Documents having this facet value in a tier the viewer holds for them."""
    name = f"f_{facet}"
    clauses: list[Q.Query] = [Q.Term(name, f"{tier}|{value}") for tier in _allowed_tiers(viewer)]
    if viewer.coordinated_chapter_ids and Tier.COORDINATORS not in viewer.tiers_for(-1):
        clauses.append(
            Q.And([Q.Term(name, f"{Tier.COORDINATORS}|{value}"), _in_coordinated(viewer)])
        )
    if viewer.user_id is not None:
        clauses.append(
            Q.And([Q.Term("obj_id", viewer.user_id),
                   Q.Or([Q.Term(name, f"{tier}|{value}") for tier in Tier])])
        )  # fmt: skip
    return Q.Or(clauses)


def _in_coordinated(viewer: Viewer) -> Q.Query:
    return Q.Or([Q.Term("coord_chapters", str(c)) for c in sorted(viewer.coordinated_chapter_ids)])


def _count(searcher: Any, query: Q.Query, tiers: set[str],
           counts: dict[str, dict[str, int]]) -> None:  # fmt: skip
    groups = {
        facet: sorting.FieldFacet(f"f_{facet}", allow_overlap=True, maptype=sorting.Count)
        for facet in counts
    }
    results = searcher.search(query, groupedby=groups, limit=1)
    for facet in counts:
        for token, number in results.groups(facet).items():
            token = token.decode() if isinstance(token, bytes) else str(token)
            tier, _, value = token.partition("|")
            if tier in tiers and value:
                counts[facet][value] = counts[facet].get(value, 0) + number


def facet_counts(searcher: Any, query: Q.Query, viewer: Viewer) -> dict[str, dict[str, int]]:
    """Counts per facet value over the matching members, counting only values the viewer may
    see for each member: hidden values never show up, not even as a number."""
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
    held = {str(t) for t in viewer.tiers_for(-1)}
    _count(searcher, query, held, counts)
    extra = set()
    if viewer.coordinated_chapter_ids and str(Tier.COORDINATORS) not in held:
        _count(searcher, Q.And([query, _in_coordinated(viewer)]), {str(Tier.COORDINATORS)}, counts)
        extra.add(str(Tier.COORDINATORS))
    if viewer.user_id is not None:
        own = {str(t) for t in Tier} - held - extra
        _count(searcher, Q.And([query, Q.Term("obj_id", viewer.user_id)]), own, counts)
    return counts


def _explain(
    stored: dict[str, Any], terms: list[str], viewer: Viewer, language: str
) -> tuple[list[Why], dict[str, str]]:
    """Which visible fields hold which query words, and highlighted snippets of them."""
    why: list[Why] = []
    snippets: dict[str, str] = {}
    tiers = json.loads(stored.get("tiers_blob") or "{}")
    held = viewer.tiers_for(stored["obj_id"])
    formatter = HtmlFormatter(tagname="mark", between=" … ")
    for name in ("name", *FIELD_VISIBILITY):
        text = stored.get(name) or ""
        if not text:
            continue
        if name != "name" and Tier(tiers.get(FIELD_VISIBILITY[name], "private")) not in held:
            continue
        tokens = {t.text for t in ANALYZER(text)}
        matched = [t for t in terms if t in tokens]
        if not matched:
            continue
        if name == "expertise":
            for query_word in matched:
                line = next(
                    (
                        ln
                        for ln in text.splitlines()
                        if query_word in {t.text for t in ANALYZER(ln)}
                    ),
                    query_word,
                )
                parts = line.split("\t")
                if len(parts) == 1:  # a free tag
                    why.append(Why("expertise", parts[0], query_word))
                else:  # a concept, named in the viewer's language
                    label = parts[1] if language == "en" else parts[0]
                    why.append(Why("expertise", label, query_word, "concept"))
        else:
            why.append(Why(name, ", ".join(matched), " ".join(matched)))
        if name in {"headline", "bio", "position", "education"}:
            snippet = highlight(
                text, frozenset(matched), ANALYZER, ContextFragmenter(maxchars=160, surround=40),
                formatter, top=2,
            )  # fmt: skip
            if snippet:
                snippets[name] = snippet
    return why, snippets


def event_facet_counts(searcher: Any, query: Q.Query) -> dict[str, dict[str, int]]:
    """Counts over matching events; every value of a visible event is visible."""
    counts: dict[str, dict[str, int]] = {facet: {} for facet in EVENT_FACETS}
    _count(searcher, query, {str(Tier.PUBLIC)}, counts)
    return counts


def _explain_event(stored: dict[str, Any], terms: list[str],
                   language: str) -> tuple[list[Why], dict[str, str]]:  # fmt: skip
    """Which of an event's fields hold the query words; topics are named as concepts."""
    why: list[Why] = []
    snippets: dict[str, str] = {}
    for name in EVENT_TEXT_FIELDS:
        text = stored.get(name) or ""
        matched = [t for t in terms if t in {tok.text for tok in ANALYZER(text)}]
        if not matched:
            continue
        if name == "topics":
            for word in matched:
                line = next((ln for ln in text.splitlines()
                             if word in {t.text for t in ANALYZER(ln)}), word)  # fmt: skip
                parts = line.split("\t")
                label = parts[1] if language == "en" and len(parts) > 1 else parts[0]
                why.append(Why("topics", label, word, "concept"))
        else:
            why.append(Why(name, ", ".join(matched), " ".join(matched)))
        if name == "body":
            snippet = highlight(
                text, frozenset(matched), ANALYZER, ContextFragmenter(maxchars=160, surround=40),
                HtmlFormatter(tagname="mark", between=" … "), top=2,
            )  # fmt: skip
            if snippet:
                snippets[name] = snippet
    return why, snippets


def search(text: str, viewer: Viewer, *, kind: str = "members", page: int = 1,
           per_page: int = 20, language: str = "es", filters: dict[str, str] | None = None,
           with_facets: bool = False) -> SearchResult:  # fmt: skip
    """Search one kind of document for this viewer; fall back to a fuzzy match on no results."""
    terms = query_terms(text)
    if kind not in KINDS:
        kind = "members"
    allowed = FACETS if kind == "members" else EVENT_FILTERS if kind == "events" else ()
    chosen = {k: v for k, v in (filters or {}).items() if k in allowed and v}
    if chosen.get("when") not in {None, "upcoming", "past"}:
        del chosen["when"]
    # No words: browsing is allowed over events, and over members once a filter narrows them
    # (the mentor search: open to mentoring, a concept, a language, a time zone).
    browsing = not terms and (kind == "events" or (kind == "members" and chosen))
    if not terms and not browsing:
        return SearchResult(text, [], 0, [], message="empty")
    options = {"filters": chosen, "with_facets": with_facets and kind != "chapters"}
    result = _run(terms, viewer, kind, page, per_page, language, fuzzy=False, **options)
    if result.total == 0 and terms:
        fuzzy = _run(terms, viewer, kind, page, per_page, language, fuzzy=True, **options)
        if fuzzy.total:
            fuzzy.corrected = text
            return fuzzy
    return result


def kind_counts(text: str, viewer: Viewer) -> dict[str, int]:
    """How many results each kind has for these words (upcoming events), for the kind tabs.

    The same visibility-filtered queries as the search itself, so a hidden field cannot show
    up here as a number either."""
    terms = query_terms(text)
    if not terms:
        return {}
    queries = {
        "members": _member_query(terms, viewer, False),
        "events": _event_query(terms, viewer, False, "upcoming"),
        "chapters": _chapter_query(terms, False),
    }
    searcher = get_index().searcher()
    return {kind: len(searcher.search(query, limit=1)) for kind, query in queries.items()}


def _run(terms: list[str], viewer: Viewer, kind: str, page: int, per_page: int, language: str,
         fuzzy: bool, filters: dict[str, str], with_facets: bool) -> SearchResult:  # fmt: skip
    chosen = [Q.Term(f"f_{f}", f"{Tier.PUBLIC}|{v}") for f, v in sorted(filters.items())
              if f in EVENT_FACETS]  # fmt: skip
    if kind == "members":
        index_query = _member_query(terms, viewer, fuzzy)
        if filters:
            index_query = Q.And(
                [index_query, *(_facet_filter(f, v, viewer) for f, v in sorted(filters.items()))]
            )
    elif kind == "events":
        index_query = _event_query(terms, viewer, fuzzy, filters.get("when", "upcoming"))
        if chosen:
            index_query = Q.And([index_query, *chosen])
    else:
        index_query = _chapter_query(terms, fuzzy)
    searcher = get_index().searcher()
    # A time budget: a query that would run away returns what it found so far instead.
    collector = TimeLimitCollector(
        searcher.collector(limit=CANDIDATES),
        timelimit=current_app.config["SEARCH_TIME_BUDGET"],
        use_alarm=False,  # SIGALRM only works in the main thread; web requests are not
    )
    if not terms:  # browsing: freshest profiles first, soonest events first
        order = (sorting.FieldFacet("starts") if kind == "events"
                 else sorting.FieldFacet("confirmed", reverse=True))  # fmt: skip
        collector = TimeLimitCollector(
            searcher.collector(limit=CANDIDATES, sortedby=order),
            timelimit=current_app.config["SEARCH_TIME_BUDGET"], use_alarm=False,
        )  # fmt: skip
    with contextlib.suppress(TimeLimit):
        searcher.search_with_collector(index_query, collector)
    results = collector.results()
    now = utcnow().timestamp()
    hits: list[Hit] = []
    for hit in results:
        stored = hit.fields()
        stale = (
            kind == "members" and now - stored.get("confirmed", now) > STALE_AFTER.total_seconds()
        )
        score = float(hit.score) * (STALE_FACTOR if stale else 1.0)
        item = Hit(stored["kind"], stored["obj_id"], round(score, 3), stale=stale,
                   confirmed=stored.get("confirmed", 0))  # fmt: skip
        if kind == "members":
            item.why, item.snippets = _explain(stored, terms, viewer, language)
        elif kind == "events":
            item.why, item.snippets = _explain_event(stored, terms, language)
            item.confirmed = -stored.get("starts", 0)  # ties: the sooner event first
        else:
            item.why = [Why("chapter", stored.get("title", ""), " ".join(terms))]
        hits.append(item)
    if terms:
        hits.sort(key=lambda h: (-h.score, -h.confirmed))  # ties go to the fresher profile
    total = len(results)
    start = (max(page, 1) - 1) * per_page
    facets: dict[str, dict[str, int]] = {}
    if with_facets and kind == "events":
        facets = event_facet_counts(searcher, index_query) if total else {}
        # Both periods are always offered, each with its count, so past events can be found.
        when = filters.get("when", "upcoming")
        other = "upcoming" if when == "past" else "past"
        other_query = _event_query(terms, viewer, fuzzy, other)
        if chosen:
            other_query = Q.And([other_query, *chosen])
        facets["when"] = {when: total, other: len(searcher.search(other_query, limit=1))}
    elif with_facets and total:
        facets = facet_counts(searcher, index_query, viewer)
    return SearchResult(" ".join(terms), terms, total, hits[start : start + per_page],
                        facets=facets)  # fmt: skip


def load_results(result: SearchResult, viewer: Any, language: str) -> list[dict[str, Any]]:
    """Reload the ranked hits from the database, in rank order, as the viewer may see them."""
    ids = [hit.obj_id for hit in result.hits]
    if not ids:
        return []
    rows: list[dict[str, Any]] = []
    if result.hits[0].kind == "member":
        profiles = db.session.scalars(
            member_queries.eager_profiles(
                member_queries.listed_members().where(Profile.user_id.in_(ids))
            )
        ).all()
        by_id = {p.user_id: p for p in profiles}
        for hit in result.hits:
            profile = by_id.get(hit.obj_id)
            data = member_queries.present_profile(profile, viewer, language) if profile else None
            if data is not None:
                rows.append({"hit": hit, "member": data})
    elif result.hits[0].kind == "event":
        # The database decides again: an event unpublished since it was indexed is not shown.
        query = select(Event).where(Event.id.in_(ids), Event.status == EventStatus.PUBLISHED)
        if not (viewer.is_member or viewer.is_ime):
            query = query.where(Event.visibility == EventVisibility.PUBLIC)
        events = db.session.scalars(
            query.options(selectinload(Event.hosts), selectinload(Event.topics))
        ).all()
        by_event = {e.id: e for e in events}
        rows = [
            {"hit": h, "event": by_event[h.obj_id]} for h in result.hits if h.obj_id in by_event
        ]
    else:
        chapters = db.session.scalars(
            select(Chapter).where(Chapter.id.in_(ids)).options(selectinload(Chapter.region))
        ).all()
        by_id = {c.id: c for c in chapters}
        rows = [{"hit": h, "chapter": by_id[h.obj_id]} for h in result.hits if h.obj_id in by_id]
    return rows
