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
from network.extensions import db
from network.members import queries as member_queries
from network.members.models import Profile
from network.visibility import Tier, Viewer
from search.indexer import get_index
from search.schema import ANALYZER, FACETS, FIELD_VISIBILITY

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
CANDIDATES = 300  # ranked hits read per query before stale demotion and paging
STALE_AFTER = timedelta(days=365)
STALE_FACTOR = 0.7
KINDS = ("members", "chapters")


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
    return Q.And([Q.Term("kind", "member"), *per_term])


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
        for facet in FACETS
    }
    results = searcher.search(query, groupedby=groups, limit=1)
    for facet in FACETS:
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


def search(text: str, viewer: Viewer, *, kind: str = "members", page: int = 1,
           per_page: int = 20, language: str = "es", filters: dict[str, str] | None = None,
           with_facets: bool = False) -> SearchResult:  # fmt: skip
    """Search one kind of document for this viewer; fall back to a fuzzy match on no results."""
    terms = query_terms(text)
    if not terms:
        return SearchResult(text, [], 0, [], message="empty")
    if kind not in KINDS:
        kind = "members"
    options = {"filters": {k: v for k, v in (filters or {}).items() if k in FACETS and v},
               "with_facets": with_facets and kind == "members"}  # fmt: skip
    result = _run(terms, viewer, kind, page, per_page, language, fuzzy=False, **options)
    if result.total == 0:
        fuzzy = _run(terms, viewer, kind, page, per_page, language, fuzzy=True, **options)
        if fuzzy.total:
            fuzzy.corrected = text
            return fuzzy
    return result


def _run(terms: list[str], viewer: Viewer, kind: str, page: int, per_page: int, language: str,
         fuzzy: bool, filters: dict[str, str], with_facets: bool) -> SearchResult:  # fmt: skip
    if kind == "members":
        index_query = _member_query(terms, viewer, fuzzy)
        if filters:
            index_query = Q.And(
                [index_query, *(_facet_filter(f, v, viewer) for f, v in sorted(filters.items()))]
            )
    else:
        index_query = _chapter_query(terms, fuzzy)
    searcher = get_index().searcher()
    # A time budget: a query that would run away returns what it found so far instead.
    collector = TimeLimitCollector(
        searcher.collector(limit=CANDIDATES),
        timelimit=current_app.config["SEARCH_TIME_BUDGET"],
        use_alarm=False,  # SIGALRM only works in the main thread; web requests are not
    )
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
        else:
            item.why = [Why("chapter", stored.get("title", ""), " ".join(terms))]
        hits.append(item)
    hits.sort(key=lambda h: (-h.score, -h.confirmed))  # ties go to the fresher profile
    total = len(results)
    start = (max(page, 1) - 1) * per_page
    facets = facet_counts(searcher, index_query, viewer) if with_facets and total else {}
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
    else:
        chapters = db.session.scalars(
            select(Chapter).where(Chapter.id.in_(ids)).options(selectinload(Chapter.region))
        ).all()
        by_id = {c.id: c for c in chapters}
        rows = [{"hit": h, "chapter": by_id[h.obj_id]} for h in result.hits if h.obj_id in by_id]
    return rows
