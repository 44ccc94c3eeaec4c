"""Parse, filter by visibility, rank and explain. Results are reloaded from the database.

User input never reaches Whoosh's query parser: it is cut into words by the index's own analyzer,
so quotes, brackets, operators, wildcards or control characters cannot make a query fail or run
away. Every word must match some field the viewer may see (AND across words, OR across fields);
a field's text only counts where its tier is one the viewer holds for that member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from whoosh import query as Q
from whoosh.highlight import ContextFragmenter, HtmlFormatter, highlight

from network.db import utcnow
from network.visibility import Tier, Viewer
from search.indexer import get_index
from search.schema import ANALYZER, FIELD_VISIBILITY

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


def _member_query(terms: list[str], viewer: Viewer, fuzzy: bool) -> Q.Query:
    fields = ["name", *FIELD_VISIBILITY]
    visible = {f: _visible(f, viewer) for f in fields}

    def term(field_name: str, text: str) -> Q.Query:
        if fuzzy and len(text) >= 5:
            return Q.FuzzyTerm(field_name, text, maxdist=1, prefixlength=2)
        return Q.Term(field_name, text)

    per_term = [Q.Or([Q.And([term(f, t), visible[f]]) for f in fields]) for t in terms]
    return Q.And([Q.Term("kind", "member"), *per_term])


def _chapter_query(terms: list[str], fuzzy: bool) -> Q.Query:
    def term(field_name: str, text: str) -> Q.Query:
        if fuzzy and len(text) >= 5:
            return Q.FuzzyTerm(field_name, text, maxdist=1, prefixlength=2)
        return Q.Term(field_name, text)

    return Q.And(
        [Q.Term("kind", "chapter"), *[Q.Or([term("title", t), term("body", t)]) for t in terms]]
    )


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
           per_page: int = 20, language: str = "es") -> SearchResult:  # fmt: skip
    """Search one kind of document for this viewer; fall back to a fuzzy match on no results."""
    terms = query_terms(text)
    if not terms:
        return SearchResult(text, [], 0, [], message="empty")
    if kind not in KINDS:
        kind = "members"
    result = _run(terms, viewer, kind, page, per_page, language, fuzzy=False)
    if result.total == 0:
        fuzzy = _run(terms, viewer, kind, page, per_page, language, fuzzy=True)
        if fuzzy.total:
            fuzzy.corrected = text
            return fuzzy
    return result


def _run(terms: list[str], viewer: Viewer, kind: str, page: int, per_page: int, language: str,
         fuzzy: bool) -> SearchResult:  # fmt: skip
    index_query = (
        _member_query(terms, viewer, fuzzy) if kind == "members" else _chapter_query(terms, fuzzy)
    )
    searcher = get_index().searcher()
    results = searcher.search(index_query, limit=CANDIDATES)
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
    return SearchResult(" ".join(terms), terms, total, hits[start : start + per_page])
