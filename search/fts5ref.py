"""The bench's reference engine: SQLite FTS5 given exactly what our members search is given.

A ratio against a reference only says something about our engine if the reference answers the
same question. So FTS5 gets:

- the same words, in the index and in the query: documents come from `all_documents` (as the
  Whoosh and PostgreSQL backends get them) and their text is cut by our analyzer
  (`search.schema.ANALYZER`: accents and case folded, plurals made singular, hyphenated names
  split), and queries are read by `search.parsing.query_terms`, so "ingenieros" finds
  "ingeniero" here as it does in our search;
- the same concept expansion. Ours happens when a member is indexed, not when a query is read:
  a member's expertise holds, per concept, its Spanish and English labels and every synonym in
  both languages, and the same for each broader concept (`search.documents._expertise`), so
  "hydrology" finds a member tagged "hidrología". That text is in these documents too. Query
  side, only a prefix ("hidro*": its MAX_EXPANSIONS most frequent words) and, when nothing
  matched, a word of 5+ letters (the words one edit away with the same first two letters)
  stand for several words; FTS5 gets the same, as OR groups;
- the same visibility columns: one column per weight group and tier (`tier_field`, as the
  Whoosh index has them), and per word only the columns of the tiers the viewer holds, the
  coordinators tier for the members of their chapters, and every tier of their own profile
  (`search.tiers`); facet values carry their tier; members whose name is kept for members are
  found only by viewers who may see them;
- the same work per query: the top CANDIDATES ranked (bm25 with our group weights) and the total.

What it still does not do, and our search does: facet counts (timed beside, without facets, in
the bench's `search_without_facets_*`) and explaining the shown page.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from network.db import db
from network.visibility import Tier, Viewer
from search.backends.whoosh import PREFIX_SCAN
from search.indexer import all_documents
from search.parsing import (
    CANDIDATES,
    MAX_EXPANSIONS,
    accepted_filters,
    is_prefix,
    query_terms,
)
from search.schema import ANALYZER, FACETS, MEMBER_FIELD_GROUPS, PUBLIC_TIER, tier_field
from search.tiers import allowed_tiers, coordinates_more, own_tiers, sees_every_name

# Raised whenever the table's layout or what goes into it changes: a reused bench rebuilds a
# reference of another version instead of measuring against it.
LAYOUT_VERSION = 3
# One column per (weight group, tier), then tokens that only filter: facet values with their
# tier, the member's chapters (for coordinators) and who they are (their id, their name's tier).
TEXT_COLUMNS: dict[str, float] = {
    tier_field(group, str(tier)): boost
    for group, (boost, _names) in MEMBER_FIELD_GROUPS.items()
    for tier in Tier
}
COLUMNS: dict[str, float] = {**TEXT_COLUMNS, "facets": 0.0, "coord": 0.0, "who": 0.0}
GROUPS = tuple(MEMBER_FIELD_GROUPS)
BATCH = 2_000


def facet_token(tier: str, facet: str, value: str) -> str:
    """One word per (tier, facet, value), so FTS5 filters a facet in the viewer's tiers only."""
    return "".join(c for c in f"{tier}{facet}{value}".lower() if c.isascii() and c.isalnum())


def _analysed(text: str) -> str:
    """The words our index holds for this text, in order, as FTS5 will read them."""
    return " ".join(token.text for token in ANALYZER(text or ""))


def _row(document: dict[str, Any]) -> tuple[Any, ...]:
    facets = []
    for facet in FACETS:
        for item in filter(None, document[f"f_{facet}"].split(",")):
            tier, _, value = item.partition("|")
            facets.append(facet_token(tier, facet, value))
    chapters = " ".join(f"c{c}" for c in filter(None, document["coord_chapters"].split(",")))
    who = f"u{document['obj_id']} nt{document['name_tier']}"
    texts = [_analysed(document.get(name, "")) for name in TEXT_COLUMNS]
    return (document["obj_id"], *texts, " ".join(facets), chapters, who)


