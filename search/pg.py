"""The PostgreSQL full-text backend (`SEARCH_BACKEND=postgres`), for several app servers.

A Whoosh index lives on one machine's disk; these documents live in the database every app
server already shares, so any number of them search the same, current data. The contract is
Whoosh's (`search.queries`), and the same tests hold both to it:

- the documents are `search.documents`' own, written by the same indexer hooks, retried the
  same way (`search_pending`) when a write fails;
- a member's text sits in the tsvector column of its visibility tier, weighted by field group
  (A: name, expertise, headline; B: where and what they do; C: bio and contact), and a query
  reads only the columns of the tiers the viewer holds: everybody's, their chapters' members'
  for coordinators, all of their own. Facet values carry their tier the same way;
- words are folded by the `redglobal` configuration (`unaccent`, then `simple`), and the query
  side asks for the analyzer's singular with its plural forms, so "ingenieros" finds
  "ingeniero", "lopez" finds "López" and "pena" finds "Peña"; concept labels in both languages
  and their synonyms are in the documents already, which is the concept expansion;
- a word ending in `*` is a prefix (`:*`); a query with no result is tried again with every
  indexed word one edit away (`levenshtein` over `search_words`);
- why a result matched, and its snippets, come from `search.queries`' explainers over the
  stored texts, which check each field's tier again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, current_app
from psycopg.errors import QueryCanceled
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from network.config import ConfigurationError
from network.db import db, utcnow
from network.visibility import Tier, Viewer
from search.documents import member_key
from search.models import SEARCH_CONFIGURATION, TSV_COLUMNS, SearchDocument, SearchWord
from search.queries import (
    CANDIDATES,
    DEFAULT_NEED_STATUS,
    MAX_EXPANSIONS,
    STALE_AFTER,
    STALE_FACTOR,
    Hit,
    SearchResult,
    Why,
    _allowed_tiers,
    _coordinates_more,
    _explain,
    _explain_event,
    _explain_need,
    _own_tiers,
    mark_incomplete,
)
from search.schema import (
    ANALYZER,
    EVENT_FACETS,
    FACETS,
    MEMBER_FIELD_GROUPS,
    NEED_FACETS,
    PUBLIC_TIER,
    tier_field,
)

WEIGHT_LETTERS = ("A", "B", "C", "D")
# What goes into each weight, per kind of document (members: per tier, see `_texts`).
MEMBER_WEIGHTS = dict(
    zip(MEMBER_FIELD_GROUPS, WEIGHT_LETTERS, strict=False)
)  # high A, mid B, low C
FIELD_WEIGHTS: dict[str, dict[str, tuple[str, ...]]] = {
    "event": {"A": ("title",), "B": ("topics",), "C": ("place",), "D": ("body",)},
    "chapter": {"A": ("title",), "D": ("body",)},
    "need": {
        "A": ("need_title",),
        "B": ("need_required",),
        "C": ("need_nice", "need_org", "need_sector", "need_place"),
        "D": ("need_body",),
    },
}
# ts_rank's weights, in its order {D, C, B, A}: the Whoosh field boosts, the heaviest as 1.0.
RANK_WEIGHTS = {
    "member": "{0.3, 0.36, 0.52, 1.0}",  # groups 2.5 / 1.3 / 0.9
    "event": "{0.33, 0.4, 0.83, 1.0}",  # title 3, topics 2.5, place 1.2, body 1
    "chapter": "{0.33, 0.4, 0.83, 1.0}",
    "need": "{0.33, 0.5, 0.83, 1.0}",  # title 3, required 2.5, nice/org/sector/place ~1.5, body 1
}
log = logging.getLogger(__name__)
T = TypeVar("T")
TIERS = tuple(str(tier) for tier in Tier)
MAX_WORD = 100
BATCH = 500
_PLAIN_WORD = re.compile(r"\w+")
_TSVECTOR_SQL = " || ".join(
    f"setweight(to_tsvector('{SEARCH_CONFIGURATION}', :{{tier}}_{w}), '{w}')"
    for w in WEIGHT_LETTERS
)
_UPSERT = text(
    f"""
    INSERT INTO search_documents (key, kind, obj_id, confirmed, starts, ends, opened, event_tier,
        name_tier, coord_chapters, facets, stored, {", ".join(TSV_COLUMNS.values())})
    VALUES (:key, :kind, :obj_id, :confirmed, :starts, :ends, :opened, :event_tier, :name_tier,
        CAST(:coord_chapters AS integer[]), CAST(:facets AS text[]), CAST(:stored AS jsonb),
        {", ".join(_TSVECTOR_SQL.format(tier=tier) for tier in TIERS)})
    ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, obj_id = excluded.obj_id,
        confirmed = excluded.confirmed, starts = excluded.starts, ends = excluded.ends,
        opened = excluded.opened, event_tier = excluded.event_tier,
        name_tier = excluded.name_tier, coord_chapters = excluded.coord_chapters,
        facets = excluded.facets, stored = excluded.stored,
        {", ".join(f"{c} = excluded.{c}" for c in TSV_COLUMNS.values())}
    """
)
_ADD_WORDS = text(
    "INSERT INTO search_words (word) SELECT unnest(CAST(:words AS text[])) ON CONFLICT DO NOTHING"
)


# ---------------------------------------------------------------- writing


def _texts(document: dict[str, Any]) -> dict[str, str]:
    """The text of each (tier, weight) of a document, as `_UPSERT`'s parameters."""
    texts = {f"{tier}_{w}": "" for tier in TIERS for w in WEIGHT_LETTERS}
    if document["kind"] == "member":
        for group, letter in MEMBER_WEIGHTS.items():
            for tier in TIERS:
                texts[f"{tier}_{letter}"] = document.get(tier_field(group, tier)) or ""
    else:
        for letter, names in FIELD_WEIGHTS[document["kind"]].items():
            parts = (document.get(name) or "" for name in names)
            texts[f"{PUBLIC_TIER}_{letter}"] = "\n".join(p for p in parts if p)
    return texts


