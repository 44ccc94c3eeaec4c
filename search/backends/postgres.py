"""The PostgreSQL full-text backend (`SEARCH_BACKEND=postgres`), for several app servers.

A Whoosh index lives on one machine's disk; these documents live in the database every app
server already shares, so any number of them search the same, current data. The contract is
`search.backends.SearchBackend`, and the same tests hold both backends to it:

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
- why a result matched, and its snippets, come from `search.explain` over the stored texts,
  which checks each field's tier again.

What a search costs is reading documents, and reading a tsvector means decompressing it, so a
broad word ("proyecto": 30,000 members of 100,000) must be answered without reading texts:
matching on the held tiers is left to the GIN indexes alone (the few members a viewer reads
further are a second arm, `_Sql.arms`); the total and the facet counts come from one pass over
the matches' small columns; and past SCORE_AMONG matches `ts_rank` reads only CANDIDATES
documents, picked from the index by their marked heavy-field words (`MARKS`, `_first_pass`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app
from psycopg.errors import QueryCanceled
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from network.config import ConfigurationError
from network.db import db, utcnow
from network.visibility import Tier, Viewer
from search import parsing
from search.documents import member_key
from search.explain import explain_member, listed_hit
from search.models import SEARCH_CONFIGURATION, TSV_COLUMNS, SearchDocument, SearchWord
from search.parsing import SearchQuery
from search.results import Hit, SearchResult, mark_incomplete
from search.schema import (
    ANALYZER,
    EVENT_FACETS,
    FACETS,
    MEMBER_FIELD_GROUPS,
    NEED_FACETS,
    PUBLIC_TIER,
    tier_field,
)
from search.tiers import allowed_tiers, coordinates_more, own_tiers, sees_every_name

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
# Up to this many matches, `ts_rank` ranks them all; past it, the first pass picks CANDIDATES
# from the GIN indexes (`_first_pass`), as Whoosh's SCORE_AMONG does.
SCORE_AMONG = 400
log = logging.getLogger(__name__)
T = TypeVar("T")
TIERS = tuple(str(tier) for tier in Tier)
MAX_WORD = 100
BATCH = 500
_PLAIN_WORD = re.compile(r"\w+")
# The heaviest two weights' words are indexed a second time with a mark ("^word" for A, "~word"
# for B): the first pass of a ranking finds the members with a word in a heavy field from the GIN
# index alone, without reading (and decompressing) any tsvector. Marks never meet user input
# (the analyzer keeps word characters only) nor `ts_rank`, which weighs the query's own words.
MARKS = {"A": "^", "B": "~"}
_TSVECTOR_SQL = " || ".join(
    [
        *(
            f"setweight(to_tsvector('{SEARCH_CONFIGURATION}', :{{tier}}_{w}), '{w}')"
            for w in WEIGHT_LETTERS
        ),
        *(
            f"array_to_tsvector(ARRAY(SELECT '{mark}' || lexeme FROM "
            f"unnest(to_tsvector('{SEARCH_CONFIGURATION}', :{{tier}}_{w}))))"
            for w, mark in MARKS.items()
        ),
    ]
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


class PostgresBackend:
    """The app's search documents in PostgreSQL: what `search.indexer` writes to."""

    name = "postgres"

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

    def write(self, documents: list[dict[str, Any]], deleted: list[str]) -> None:
        """Apply documents in one transaction: searches see all of them or none."""
        if not documents and not deleted:
            return
        with db.engine.begin() as connection:
            if deleted:
                connection.execute(delete(SearchDocument).where(SearchDocument.key.in_(deleted)))
            if documents:
                self._upsert(connection, documents)

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

    def search(self, query: SearchQuery) -> SearchResult:
        """One kind of document for this viewer. A search that runs out of time answers "too
        slow" (nothing found) rather than an error."""
        slow = SearchResult(query.text, query.terms, 0, [], message="slow")
        return _within_budget(lambda: _run(query), slow)

    def count_kinds(
        self, terms: list[str], viewer: Viewer, known: dict[str, int]
    ) -> dict[str, int]:
        """Every kind's total for these words (upcoming events, open needs), `known` as given;
        none (no tabs' counts) if they run out of time."""
        queries, _expanded = _queries(terms, False)
        return _within_budget(
            lambda: {
                kind: known[kind] if kind in known else _count(where(queries, viewer, {}))
                for kind, where in _WHERE.items()
            },
            {},
        )