def build(app: Any, path: Path) -> tuple[float, int]:
    """Write the reference from the app's database; returns (seconds, members)."""
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    # Our analyzer keeps e-mail addresses and words with an apostrophe or a dot whole: so does
    # FTS5 here (an apostrophe cannot be named in tokenchars; a query's phrase matches its parts).
    connection.execute(
        f"CREATE VIRTUAL TABLE members USING fts5({', '.join(COLUMNS)}, "
        "tokenize=\"unicode61 remove_diacritics 0 tokenchars '.@-'\")"
    )
    insert_sql = (
        f"INSERT INTO members(rowid, {', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
    )
    start = time.perf_counter()
    count = 0
    rows: list[tuple[Any, ...]] = []
    with app.app_context(), Session(db.engine) as session:
        for document in all_documents(session):
            if document["kind"] != "member":
                continue
            rows.append(_row(document))
            if len(rows) == BATCH:
                connection.executemany(insert_sql, rows)
                count += len(rows)
                rows.clear()
    connection.executemany(insert_sql, rows)
    count += len(rows)
    connection.execute("INSERT INTO members(members) VALUES ('optimize')")
    # Per column, the term dictionary with document frequencies, as Whoosh keeps one per field:
    # prefixes and close spellings are looked up in it (a B-tree range) in the columns the
    # viewer reads, as ours are, not by scanning FTS5's doclists per query.
    connection.execute("CREATE VIRTUAL TABLE vocabulary USING fts5vocab(members, 'col')")
    text_columns = ", ".join(f"'{name}'" for name in TEXT_COLUMNS)
    connection.execute(
        "CREATE TABLE words (col TEXT, term TEXT, docs INTEGER, PRIMARY KEY (col, term)) "
        "WITHOUT ROWID"
    )
    connection.execute(
        f"INSERT INTO words SELECT col, term, doc FROM vocabulary WHERE col IN ({text_columns})"
    )
    connection.execute("DROP TABLE vocabulary")
    connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    connection.executemany(
        "INSERT INTO meta VALUES (?, ?)", [("layout", str(LAYOUT_VERSION)), ("members", str(count))]
    )
    connection.commit()
    connection.close()
    return time.perf_counter() - start, count


def stored_members(path: Path) -> int | None:
    """How many members a reference of this version holds; None if there is none, or it has
    another layout (it must then be rebuilt)."""
    if not path.exists():
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        meta = dict(connection.execute("SELECT key, value FROM meta"))
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    if meta.get("layout") != str(LAYOUT_VERSION):
        return None
    return int(meta["members"])