def _stored(document: dict[str, Any]) -> dict[str, Any]:
    """What explanations read: the plain fields, not the tier fields nor facets."""
    return {
        name: value
        for name, value in document.items()
        if "__" not in name and not name.startswith(("f_", "nf_")) and name != "coord_chapters"
    }


def _facets(document: dict[str, Any]) -> list[str]:
    tokens = []
    for name, value in document.items():
        if name.startswith(("f_", "nf_")) and value:
            tokens.extend(f"{name}|{token}" for token in value.split(","))
    return tokens


def _row(document: dict[str, Any]) -> dict[str, Any]:
    chapters = document.get("coord_chapters") or ""
    return {
        "key": document["key"],
        "kind": document["kind"],
        "obj_id": document["obj_id"],
        "confirmed": document.get("confirmed") or 0,
        "starts": document.get("starts"),
        "ends": document.get("ends"),
        "opened": document.get("need_opened"),
        "event_tier": document.get("event_tier"),
        "name_tier": document.get("name_tier"),
        "coord_chapters": [int(c) for c in chapters.split(",") if c],
        "facets": _facets(document),
        "stored": json.dumps(_stored(document)),
        **_texts(document),
    }


def _words_of(document: dict[str, Any]) -> set[str]:
    """The analyzer's words of a document's texts, for the fuzzy pass's word list."""
    words: set[str] = set()
    for value in _texts(document).values():
        if value:
            words.update(t.text for t in ANALYZER(value) if len(t.text) <= MAX_WORD)
    return words