# ---------------------------------------------------------------- querying


def _quote(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _forms(term: str, words: list[str] | None = None) -> list[str]:
    """The word (or the words one edit away) with the plural forms the analyzer folds into it
    (`FoldFilter`: -s, and -es after a consonant). Documents keep their words as written, so
    the query asks for each form."""
    forms: list[str] = []
    for word in words or [term]:
        forms.append(word)
        if _PLAIN_WORD.fullmatch(word):
            forms.extend((word + "s", word + "es"))
    return list(dict.fromkeys(forms))


def _tsquery(term: str, words: list[str] | None = None) -> str:
    """A query word as tsquery text: a prefix, or the word's forms (`_forms`)."""
    if parsing.is_prefix(term):
        return f"{_quote(term[:-1])}:*"
    return "(" + " | ".join(_quote(f) for f in _forms(term, words)) + ")"


def _marked(forms: list[str], letters: str) -> str:
    """tsquery text (for a plain CAST: the marks must not meet the parser) of these forms in a
    field of one of these weights (`MARKS`)."""
    return " | ".join(_quote(MARKS[letter] + form) for letter in letters for form in forms)


def _fuzzy_words(term: str) -> list[str]:
    """The indexed words one edit away from a word of 5+ letters with the same first two
    letters (Whoosh's `terms_within(..., 1, prefix=2)`), the word itself first."""
    if parsing.is_prefix(term) or len(term) < 5:
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
        .limit(parsing.MAX_EXPANSIONS - 1)
    ).all()
    return [term, *near]