def _one_edit(a: str, b: str) -> bool:
    """Whether b is one letter changed, added, dropped, or two neighbours swapped, away from a:
    Whoosh's `terms_within` with maxdist=1 (Damerau-Levenshtein)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(differ) == 2:
            i, j = differ
            return j == i + 1 and a[i] == b[j] and a[j] == b[i]
        return len(differ) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def _quoted(words: list[str]) -> str:
    return "(" + " OR ".join('"' + w.replace('"', '""') + '"' for w in words) + ")"


def _columns(tiers: list[str]) -> str:
    return "{" + " ".join(tier_field(group, tier) for group in GROUPS for tier in tiers) + "}"


class Fts5Reference:
    """Members search on FTS5 for a viewer: `search` returns the total, having ranked the top
    CANDIDATES, and falls back to close spellings when nothing matched, as ours does."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        weights = ", ".join(str(w) for w in COLUMNS.values())
        self.top_sql = (
            "SELECT rowid FROM members WHERE members MATCH ? "
            f"ORDER BY bm25(members, {weights}) LIMIT {CANDIDATES}"
        )
        self.count_sql = "SELECT count(*) FROM members WHERE members MATCH ?"

    def close(self) -> None:
        self.connection.close()

    def expand(self, terms: list[str], viewer: Viewer, fuzzy: bool) -> dict[str, list[str]]:
        """What `_expand_members` of the Whoosh backend does, on FTS5's term dictionary: a
        prefix stands for its MAX_EXPANSIONS most frequent words among the first PREFIX_SCAN of
        each column the viewer reads on every profile, plus those of their own profile; on the
        fuzzy pass a word of 5+ letters also stands for the words one edit away in those
        columns (same first two letters)."""
        columns = [tier_field(group, tier) for group in GROUPS for tier in allowed_tiers(viewer)]
        expanded: dict[str, list[str]] = {}
        for term in terms:
            if is_prefix(term):
                stem = term[:-1]
                frequency: dict[str, int] = {}
                for column in columns:
                    for word, docs in self.connection.execute(
                        "SELECT term, docs FROM words WHERE col = ? AND term >= ? AND term < ? "
                        "ORDER BY term LIMIT ?",
                        (column, stem, stem + "\U0010ffff", PREFIX_SCAN),
                    ):
                        frequency[word] = frequency.get(word, 0) + docs
                best = sorted(frequency, key=lambda w: (-frequency[w], w))[:MAX_EXPANSIONS]
                own = sorted(w for w in self._own_words(viewer) if w.startswith(stem))
                expanded[term] = list(dict.fromkeys([*best, *own[:MAX_EXPANSIONS]]))
            elif fuzzy and len(term) >= 5:
                near: set[str] = set()
                for column in columns:
                    near.update(
                        word
                        for (word,) in self.connection.execute(
                            "SELECT term FROM words WHERE col = ? AND term >= ? AND term < ? "
                            "AND length(term) BETWEEN ? AND ?",
                            (
                                column,
                                term[:2],
                                term[:2] + "\U0010ffff",
                                len(term) - 1,
                                len(term) + 1,
                            ),
                        )
                        if _one_edit(term, word)
                    )
                expanded[term] = [term, *sorted(near)[: MAX_EXPANSIONS - 1]]
        return expanded

    def _own_words(self, viewer: Viewer) -> set[str]:
        """The words of the viewer's own profile (they read all of it)."""
        if viewer.user_id is None:
            return set()
        row = self.connection.execute(
            f"SELECT {', '.join(TEXT_COLUMNS)} FROM members WHERE rowid = ?", (viewer.user_id,)
        ).fetchone()
        return {word for text in row or () for word in text.split()}

    def expression(
        self,
        terms: list[str],
        filters: dict[str, str],
        viewer: Viewer,
        expanded: dict[str, list[str]],
    ) -> str | None:
        """The FTS5 query: per word, the word (or its expansions) in a column the viewer reads
        for that member; per filter, the value in a tier the viewer holds for that member.
        None when a word stands for nothing (a prefix without words): nothing can match."""
        held, own = allowed_tiers(viewer), own_tiers(viewer)
        me = f'"u{viewer.user_id}"' if viewer.user_id is not None else None
        chapters = None
        if coordinates_more(viewer):
            chapters = _quoted([f"c{c}" for c in sorted(viewer.coordinated_chapter_ids)])
        parts = []
        for term in terms:
            words = expanded.get(term, [] if is_prefix(term) else [term])
            if not words:
                return None
            either = [f"{_columns(held)} : {_quoted(words)}"]
            if chapters:
                coordinators = _columns([str(Tier.COORDINATORS)])
                either.append(f"({coordinators} : {_quoted(words)} AND coord : {chapters})")
            if me and own:
                either.append(f"({_columns(own)} : {_quoted(words)} AND who : {me})")
            parts.append("(" + " OR ".join(either) + ")")
        for facet, value in sorted(filters.items()):
            either = [f"facets : {_quoted([facet_token(t, facet, value) for t in held])}"]
            if chapters:
                token = facet_token(str(Tier.COORDINATORS), facet, value)
                either.append(f'(facets : "{token}" AND coord : {chapters})')
            if me:
                every = _quoted([facet_token(str(t), facet, value) for t in Tier])
                either.append(f"(facets : {every} AND who : {me})")
            parts.append("(" + " OR ".join(either) + ")")
        if not sees_every_name(viewer):
            names = [f'who : "nt{PUBLIC_TIER}"', *([f"who : {me}"] if me else [])]
            parts.append("(" + " OR ".join(names) + ")")
        return " AND ".join(parts)

    def _run(self, expression: str | None) -> int:
        if expression is None:
            return 0
        self.connection.execute(self.top_sql, (expression,)).fetchall()
        return self.connection.execute(self.count_sql, (expression,)).fetchone()[0]

    def search(self, text: str, filters: dict[str, str], viewer: Viewer) -> int:
        """The total for this query and viewer (the top CANDIDATES are ranked on the way)."""
        terms = query_terms(text)
        chosen = accepted_filters("members", filters)
        if not terms and not chosen:
            return 0
        total = self._run(self.expression(terms, chosen, viewer, self.expand(terms, viewer, False)))
        if total == 0 and terms:
            fuzzy = self.expand(terms, viewer, True)
            return self._run(self.expression(terms, chosen, viewer, fuzzy))
        return total