class PostgresIndex:
    """The app's search documents in PostgreSQL: what `search.indexer` writes to."""

    def __init__(self, app: Flask) -> None:
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            raise ConfigurationError(
                "SEARCH_BACKEND=postgres searches the PostgreSQL database itself: set "
                "DATABASE_URL to a postgresql+psycopg:// URL, or leave SEARCH_BACKEND unset "
                "for the Whoosh index"
            )

    def _upsert(self, connection: Connection, documents: list[dict[str, Any]]) -> None:
        # Sorted: two app servers writing overlapping documents or words lock the rows in the
        # same order, so they wait for each other instead of deadlocking.
        connection.execute(_UPSERT, [_row(d) for d in sorted(documents, key=lambda d: d["key"])])
        words = set().union(*(_words_of(d) for d in documents))
        if words:
            connection.execute(_ADD_WORDS, {"words": sorted(words)})

    def write(self, updates: list[dict[str, Any]], deletions: list[str]) -> None:
        """Apply documents in one transaction: searches see all of them or none."""
        if not updates and not deletions:
            return
        with db.engine.begin() as connection:
            if deletions:
                connection.execute(delete(SearchDocument).where(SearchDocument.key.in_(deletions)))
            if updates:
                self._upsert(connection, updates)

    def rebuild(self, documents: Iterable[dict[str, Any]], progress: Callable[[int], None]) -> int:
        """Replace every document in one transaction: searches see the old set until it
        commits, then the new one."""
        count = 0
        batch: list[dict[str, Any]] = []
        with db.engine.begin() as connection:
            connection.execute(delete(SearchDocument))
            for document in documents:
                batch.append(document)
                if len(batch) == BATCH:
                    self._upsert(connection, batch)
                    count += len(batch)
                    progress(len(batch))
                    batch = []
            if batch:
                self._upsert(connection, batch)
                count += len(batch)
                progress(len(batch))
            connection.execute(text("ANALYZE search_documents"))
        return count

    def close(self) -> None:
        """Nothing to close: the documents are read through the app's database sessions."""

    def doc_count(self) -> int:
        return db.session.scalar(select(func.count()).select_from(SearchDocument)) or 0

    def kinds(self) -> dict[str, int]:
        rows = db.session.execute(
            select(SearchDocument.kind, func.count()).group_by(SearchDocument.kind)
        )
        return {kind: count for kind, count in rows}

    def size_bytes(self) -> int:
        sizes = db.session.execute(
            text(
                "SELECT pg_total_relation_size('search_documents') + "
                "pg_total_relation_size('search_words')"
            )
        )
        return int(sizes.scalar() or 0)


# ---------------------------------------------------------------- querying