class _Sql:
    """A WHERE clause and its parameters, built from parts; optionally the union of arms, each
    ANDed with the clauses, which the planner answers one by one: an arm the GIN indexes answer
    exactly is never slowed down by another that has to read the documents' texts."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: dict[str, Any] = {}
        self.arms: list[str] = []
        self._names = 0

    def param(self, value: Any) -> str:
        self._names += 1
        name = f"p{self._names}"
        self.params[name] = value
        return f":{name}"

    def tsquery(self, query: str) -> str:
        return f"to_tsquery('{SEARCH_CONFIGURATION}', {self.param(query)})"

    def has_every_word(self, queries: list[str]) -> None:
        """The public text holds every word (events, chapters, needs: one text column)."""
        self.clauses.extend(f"d.tsv_public @@ {self.tsquery(q)}" for q in queries)

    def has_facets(self, tokens: list[str]) -> None:
        """The document holds every one of these facet tokens."""
        if tokens:
            self.clauses.append(f"d.facets @> CAST({self.param(tokens)} AS text[])")

    @property
    def where(self) -> str:
        return " AND ".join(self.clauses) or "TRUE"

    def rows(self, columns: str = "d.*", also: str = "TRUE") -> str:
        """SELECT of the matching documents (each once), narrowed by `also`."""
        return " UNION ALL ".join(
            f"SELECT {columns} FROM search_documents d WHERE {self.where} AND {arm} AND {also}"
            for arm in self.arms or ["TRUE"]
        )


class _MemberRules:
    """Who reads which tier of which member (`search.tiers`), in SQL: the rule the Whoosh
    backend applies with its tier fields."""

    def __init__(self, viewer: Viewer, sql: _Sql) -> None:
        self.held = allowed_tiers(viewer)
        self.own = own_tiers(viewer)
        self.coordinates = coordinates_more(viewer)
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

    def held_text(self, query: str, marked: bool = False) -> str:
        """A column of a tier the viewer holds for everybody holds the query: the GIN indexes
        answer this alone (no document is read). `marked`: tsquery text of marked words."""
        tsquery = f"CAST({self.sql.param(query)} AS tsquery)" if marked else self.sql.tsquery(query)
        return "(" + " OR ".join(f"d.{TSV_COLUMNS[t]} @@ {tsquery}" for t in self.held) + ")"

    def read_further(self, query: str) -> str | None:
        """The members the viewer reads more of than their held tiers and where that could
        matter for this query (any word): those of the chapters they coordinate with a word in
        their coordinators-tier text, and the viewer's own document. Few, so their texts may be
        read to apply the whole rule (`text`)."""
        arms = []
        if self.coordinates:
            tsquery = self.sql.tsquery(query)
            arms.append(f"({self.in_coordinated()} AND d.tsv_coordinators @@ {tsquery})")
        if self.own:
            arms.append(f"d.key = {self.own_key}")
        return "(" + " OR ".join(arms) + ")" if arms else None

    def reads_further(self) -> str:
        """The viewer reads more of this member than their held tiers (no text is read)."""
        return self._visible(["FALSE"], "TRUE", "TRUE")

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

    def facet_tokens(self) -> str:
        """The document's facet tokens for counting, in one pass over the matches: those of
        the viewer's own document marked "+o" (every tier counts), those of the members of
        their chapters "+c" (the coordinators tier counts too), the others as they are (the
        held tiers count): see `_visible_counts`."""
        arms = []
        if self.own:
            arms.append(f"WHEN d.key = {self.own_key} THEN {_marked_tokens('+o')}")
        if self.coordinates:
            arms.append(f"WHEN {self.in_coordinated()} THEN {_marked_tokens('+c')}")
        return f"CASE {' '.join(arms)} ELSE d.facets END" if arms else "d.facets"

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
    if any(parsing.is_prefix(t) for t in terms):
        own_words = {
            token.text
            for value in stored.values()
            if isinstance(value, str)
            for token in ANALYZER(value)
        }
    for term in terms:
        if parsing.is_prefix(term):
            words.extend(sorted(w for w in own_words if w.startswith(term[:-1])))
        else:
            words.extend(expanded.get(term, [term]))
    return list(dict.fromkeys(words))


def _fetch(
    sql: _Sql, order: str, score: str, start: int, per_page: int, among: list[str] | None = None
) -> tuple[list[Any], int]:
    """One page of ranked documents and the total of those ranked (`count(*) OVER ()`, which
    also keeps the planner on the indexes rather than walking an ordered index and reading
    texts row by row), the stored texts read for the page's rows only. `among`: rank only these
    documents (the first pass's candidates). The pages offered stop at CANDIDATES ranked
    results, as with Whoosh."""
    limit = max(0, min(per_page, parsing.CANDIDATES - start))
    if not limit:
        return [], _count(sql)
    also = f"d.key = ANY(CAST({sql.param(among)} AS text[]))" if among is not None else "TRUE"
    rows = db.session.execute(
        text(
            f"SELECT d.key, d.kind, d.obj_id, d.confirmed, d.starts, d.opened, d.stored, "
            f"p.score, p.total FROM (SELECT d.key, {score} AS score, count(*) OVER () AS total "
            f"FROM ({sql.rows('d.*', also)}) d ORDER BY {order}, d.key "
            f"LIMIT {limit} OFFSET {start}) p JOIN search_documents d ON d.key = p.key "
            f"ORDER BY {order.replace('score', 'p.score')}, d.key"
        ),
        sql.params,
    ).all()
    if rows:
        return rows, rows[0].total
    return [], (_count(sql) if start else 0)


def _count(sql: _Sql) -> int:
    return db.session.execute(
        text(f"SELECT count(*) FROM ({sql.rows('1 AS one')}) d"), sql.params
    ).scalar_one()


def _marked_tokens(mark: str) -> str:
    return f"ARRAY(SELECT '{mark}' || t FROM unnest(d.facets) AS t)"


def _raw_token_counts(sql: _Sql, tokens: str = "d.facets") -> dict[str, int]:
    """How many matching documents hold each facet token (`tokens`, an expression over the
    document), and under "#" how many there are: one pass gives the total and the counts."""
    rows = db.session.execute(
        text(
            # unnest in the select list (no tuple store per document, unlike a lateral join)
            f"SELECT tok, count(*) FROM (SELECT unnest({tokens} || CAST('{{#}}' AS text[])) "
            f"AS tok FROM ({sql.rows()}) d) d GROUP BY tok"
        ),
        sql.params,
    ).all()
    return dict(rows)


def _visible_counts(tokens: dict[str, int], held: Iterable[str]) -> dict[str, dict[str, int]]:
    """Value counts by facet field from `_MemberRules.facet_tokens`' counts: a value counts in a
    tier the viewer holds, on their chapters' members in the coordinators tier too, and on
    their own document in every tier. Hidden values never show up, not even as a number."""
    held = set(held)
    counts: dict[str, dict[str, int]] = {}
    for token, number in tokens.items():
        if token == "#":
            continue
        mark, token = (token[:2], token[2:]) if token.startswith("+") else ("", token)
        field, tier, value = token.split("|", 2)
        if tier in held or mark == "+o" or (mark == "+c" and tier == Tier.COORDINATORS):
            bucket = counts.setdefault(field, {})
            bucket[value] = bucket.get(value, 0) + number
    return counts


def _token_counts(sql: _Sql) -> dict[str, dict[str, int]]:
    """How many matching documents hold each facet value, by facet field."""
    return _visible_counts(_raw_token_counts(sql), TIERS)


# ---------------------------------------------------------------- what each kind matches


def _member_rules(queries: list[str], viewer: Viewer, filters: dict[str, str]) -> _MemberRules:
    """Members with every word in a column the viewer reads for them, and the filters' values in
    a tier they read; the rules keep the statement's parameters (`rules.sql`)."""
    sql = _Sql()
    rules = _MemberRules(viewer, sql)
    sql.clauses.append("d.kind = 'member'")
    if not sees_every_name(viewer):
        own = f" OR d.key = {rules.own_key}" if rules.own else ""
        sql.clauses.append(f"(d.name_tier = '{PUBLIC_TIER}'{own})")
    sql.clauses.extend(rules.facet(f, v) for f, v in sorted(filters.items()) if f in FACETS)
    if queries:
        # Every word in a held tier: the GIN indexes alone decide. Members whose other tiers
        # the viewer reads (their chapters', their own) in a second arm, the whole rule applied
        # to these few only.
        held = " AND ".join(rules.held_text(q) for q in queries)
        sql.arms = [held]
        further = rules.read_further(_any_of(queries))
        if further:
            # CASE: the cheap test first, whatever the planner's order of the filters, so
            # only these few members' texts are read.
            every = " AND ".join(rules.text(q) for q in queries)
            sql.arms.append(
                f"{further} AND CASE WHEN {rules.reads_further()} THEN {every} AND NOT ({held}) "
                f"ELSE FALSE END"
            )
    return rules


def _event_sql(queries: list[str], viewer: Viewer, filters: dict[str, str]) -> _Sql:
    """Published events the viewer may see, upcoming (not yet ended) by default, or past."""
    sql = _Sql()
    tiers = ["public", "members"] if viewer.sees_members_events else ["public"]
    now = sql.param(int(utcnow().timestamp()))
    sql.clauses += [
        "d.kind = 'event'",
        f"d.event_tier = ANY(CAST({sql.param(tiers)} AS text[]))",
        f"d.ends < {now}" if parsing.period(filters) == "past" else f"d.ends >= {now}",
    ]
    sql.has_every_word(queries)
    sql.has_facets(
        [f"f_{f}|{PUBLIC_TIER}|{v}" for f, v in parsing.event_facet_filters(filters).items()]
    )
    return sql


def _chapter_sql(queries: list[str], viewer: Viewer, filters: dict[str, str]) -> _Sql:
    sql = _Sql()
    sql.clauses.append("d.kind = 'chapter'")
    sql.has_every_word(queries)
    return sql


def _need_sql(queries: list[str], viewer: Viewer, filters: dict[str, str]) -> _Sql:
    """Published needs with every word, narrowed by the filters; open ones unless the status
    filter asks for another status, or "all"."""
    sql = _Sql()
    sql.clauses.append("d.kind = 'need'")
    sql.has_every_word(queries)
    sql.has_facets(
        [f"nf_{f}|{PUBLIC_TIER}|{v}" for f, v in parsing.need_facet_filters(filters).items()]
    )
    return sql


# Each kind's matching documents for a viewer: what is counted, ranked and paged.
_WHERE: dict[str, Callable[[list[str], Viewer, dict[str, str]], _Sql]] = {
    "members": lambda queries, viewer, filters: _member_rules(queries, viewer, filters).sql,
    "events": _event_sql,
    "chapters": _chapter_sql,
    "needs": _need_sql,
}


# ---------------------------------------------------------------- running a search


@dataclass
class _Plan:
    """How one search ranks its matches: the score expression, the order (best first, then the
    kind's tie-break), and its facets once the total is known."""

    sql: _Sql
    score: str
    order: str
    facets: Callable[[int], dict[str, dict[str, int]]]
    # Members: the total and (if asked) the facet counts, known before ranking; then the
    # documents worth ranking for that total (None: every match).
    counted: Callable[[bool], tuple[int, dict[str, dict[str, int]]]] | None = None
    candidates: Callable[[int], list[str] | None] | None = None


def _first_pass(sql: _Sql, rules: _MemberRules, forms: list[list[str]]) -> list[str]:
    """The CANDIDATES members worth ranking among many matches, from the GIN indexes alone
    (Whoosh's first phase): those with every word in a heavy field (weight A), then in A or B,
    then any, the freshest first within each; and all those matched through the tiers the viewer
    reads for a few members only (few, and their rank may differ). `ts_rank`, which reads each
    document's text, then ranks these only."""
    chosen: dict[str, None] = {}
    for letters in ("A", "AB", ""):
        level = " AND ".join(
            rules.held_text(_marked(f, letters), marked=True) if letters else "TRUE" for f in forms
        )
        # Materialised: the planner must not walk the `confirmed` index reading texts.
        keys = db.session.scalars(
            text(
                f"WITH m AS MATERIALIZED (SELECT d.key, d.confirmed FROM search_documents d "
                f"WHERE {sql.where} AND {sql.arms[0]} AND {level}) SELECT key FROM m "
                f"ORDER BY confirmed DESC, key LIMIT {parsing.CANDIDATES + len(chosen)}"
            ),
            sql.params,
        )
        for key in keys:
            if len(chosen) < parsing.CANDIDATES:
                chosen[key] = None
        if len(chosen) >= parsing.CANDIDATES:
            break
    if len(sql.arms) > 1:
        further = db.session.scalars(
            text(
                f"SELECT d.key FROM search_documents d WHERE {sql.where} AND {sql.arms[1]} "
                f"LIMIT {parsing.CANDIDATES}"
            ),
            sql.params,
        )
        chosen.update(dict.fromkeys(further))
    return list(chosen)


def _member_plan(query: SearchQuery, queries: list[str], expanded: dict[str, list[str]]) -> _Plan:
    rules = _member_rules(queries, query.viewer, query.filters)
    sql = rules.sql
    scored = [q for t, q in zip(query.terms, queries, strict=True) if not parsing.is_prefix(t)]
    forms = [_forms(t, expanded.get(t)) for t in parsing.scored_terms(query.terms)]
    if scored:  # ties go to the fresher profile; a stale one weighs less
        stale_before = sql.param(int((utcnow() - parsing.STALE_AFTER).timestamp()))
        score = (
            f"({rules.rank(_any_of(scored))}) * CASE WHEN d.confirmed < {stale_before} "
            f"THEN {parsing.STALE_FACTOR} ELSE 1.0 END"
        )
        order = "score DESC, d.confirmed DESC"
    else:  # browsing, or prefixes only: the most recently confirmed profiles first
        score, order = "0.0", "d.confirmed DESC"

    def counted(with_facets: bool) -> tuple[int, dict[str, dict[str, int]]]:
        """The total, and the facet values the viewer reads for each member counted, in one
        pass over the matches."""
        if not with_facets:
            return _count(sql), {}
        tokens = _raw_token_counts(sql, rules.facet_tokens())
        total = tokens.get("#", 0)
        if not total:
            return 0, {}
        found = _visible_counts(tokens, rules.held)
        return total, {facet: found.get(f"f_{facet}", {}) for facet in FACETS}

    def candidates(total: int) -> list[str] | None:
        if not forms or total <= SCORE_AMONG:
            return None
        return _first_pass(sql, rules, forms)

    return _Plan(sql, score, order, lambda total: {}, counted, candidates)


def _listed_plan(query: SearchQuery, queries: list[str], order: str) -> _Plan:
    """Events, chapters or needs: public once visible, so one text column, ranked by its
    weights; browsing (no words) keeps only the order's tie-break."""
    kind = parsing.DOCUMENT_KIND[query.kind]
    sql = _WHERE[query.kind](queries, query.viewer, query.filters)
    score = "0.0"
    if parsing.scored_terms(query.terms):
        score = f"ts_rank('{RANK_WEIGHTS[kind]}', d.tsv_public, {sql.tsquery(_any_of(queries))})"
    order = order if query.terms else order.split(", ", 1)[-1]

    def facets(total: int) -> dict[str, dict[str, int]]:
        if query.kind == "events":
            found = _token_counts(sql) if total else {}
            chosen = {f: found[f"f_{f}"] for f in EVENT_FACETS if f"f_{f}" in found}
            when = parsing.period(query.filters)
            other = "upcoming" if when == "past" else "past"
            others = _event_sql(queries, query.viewer, {**query.filters, "when": other})
            return {**chosen, "when": parsing.period_facet(when, total, _count(others))}
        if query.kind == "needs":
            found = _token_counts(sql) if total else {}
            chosen = {f: found.get(f"nf_{f}", {}) for f in NEED_FACETS if f != "status"}
            every = _need_sql(queries, query.viewer, {**query.filters, "status": "all"})
            statuses = _token_counts(every).get("nf_status", {})
            return {**chosen, "status": parsing.status_facet(statuses)}
        return {}

    return _Plan(sql, score, order, facets)


# Browsing lists the soonest event and the newest need first; with words, these break ties.
_LISTED_ORDER = {
    "events": "score DESC, d.starts ASC",
    "chapters": "score DESC, d.key",
    "needs": "score DESC, d.opened DESC",
}


def _run(query: SearchQuery) -> SearchResult:
    """A page of one kind, its total and (if asked) its facets; only the page is explained."""
    terms = query.terms
    queries, expanded = _queries(terms, query.fuzzy)
    if query.kind == "members":
        plan = _member_plan(query, queries, expanded)
    else:
        plan = _listed_plan(query, queries, _LISTED_ORDER[query.kind])
    facets: dict[str, dict[str, int]] = {}
    if plan.counted and plan.candidates:
        total, facets = plan.counted(query.with_facets)
        if not total:
            return SearchResult(query.text, terms, 0, [], facets={})
        among = plan.candidates(total)
        rows, _ranked = _fetch(plan.sql, plan.order, plan.score, query.start, query.per_page, among)
    else:
        rows, total = _fetch(plan.sql, plan.order, plan.score, query.start, query.per_page)
        facets = plan.facets(total) if query.with_facets else {}
    now = utcnow().timestamp()
    hits = []
    for row in rows:
        words = _hit_words(terms, expanded, row.stored)
        if query.kind == "members":
            stale = now - row.confirmed > parsing.STALE_AFTER.total_seconds()
            hit = Hit(
                "member",
                row.obj_id,
                round(float(row.score), 3),
                stale=stale,
                confirmed=row.confirmed,
            )
            hit.why, hit.snippets = explain_member(row.stored, words, query.viewer, query.language)
        else:
            kind = parsing.DOCUMENT_KIND[query.kind]
            hit = listed_hit(kind, row.obj_id, row.score, row.stored, terms, words, query.language)
        hits.append(hit)
    return SearchResult(query.text, terms, total, hits, facets=facets)


def _within_budget(work: Callable[[], T], out_of_time: T) -> T:
    """`work`, each of its statements allowed SEARCH_TIME_BUDGET seconds (Whoosh's budget); if
    one runs out, the request is marked incomplete and `out_of_time` answers instead.

    Inside a savepoint: a statement cancelled for taking too long rolls back to it, which also
    undoes the SET LOCAL, and the request's transaction carries on. On success the budget is
    lifted again for whatever the request does next.

    Sequential scans are off meanwhile: the planner prices testing a tsvector as nothing, so on
    a word in a quarter of the documents it prefers reading the whole table and decompressing
    every text (2 s at 100,000 members) to the GIN indexes' bitmap (0.1 s)."""
    budget = int(float(current_app.config["SEARCH_TIME_BUDGET"]) * 1000)
    try:
        with db.session.begin_nested():
            db.session.execute(
                text(f"SET LOCAL statement_timeout = {budget}; SET LOCAL enable_seqscan = off")
            )
            answer = work()
            db.session.execute(
                text("SET LOCAL statement_timeout = DEFAULT; SET LOCAL enable_seqscan = DEFAULT")
            )
        return answer
    except OperationalError as error:
        if not isinstance(error.orig, QueryCanceled):
            raise
        log.warning("search ran out of time: %s", error.statement)
        mark_incomplete()
        return out_of_time