def _quote(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(term: str, words: list[str] | None = None) -> str:
    """A query word as tsquery text: a prefix; or the word (or the words one edit away) with
    the plural forms the analyzer folds into it (`FoldFilter`: -s, and -es after a consonant).
    Documents keep their words as written, so the query asks for each form."""
    if term.endswith("*"):
        return f"{_quote(term[:-1])}:*"
    forms: list[str] = []
    for word in words or [term]:
        forms.append(word)
        if _PLAIN_WORD.fullmatch(word):
            forms.extend((word + "s", word + "es"))
    return "(" + " | ".join(_quote(f) for f in dict.fromkeys(forms)) + ")"


def _fuzzy_words(term: str) -> list[str]:
    """The indexed words one edit away from a word of 5+ letters with the same first two
    letters (Whoosh's `terms_within(..., 1, prefix=2)`), the word itself first."""
    if term.endswith("*") or len(term) < 5:
        return [term]
    near = db.session.scalars(
        select(SearchWord.word)
        .where(
            SearchWord.word.startswith(term[:2], autoescape=True),
            func.length(SearchWord.word).between(len(term) - 1, len(term) + 1),
            func.levenshtein(SearchWord.word, term) <= 1,
            SearchWord.word != term,
        )
        .order_by(SearchWord.word)
        .limit(MAX_EXPANSIONS - 1)
    ).all()
    return [term, *near]


class _Sql:
    """A WHERE clause and its parameters, built from parts."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: dict[str, Any] = {}
        self._names = 0

    def param(self, value: Any) -> str:
        self._names += 1
        name = f"p{self._names}"
        self.params[name] = value
        return f":{name}"

    def tsquery(self, query: str) -> str:
        return f"to_tsquery('{SEARCH_CONFIGURATION}', {self.param(query)})"

    @property
    def where(self) -> str:
        return " AND ".join(self.clauses) or "TRUE"


class _MemberRules:
    """Who reads which tier of which member: `search.queries._member_clauses` in SQL."""

    def __init__(self, viewer: Viewer, sql: _Sql) -> None:
        self.held = _allowed_tiers(viewer)
        self.own = _own_tiers(viewer)
        self.coordinates = _coordinates_more(viewer)
        self.sql = sql
        self.chapters = (
            sql.param(sorted(viewer.coordinated_chapter_ids)) if self.coordinates else None
        )
        self.own_key = sql.param(member_key(viewer.user_id)) if self.own else None

    def in_coordinated(self) -> str:
        return f"d.coord_chapters && CAST({self.chapters} AS integer[])"

    def _visible(self, held: list[str], coordinated: str, own: str) -> str:
        """OR of: what any held tier allows; `coordinated` for members of the coordinator's
        chapters; `own` on the viewer's own document."""
        arms = list(held)
        if self.coordinates:
            arms.append(f"({self.in_coordinated()} AND {coordinated})")
        if self.own:
            arms.append(f"(d.key = {self.own_key} AND {own})")
        return "(" + " OR ".join(arms) + ")"

    def text(self, query: str) -> str:
        """Some column the viewer reads for this member holds the query."""
        tsquery = self.sql.tsquery(query)
        return self._visible(
            [f"d.{TSV_COLUMNS[t]} @@ {tsquery}" for t in self.held],
            f"d.tsv_coordinators @@ {tsquery}",
            "(" + " OR ".join(f"d.{TSV_COLUMNS[t]} @@ {tsquery}" for t in self.own) + ")",
        )

    def facet(self, facet: str, value: str) -> str:
        """The member has this facet value in a tier the viewer reads for them."""

        def tokens(tiers: Iterable[str]) -> str:
            return f"CAST({self.sql.param([f'f_{facet}|{t}|{value}' for t in tiers])} AS text[])"

        own = f"d.facets && {tokens(self.own)}" if self.own else ""
        coordinated = f"d.facets && {tokens(['coordinators'])}" if self.coordinates else ""
        return self._visible([f"d.facets && {tokens(self.held)}"], coordinated, own)

    def token_visible(self) -> str:
        """For facet counts: a facet token (`tok`) in a tier the viewer reads for the member."""
        tier = "split_part(tok, '|', 2)"
        held = f"{tier} = ANY(CAST({self.sql.param(self.held)} AS text[]))"
        return self._visible([held], f"{tier} = 'coordinators'", "TRUE")

    def rank(self, query: str) -> str:
        """Relevance over the columns the viewer reads for the member (a hidden word adds
        nothing)."""
        weights = f"'{RANK_WEIGHTS['member']}'"
        tsquery = self.sql.tsquery(query)
        parts = [f"ts_rank({weights}, d.{TSV_COLUMNS[t]}, {tsquery})" for t in self.held]
        if self.coordinates:
            parts.append(
                f"CASE WHEN {self.in_coordinated()} THEN "
                f"ts_rank({weights}, d.tsv_coordinators, {tsquery}) ELSE 0 END"
            )
        if self.own:
            own = " + ".join(f"ts_rank({weights}, d.{TSV_COLUMNS[t]}, {tsquery})" for t in self.own)
            parts.append(f"CASE WHEN d.key = {self.own_key} THEN {own} ELSE 0 END")
        return " + ".join(parts)


def _queries(terms: list[str], fuzzy: bool) -> tuple[list[str], dict[str, list[str]]]:
    """The tsquery text of each word, and what fuzzy words stand for (for explanations)."""
    expanded = {t: _fuzzy_words(t) for t in terms} if fuzzy else {}
    return [_tsquery(t, expanded.get(t)) for t in terms], expanded


def _any_of(queries: list[str]) -> str:
    """All the words as one OR query, for ranking (each matched word adds to the rank)."""
    return " | ".join(queries)


def _hit_words(
    terms: list[str], expanded: dict[str, list[str]], stored: dict[str, Any]
) -> list[str]:
    """The document's words each query word matched: itself, a fuzzy word's neighbours, and a
    prefix's completions among the document's own words (the explainers check each field's
    tier, so a completion found in a hidden field is never shown)."""
    words: list[str] = []
    own_words: set[str] = set()
    if any(t.endswith("*") for t in terms):
        own_words = {
            token.text
            for value in stored.values()
            if isinstance(value, str)
            for token in ANALYZER(value)
        }
    for term in terms:
        if term.endswith("*"):
            words.extend(sorted(w for w in own_words if w.startswith(term[:-1])))
        else:
            words.extend(expanded.get(term, [term]))
    return list(dict.fromkeys(words))


def _page(page: int, per_page: int) -> tuple[int, int]:
    """LIMIT and OFFSET of a page among the CANDIDATES ranked results (the pages offered stop
    there, as with Whoosh)."""
    start = (max(page, 1) - 1) * per_page
    return max(0, min(per_page, CANDIDATES - start)), start


def _fetch(sql: _Sql, order: str, score: str, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of ranked documents and the total, in one pass over the matches: the ranking
    has to visit every match anyway, so the total comes with it (`count(*) OVER ()`), and the
    stored texts are read for the page's rows only."""
    limit, offset = _page(page, per_page)
    if not limit:
        return [], _count(sql)
    rows = db.session.execute(
        text(
            f"SELECT d.key, d.kind, d.obj_id, d.confirmed, d.starts, d.opened, d.stored, "
            f"p.score, p.total FROM (SELECT d.key, {score} AS score, count(*) OVER () AS total "
            f"FROM search_documents d WHERE {sql.where} ORDER BY {order}, d.key "
            f"LIMIT {limit} OFFSET {offset}) p JOIN search_documents d ON d.key = p.key "
            f"ORDER BY {order.replace('score', 'p.score')}, d.key"
        ),
        sql.params,
    ).all()
    if rows:
        return rows, rows[0].total
    return [], (_count(sql) if offset else 0)


def _count(sql: _Sql) -> int:
    return db.session.execute(
        text(f"SELECT count(*) FROM search_documents d WHERE {sql.where}"), sql.params
    ).scalar_one()


def _token_counts(sql: _Sql, visible: str = "TRUE") -> dict[str, dict[str, int]]:
    """How many matching documents hold each facet value, by facet field."""
    rows = db.session.execute(
        text(
            f"SELECT tok, count(*) FROM search_documents d, unnest(d.facets) AS tok "
            f"WHERE {sql.where} AND {visible} GROUP BY tok"
        ),
        sql.params,
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for token, number in rows:
        field, _tier, value = token.split("|", 2)
        bucket = counts.setdefault(field, {})
        bucket[value] = bucket.get(value, 0) + number
    return counts


def _member_sql(
    terms: list[str], queries: list[str], viewer: Viewer, filters: dict[str, str]
) -> tuple[_Sql, _MemberRules]:
    sql = _Sql()
    rules = _MemberRules(viewer, sql)
    sql.clauses.append("d.kind = 'member'")
    if Tier.MEMBERS not in viewer.tiers_for(-1):
        # Who may not see a member's name may not see the member at all (`name_is_visible`).
        own = f" OR d.key = {rules.own_key}" if rules.own else ""
        sql.clauses.append(f"(d.name_tier = '{PUBLIC_TIER}'{own})")
    sql.clauses.extend(rules.text(q) for q in queries)
    sql.clauses.extend(rules.facet(f, v) for f, v in sorted(filters.items()) if f in FACETS)
    return sql, rules


def _run_members(
    terms: list[str],
    viewer: Viewer,
    page: int,
    per_page: int,
    language: str,
    fuzzy: bool,
    filters: dict[str, str],
    with_facets: bool,
) -> SearchResult:
    queries, expanded = _queries(terms, fuzzy)
    sql, rules = _member_sql(terms, queries, viewer, filters)
    scored = [q for t, q in zip(terms, queries, strict=True) if not t.endswith("*")]
    if scored:  # ties go to the fresher profile; a stale one weighs less
        stale_before = sql.param(int((utcnow() - STALE_AFTER).timestamp()))
        score = (
            f"({rules.rank(_any_of(scored))}) * CASE WHEN d.confirmed < {stale_before} "
            f"THEN {STALE_FACTOR} ELSE 1.0 END"
        )
        order = "score DESC, d.confirmed DESC"
    else:  # browsing, or prefixes only: the most recently confirmed profiles first
        score, order = "0.0", "d.confirmed DESC"
    now = utcnow().timestamp()
    rows, total = _fetch(sql, order, score, page, per_page)
    if not total:
        return SearchResult(" ".join(terms), terms, 0, [])
    facets: dict[str, dict[str, int]] = {}
    if with_facets:
        found = _token_counts(sql, rules.token_visible())
        facets = {facet: found.get(f"f_{facet}", {}) for facet in FACETS}
    hits = []
    for row in rows:
        stale = now - row.confirmed > STALE_AFTER.total_seconds()
        hit = Hit(
            "member", row.obj_id, round(float(row.score), 3), stale=stale, confirmed=row.confirmed
        )
        hit.why, hit.snippets = _explain(
            row.stored, _hit_words(terms, expanded, row.stored), viewer, language
        )
        hits.append(hit)
    return SearchResult(" ".join(terms), terms, total, hits, facets=facets)


def _event_sql(queries: list[str], viewer: Viewer, when: str, filters: dict[str, str]) -> _Sql:
    """Published events the viewer may see, upcoming (not yet ended) by default, or past."""
    sql = _Sql()
    tiers = ["public", "members"] if viewer.sees_members_events else ["public"]
    now = sql.param(int(utcnow().timestamp()))
    sql.clauses += [
        "d.kind = 'event'",
        f"d.event_tier = ANY(CAST({sql.param(tiers)} AS text[]))",
        f"d.ends < {now}" if when == "past" else f"d.ends >= {now}",
    ]
    sql.clauses.extend(f"d.tsv_public @@ {sql.tsquery(q)}" for q in queries)
    chosen = [f"f_{f}|{PUBLIC_TIER}|{v}" for f, v in sorted(filters.items()) if f in EVENT_FACETS]
    if chosen:
        sql.clauses.append(f"d.facets @> CAST({sql.param(chosen)} AS text[])")
    return sql


def _chapter_sql(queries: list[str]) -> _Sql:
    sql = _Sql()
    sql.clauses.append("d.kind = 'chapter'")
    sql.clauses.extend(f"d.tsv_public @@ {sql.tsquery(q)}" for q in queries)
    return sql


def _need_sql(queries: list[str], filters: dict[str, str]) -> _Sql:
    """Published needs with every word, narrowed by the filters; open ones unless the status
    filter asks for another status, or "all"."""
    sql = _Sql()
    sql.clauses.append("d.kind = 'need'")
    sql.clauses.extend(f"d.tsv_public @@ {sql.tsquery(q)}" for q in queries)
    chosen = {"status": DEFAULT_NEED_STATUS, **filters}
    if chosen["status"] == "all":
        del chosen["status"]
    tokens = [f"nf_{f}|{PUBLIC_TIER}|{v}" for f, v in sorted(chosen.items()) if f in NEED_FACETS]
    if tokens:
        sql.clauses.append(f"d.facets @> CAST({sql.param(tokens)} AS text[])")
    return sql


def _ranked_hits(
    sql: _Sql,
    kind: str,
    queries: list[str],
    terms: list[str],
    order: str,
    page: int,
    per_page: int,
    make: Callable[[Any], Hit],
) -> tuple[list[Hit], int]:
    """A page of events, chapters or needs (public once visible: one text column) and the
    total; `make` turns a row into its hit with its explanation."""
    score = "0.0"
    if [t for t in terms if not t.endswith("*")]:
        score = f"ts_rank('{RANK_WEIGHTS[kind]}', d.tsv_public, {sql.tsquery(_any_of(queries))})"
    rows, total = _fetch(sql, order if terms else order.split(", ", 1)[-1], score, page, per_page)
    return [make(row) for row in rows], total


def _run_events(
    terms: list[str],
    viewer: Viewer,
    page: int,
    per_page: int,
    language: str,
    fuzzy: bool,
    filters: dict[str, str],
    with_facets: bool,
) -> SearchResult:
    queries, expanded = _queries(terms, fuzzy)
    when = filters.get("when", "upcoming")
    sql = _event_sql(queries, viewer, when, filters)

    def make(row: Any) -> Hit:
        hit = Hit("event", row.obj_id, round(float(row.score), 3), confirmed=-(row.starts or 0))
        words = _hit_words(terms, expanded, row.stored)
        hit.why, hit.snippets = _explain_event(row.stored, words, language)
        return hit

    # Browsing lists the soonest first; with words, ties go to the sooner event.
    hits, total = _ranked_hits(
        sql, "event", queries, terms, "score DESC, d.starts ASC", page, per_page, make
    )
    facets: dict[str, dict[str, int]] = {}
    if with_facets:
        found = _token_counts(sql) if total else {}
        facets = {facet: found[f"f_{facet}"] for facet in EVENT_FACETS if f"f_{facet}" in found}
        # Both periods are always offered, each with its count, so past events can be found.
        other = "upcoming" if when == "past" else "past"
        facets["when"] = {when: total, other: _count(_event_sql(queries, viewer, other, filters))}
    return SearchResult(" ".join(terms), terms, total, hits, facets=facets)


def _run_chapters(terms: list[str], page: int, per_page: int, fuzzy: bool) -> SearchResult:
    queries, _expanded = _queries(terms, fuzzy)

    def make(row: Any) -> Hit:
        hit = Hit("chapter", row.obj_id, round(float(row.score), 3))
        hit.why = [Why("chapter", row.stored.get("title", ""), " ".join(terms))]
        return hit

    hits, total = _ranked_hits(
        _chapter_sql(queries), "chapter", queries, terms, "score DESC, d.key", page, per_page, make
    )
    return SearchResult(" ".join(terms), terms, total, hits)


def _run_needs(
    terms: list[str],
    page: int,
    per_page: int,
    language: str,
    fuzzy: bool,
    filters: dict[str, str],
    with_facets: bool,
) -> SearchResult:
    queries, expanded = _queries(terms, fuzzy)
    sql = _need_sql(queries, filters)

    def make(row: Any) -> Hit:
        hit = Hit("need", row.obj_id, round(float(row.score), 3), confirmed=row.opened or 0)
        words = _hit_words(terms, expanded, row.stored)
        hit.why, hit.snippets = _explain_need(row.stored, words, language)
        return hit

    # Browsing lists the newest first; with words, ties go to the more recently opened.
    hits, total = _ranked_hits(
        sql, "need", queries, terms, "score DESC, d.opened DESC", page, per_page, make
    )
    facets: dict[str, dict[str, int]] = {}
    if with_facets:
        found = _token_counts(sql) if total else {}
        facets = {f: found.get(f"nf_{f}", {}) for f in NEED_FACETS if f != "status"}
        # Every status is offered with its count (and all of them together).
        statuses = _token_counts(_need_sql(queries, {**filters, "status": "all"})).get(
            "nf_status", {}
        )
        if statuses:
            statuses["all"] = sum(statuses.values())
        facets["status"] = statuses
    return SearchResult(" ".join(terms), terms, total, hits, facets=facets)


def _within_budget(work: Callable[[], T], out_of_time: T) -> T:
    """`work`, each of its statements allowed SEARCH_TIME_BUDGET seconds (Whoosh's budget); if
    one runs out, the request is marked incomplete and `out_of_time` answers instead.

    Inside a savepoint: a statement cancelled for taking too long rolls back to it, which also
    undoes the SET LOCAL, and the request's transaction carries on. On success the budget is
    lifted again for whatever the request does next."""
    budget = int(float(current_app.config["SEARCH_TIME_BUDGET"]) * 1000)
    try:
        with db.session.begin_nested():
            db.session.execute(text(f"SET LOCAL statement_timeout = {budget}"))
            answer = work()
            db.session.execute(text("SET LOCAL statement_timeout = DEFAULT"))
        return answer
    except OperationalError as error:
        if not isinstance(error.orig, QueryCanceled):
            raise
        log.warning("search ran out of time: %s", error.statement)
        mark_incomplete()
        return out_of_time


def run(
    terms: list[str],
    viewer: Viewer,
    kind: str,
    page: int,
    per_page: int,
    language: str,
    fuzzy: bool,
    filters: dict[str, str],
    with_facets: bool,
) -> SearchResult:
    """One kind of document for this viewer: `search.queries._run` on PostgreSQL. A search
    that runs out of time answers "too slow" (nothing found) rather than an error."""
    runners: dict[str, Callable[[], SearchResult]] = {
        "members": lambda: _run_members(
            terms, viewer, page, per_page, language, fuzzy, filters, with_facets
        ),
        "events": lambda: _run_events(
            terms, viewer, page, per_page, language, fuzzy, filters, with_facets
        ),
        "needs": lambda: _run_needs(terms, page, per_page, language, fuzzy, filters, with_facets),
        "chapters": lambda: _run_chapters(terms, page, per_page, fuzzy),
    }
    slow = SearchResult(" ".join(terms), terms, 0, [], message="slow")
    return _within_budget(runners.get(kind, runners["chapters"]), slow)


def kind_counts(terms: list[str], viewer: Viewer, counts: dict[str, int]) -> dict[str, int]:
    """The totals `search.queries.kind_counts` does not know yet, by the same rules; none (no
    tabs' counts) if they run out of time."""
    queries, _expanded = _queries(terms, False)
    makers: dict[str, Callable[[], _Sql]] = {
        "members": lambda: _member_sql(terms, queries, viewer, {})[0],
        "events": lambda: _event_sql(queries, viewer, "upcoming", {}),
        "chapters": lambda: _chapter_sql(queries),
        "needs": lambda: _need_sql(queries, {}),
    }
    return _within_budget(
        lambda: {
            kind: counts[kind] if kind in counts else _count(make())
            for kind, make in makers.items()
        },
        {},
    )
