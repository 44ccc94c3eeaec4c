"""Parse, filter by visibility, rank and explain. Results are reloaded from the database.

User input never reaches Whoosh's query parser: it is cut into words by the index's own analyzer,
so quotes, brackets, operators or control characters cannot make a query fail; a trailing `*`
is a prefix, expanded to a bounded number of indexed words. Every word must match some field the
viewer may see (AND across words, OR across fields); a member's text is indexed in the field of
its tier, and a query names only the tiers the viewer holds for that member.

Members are counted with bitsets (`search.bitsets`) and ranked by Whoosh: exact totals and facet
counts cost a few C-level operations, and Whoosh only scores what can reach the top.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app, g
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from whoosh import query as Q
from whoosh import sorting
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.highlight import ContextFragmenter, HtmlFormatter, highlight
from whoosh.support.charset import accent_map

from chapters.models import Chapter
from network.db import utcnow
from network.events.models import Event, EventStatus, EventVisibility
from network.extensions import db
from network.members import queries as member_queries
from network.members.models import Profile
from network.needs.models import PUBLISHED_STATUSES, Need, NeedStatus
from network.visibility import Tier, Viewer
from search import bitsets
from search.documents import BROADER, NARROWER, member_key
from search.indexer import get_index
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
    need_facet_field,
    tier_field,
)

MEMBER_FIELDS = ("name", *FIELD_VISIBILITY)
MEMBER_GROUPS = tuple(MEMBER_FIELD_GROUPS)

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MIN_PREFIX = 3  # letters before a `*`
MAX_EXPANSIONS = 12  # indexed words one prefix may stand for
SCORE_AMONG = 400  # up to this many matches, BM25F scores them all (see _run_members)
PREFIX_SCAN = 500  # words read per field to choose them
CANDIDATES = 200  # ranked hits per query (10 pages of 20): the rest is counted, not ranked
STALE_AFTER = timedelta(days=365)
STALE_FACTOR = 0.7
KINDS = ("members", "events", "chapters", "needs")
# Filters each kind accepts; "when" (upcoming, the default, or past) is computed at query time.
EVENT_FILTERS = (*EVENT_FACETS, "when")
# Needs: "status" is open by default; in_progress, completed, or all three on request.
NEED_FILTERS = NEED_FACETS
NEED_STATUS_FILTERS = (*(str(s) for s in PUBLISHED_STATUSES), "all")
DEFAULT_NEED_STATUS = str(NeedStatus.OPEN)


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
    docnum: int = field(default=-1, repr=False)


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


def _expand(
    searcher: Any, terms: list[str], fields: list[str], fuzzy: bool = False
) -> dict[str, list[str]]:
    """The indexed words standing for a query word, in these fields.

    A prefix stands for its MAX_EXPANSIONS most frequent words among the first PREFIX_SCAN of
    each field: bounded, so "bio*" on 100,000 bios cannot run away (unbounded, Whoosh expands it
    into every matching word of every field). On the fuzzy pass a word of 5+ letters also stands
    for the words one edit away (same first two letters)."""
    expanded: dict[str, list[str]] = {}
    reader = searcher.reader()
    for term in terms:
        if term.endswith("*"):
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
) -> dict[str, list[str]]:
    """`_expand` over the member fields the viewer reads, plus, for a prefix, the words of the
    viewer's own profile (they read all of it; other people's hidden words never count)."""
    expanded = _expand(searcher, terms, _member_fields(viewer), fuzzy)
    prefixes = [t for t in terms if t.endswith("*")]
    if prefixes and viewer.user_id is not None:
        own = searcher.document(key=member_key(viewer.user_id)) or {}
        words = {token.text for name in MEMBER_FIELDS for token in ANALYZER(own.get(name) or "")}
        for term in prefixes:
            extra = sorted(w for w in words if w.startswith(term[:-1]))[:MAX_EXPANSIONS]
            expanded[term] = list(dict.fromkeys([*expanded[term], *extra]))
    return expanded


def _words(terms: list[str], expanded: dict[str, list[str]]) -> list[str]:
    """The indexed words a query may match: its plain words and what the others expand to."""
    return [word for term in terms for word in expanded.get(term, [term])]


def _allowed_tiers(viewer: Viewer) -> list[str]:
    return [str(t) for t in viewer.tiers_for(-1)]


def _coordinates_more(viewer: Viewer) -> bool:
    """Whether the viewer holds the coordinators tier for some members only (their chapters')."""
    return bool(viewer.coordinated_chapter_ids) and Tier.COORDINATORS not in viewer.tiers_for(-1)


def _own_tiers(viewer: Viewer) -> list[str]:
    """The tiers a viewer reads only on their own profile."""
    if viewer.user_id is None:
        return []
    held = set(_allowed_tiers(viewer))
    return [str(t) for t in Tier if str(t) not in held]


def _member_fields(viewer: Viewer) -> list[str]:
    """The indexed member fields this viewer reads on every profile, to expand words from: not
    the coordinators tier of a coordinator (other chapters' members' text is in it too), so
    words they may not read never choose, nor crowd out, a prefix's expansions."""
    return [tier_field(group, tier) for group in MEMBER_GROUPS for tier in _allowed_tiers(viewer)]


def _term(
    field_name: str, text: str, fuzzy: bool, expanded: dict[str, list[str]] | None = None
) -> Q.Query:
    """An exact term; a prefix's (or, for members, a fuzzy word's) expansion; or, on the
    fallback pass, one spelling mistake away (words of 5+ letters)."""
    if expanded and text in expanded:
        words = expanded[text]
        return Q.Or([Q.Term(field_name, w) for w in words]) if words else Q.NullQuery
    if text.endswith("*"):
        return Q.NullQuery
    if fuzzy and len(text) >= 5:
        return Q.FuzzyTerm(field_name, text, maxdist=1, prefixlength=2)
    return Q.Term(field_name, text)


def _member_clauses(
    terms: list[str], viewer: Viewer, expanded: dict[str, list[str]], with_own: bool = True
) -> list[Q.Query]:
    """Per word: the word in some member field, read only in the tiers the viewer holds for
    that member: everybody's for their tiers, their chapters' members' for coordinators, all of
    their own. `_member_bits` is the same rule on bitsets; keep them together.

    Only member documents have these fields, so no "kind" filter is needed; the coordinator's
    and the viewer's own clauses are one per word (not per field), which keeps Whoosh's
    matcher tree small."""
    held, own = _allowed_tiers(viewer), (_own_tiers(viewer) if with_own else [])
    coordinator = str(Tier.COORDINATORS) if _coordinates_more(viewer) else None

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


def _word_bits(
    leaf: bitsets.Leaf, group: str, words: list[str], viewer: Viewer, coordinated: int, own_bit: int
) -> int:
    """The members of one segment having one of these words in a weight group, in a tier the
    viewer holds for them: the rule of `_member_clauses`, on bitsets."""
    held, own = _allowed_tiers(viewer), (_own_tiers(viewer) if own_bit else [])
    found = 0
    for word in words:
        for tier in held:
            found |= leaf.term(tier_field(group, tier), word)
        if coordinated:
            found |= leaf.term(tier_field(group, str(Tier.COORDINATORS)), word) & coordinated
        for tier in own:
            found |= leaf.term(tier_field(group, tier), word) & own_bit
    return found


def _coordinated_bits(leaf: bitsets.Leaf, viewer: Viewer) -> int:
    """The members of a coordinator's chapters, if that widens what the viewer reads."""
    coordinated = 0
    if _coordinates_more(viewer):
        for chapter in sorted(viewer.coordinated_chapter_ids):
            coordinated |= leaf.term("coord_chapters", str(chapter))
    return coordinated


def _member_bits(
    leaf: bitsets.Leaf,
    terms: list[str],
    viewer: Viewer,
    expanded: dict[str, list[str]],
    filters: dict[str, str],
    own_bit: int,
) -> int:
    """The members of one segment matching the query for this viewer, as a bitset: the rule
    of `_member_clauses` and `_facet_filter`, counted in C instead of visited in Python."""
    held, own = _allowed_tiers(viewer), (_own_tiers(viewer) if own_bit else [])
    coordinated = _coordinated_bits(leaf, viewer)
    matches = leaf.term("kind", "member")
    if Tier.MEMBERS not in viewer.tiers_for(-1):
        # Who may not see a member's name may not see the member at all (`name_is_visible`),
        # so such members are neither listed, counted nor explained.
        matches &= leaf.term("name_tier", PUBLIC_TIER) | own_bit
    for term in terms:
        words = expanded.get(term, [] if term.endswith("*") else [term])
        matches &= _any_group_bits(leaf, words, viewer, coordinated, own_bit)
        if not matches:
            return 0
    for facet, value in filters.items():
        name = f"f_{facet}"
        found = 0
        for tier in held:
            found |= leaf.term(name, f"{tier}|{value}")
        if coordinated:
            found |= leaf.term(name, f"{Tier.COORDINATORS}|{value}") & coordinated
        for tier in own:
            found |= leaf.term(name, f"{tier}|{value}") & own_bit
        matches &= found
    return matches


def _any_group_bits(
    leaf: bitsets.Leaf, words: list[str], viewer: Viewer, coordinated: int, own_bit: int
) -> int:
    found = 0
    for group in MEMBER_GROUPS:
        found |= _word_bits(leaf, group, words, viewer, coordinated, own_bit)
    return found


def _candidates(
    leaves: list[bitsets.Leaf],
    matches: list[int],
    terms: list[str],
    viewer: Viewer,
    expanded: dict[str, list[str]],
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
            words = expanded.get(term, [] if term.endswith("*") else [term])
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


def _member_facet_counts(
    leaves: list[bitsets.Leaf], matches: list[int], viewer: Viewer, own_bits: list[int]
) -> dict[str, dict[str, int]]:
    """Counts per facet value over the matching members, counting only values the viewer may
    see for each member: hidden values never show up, not even as a number."""
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
    held = set(_allowed_tiers(viewer))
    held_key = tuple(sorted(held))
    coordinator = _coordinates_more(viewer)
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


def _event_query(
    terms: list[str],
    viewer: Viewer,
    fuzzy: bool,
    when: str,
    expanded: dict[str, list[str]] | None = None,
) -> Q.Query:
    """Published events the viewer may see: members-only ones for members' accounts and IME.
    Upcoming (not yet ended) by default, or past ones."""
    tiers = [Q.Term("event_tier", "public")]
    if viewer.sees_members_events:
        tiers.append(Q.Term("event_tier", "members"))
    now = int(utcnow().timestamp())
    period = (
        Q.NumericRange("ends", None, now - 1)
        if when == "past"
        else Q.NumericRange("ends", now, None)
    )
    per_term = [Q.Or([_term(f, t, fuzzy, expanded) for f in EVENT_TEXT_FIELDS]) for t in terms]
    return Q.And([Q.Term("kind", "event"), Q.Or(tiers), period, *per_term])


def _chapter_query(
    terms: list[str], fuzzy: bool, expanded: dict[str, list[str]] | None = None
) -> Q.Query:
    per_term = [Q.Or([_term(f, t, fuzzy, expanded) for f in ("title", "body")]) for t in terms]
    return Q.And([Q.Term("kind", "chapter"), *per_term])


def _need_query(
    terms: list[str],
    fuzzy: bool,
    expanded: dict[str, list[str]] | None = None,
    filters: dict[str, str] | None = None,
) -> Q.Query:
    """Published needs (all public) with every word in some need field, narrowed by the filters;
    open ones only unless the "status" filter asks for another status, or "all"."""
    filters = filters or {}
    per_term = [Q.Or([_term(f, t, fuzzy, expanded) for f in NEED_TEXT_FIELDS]) for t in terms]
    chosen = {"status": DEFAULT_NEED_STATUS, **filters}
    if chosen["status"] == "all":
        del chosen["status"]
    narrow = [
        Q.Term(need_facet_field(f), f"{PUBLIC_TIER}|{v}")
        for f, v in sorted(chosen.items())
        if f in NEED_FACETS
    ]
    return Q.And([Q.Term("kind", "need"), *narrow, *per_term])


def _facet_filter(facet: str, value: str, viewer: Viewer) -> Q.Query:
    """Documents having this facet value in a tier the viewer holds for them."""
    name = f"f_{facet}"
    clauses: list[Q.Query] = [Q.Term(name, f"{tier}|{value}") for tier in _allowed_tiers(viewer)]
    if _coordinates_more(viewer):
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


def _count(
    searcher: Any,
    query: Q.Query,
    tiers: set[str],
    counts: dict[str, dict[str, int]],
    field_of: Any = "f_{}".format,
) -> None:
    groups = {
        facet: sorting.FieldFacet(field_of(facet), allow_overlap=True, maptype=sorting.Count)
        for facet in counts
    }
    results = searcher.search(query, groupedby=groups, limit=1)
    for facet in counts:
        for token, number in results.groups(facet).items():
            token = token.decode() if isinstance(token, bytes) else str(token)
            tier, _, value = token.partition("|")
            if tier in tiers and value:
                counts[facet][value] = counts[facet].get(value, 0) + number


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
        if name == "name" and stored.get("name_tier") != PUBLIC_TIER and Tier.MEMBERS not in held:
            continue
        # Every indexed word is a prefix of a folded word of its text: a cheap test first.
        folded = text.lower().translate(accent_map)
        if not any(t in folded for t in terms):
            continue
        tokens = {t.text for t in ANALYZER(text)}
        matched = [t for t in terms if t in tokens]
        if not matched:
            continue
        if name == "expertise":
            why.extend(_explain_expertise(text, matched, language))
        else:
            why.append(Why(name, ", ".join(matched), " ".join(matched)))
        if name in {"headline", "bio", "position", "education"}:
            snippet = highlight(
                text,
                frozenset(matched),
                ANALYZER,
                ContextFragmenter(maxchars=160, surround=40),
                formatter,
                top=2,
            )
            if snippet:
                snippets[name] = snippet
    return why, snippets


def _explain_expertise(text: str, matched: list[str], language: str) -> list[Why]:
    """Per query word, the concept (or free tag) of the member's expertise it matched, named in
    the viewer's language; a broader concept names the member's concepts under it: "Solar
    photovoltaics (part of Renewable energy)". Lines as `search.documents._expertise` stores
    them: concepts first, so a word a concept holds itself is explained by that concept."""
    lines = [(ln.split(NARROWER), ln) for ln in text.splitlines()]
    why = []
    for query_word in matched:
        found = next(
            (parts for parts, ln in lines if query_word in {t.text for t in ANALYZER(parts[0])}),
            [query_word],
        )
        head = found[0].split("\t")
        if len(head) == 1:  # a free tag
            why.append(Why("expertise", head[0], query_word))
            continue
        index = 1 if language == "en" else 0
        label = head[index].removeprefix(BROADER)
        if len(found) > 1:  # a broader concept, through the member's narrower ones
            with force_locale(language):
                label = _(
                    "%(concepts)s (part of %(broader)s)",
                    concepts=", ".join(n.split("\t")[index] for n in found[1:]),
                    broader=label,
                )
        why.append(Why("expertise", label, query_word, "concept"))
    return why


def event_facet_counts(searcher: Any, query: Q.Query) -> dict[str, dict[str, int]]:
    """Counts over matching events; every value of a visible event is visible."""
    counts: dict[str, dict[str, int]] = {facet: {} for facet in EVENT_FACETS}
    _count(searcher, query, {str(Tier.PUBLIC)}, counts)
    return counts


def _explain_event(
    stored: dict[str, Any], terms: list[str], language: str
) -> tuple[list[Why], dict[str, str]]:
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
                line = next(
                    (ln for ln in text.splitlines() if word in {t.text for t in ANALYZER(ln)}), word
                )
                parts = line.split("\t")
                label = parts[1] if language == "en" and len(parts) > 1 else parts[0]
                why.append(Why("topics", label, word, "concept"))
        else:
            why.append(Why(name, ", ".join(matched), " ".join(matched)))
        if name == "body":
            snippet = highlight(
                text,
                frozenset(matched),
                ANALYZER,
                ContextFragmenter(maxchars=160, surround=40),
                HtmlFormatter(tagname="mark", between=" … "),
                top=2,
            )
            if snippet:
                snippets[name] = snippet
    return why, snippets


# Where a need's word matched, as `Why.field` (the index's own field names stay internal).
NEED_WHY_FIELDS = {
    "need_title": "title",
    "need_required": "required",
    "need_nice": "nice",
    "need_org": "organisation",
    "need_sector": "sector",
    "need_place": "state",
    "need_body": "description",
}
# Need fields holding one concept (or the sector) per line: Spanish label, English label, synonyms.
_NEED_CONCEPT_FIELDS = ("need_required", "need_nice", "need_sector")


def _explain_need(
    stored: dict[str, Any], terms: list[str], language: str
) -> tuple[list[Why], dict[str, str]]:
    """Which of a need's fields hold the query words; concepts and the sector are named by their
    label in the viewer's language, whichever language or synonym the word matched."""
    why: list[Why] = []
    snippets: dict[str, str] = {}
    for name in NEED_TEXT_FIELDS:
        text = stored.get(name) or ""
        matched = [t for t in terms if t in {tok.text for tok in ANALYZER(text)}]
        if not matched:
            continue
        if name in _NEED_CONCEPT_FIELDS:
            labels: dict[str, list[str]] = {}
            for word in matched:
                line = next(
                    (ln for ln in text.splitlines() if word in {t.text for t in ANALYZER(ln)}), word
                )
                parts = line.split("\t")
                label = parts[1] if language == "en" and len(parts) > 1 else parts[0]
                labels.setdefault(label, []).append(word)
            why.extend(
                Why(NEED_WHY_FIELDS[name], label, " ".join(words), "concept")
                for label, words in labels.items()
            )
        else:
            why.append(Why(NEED_WHY_FIELDS[name], ", ".join(matched), " ".join(matched)))
        if name == "need_body":
            snippet = highlight(
                text,
                frozenset(matched),
                ANALYZER,
                ContextFragmenter(maxchars=160, surround=40),
                HtmlFormatter(tagname="mark", between=" … "),
                top=2,
            )
            if snippet:
                snippets["description"] = snippet
    return why, snippets


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
    allowed = {"members": FACETS, "events": EVENT_FILTERS, "needs": NEED_FILTERS}.get(kind, ())
    chosen = {k: v for k, v in (filters or {}).items() if k in allowed and v}
    if chosen.get("when") not in {None, "upcoming", "past"}:
        del chosen["when"]
    if kind == "needs" and chosen.get("status") not in {None, *NEED_STATUS_FILTERS}:
        del chosen["status"]
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
    options = {"filters": chosen, "with_facets": with_facets and kind != "chapters"}
    result = _run(terms, viewer, kind, page, per_page, language, fuzzy=False, **options)
    if result.total == 0 and terms:
        fuzzy = _run(terms, viewer, kind, page, per_page, language, fuzzy=True, **options)
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
    counts = dict(known or {})
    if current_app.config["SEARCH_BACKEND"] == "postgres":
        from search import pg  # it builds on this module

        return pg.kind_counts(terms, viewer, counts)
    searcher = get_index().searcher()
    if "members" not in counts:
        expanded = _expand_members(searcher, terms, viewer)
        matches = _member_matches(searcher, terms, viewer, expanded, {})[1]
        counts["members"] = sum(m.bit_count() for m in matches)
    expanded = _expand(searcher, terms, [*EVENT_TEXT_FIELDS])
    queries = {
        "events": _event_query(terms, viewer, False, "upcoming", expanded),
        "chapters": _chapter_query(terms, False, expanded),
    }
    if "needs" not in counts:
        need_expanded = _expand(searcher, terms, [*NEED_TEXT_FIELDS])
        queries["needs"] = _need_query(terms, False, need_expanded)
    for kind, query in queries.items():
        if kind not in counts:
            counts[kind] = sum(1 for _ in query.docs(searcher))
    return {kind: counts[kind] for kind in KINDS}


def _run(
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
    if current_app.config["SEARCH_BACKEND"] == "postgres":
        from search import pg  # it builds on this module

        return pg.run(terms, viewer, kind, page, per_page, language, fuzzy, filters, with_facets)
    searcher = get_index().searcher()
    if kind == "members":
        return _run_members(
            searcher, terms, viewer, page, per_page, language, fuzzy, filters, with_facets
        )
    if kind == "needs":
        return _run_needs(searcher, terms, page, per_page, language, fuzzy, filters, with_facets)
    chosen = [
        Q.Term(f"f_{f}", f"{Tier.PUBLIC}|{v}")
        for f, v in sorted(filters.items())
        if f in EVENT_FACETS
    ]
    expanded = _expand(searcher, terms, [*EVENT_TEXT_FIELDS])
    if kind == "events":
        index_query = _event_query(terms, viewer, fuzzy, filters.get("when", "upcoming"), expanded)
        if chosen:
            index_query = Q.And([index_query, *chosen])
    else:
        index_query = _chapter_query(terms, fuzzy, expanded)
    # Events and chapters are a few thousand documents at most: Whoosh visits them all.
    order = sorting.FieldFacet("starts") if not terms else None  # browsing: soonest first
    results = _collect(searcher, index_query, order)
    words = _words(terms, expanded)
    hits: list[Hit] = []
    for hit in results:
        stored = hit.fields()
        item = Hit(stored["kind"], stored["obj_id"], round(float(hit.score), 3))
        if kind == "events":
            item.why, item.snippets = _explain_event(stored, words, language)
            item.confirmed = -stored.get("starts", 0)  # ties: the sooner event first
        else:
            item.why = [Why("chapter", stored.get("title", ""), " ".join(terms))]
        hits.append(item)
    if terms:
        hits.sort(key=lambda h: (-h.score, -h.confirmed))
    total = len(results)
    start = (max(page, 1) - 1) * per_page
    facets: dict[str, dict[str, int]] = {}
    if with_facets and kind == "events":
        facets = event_facet_counts(searcher, index_query) if total else {}
        # Both periods are always offered, each with its count, so past events can be found.
        when = filters.get("when", "upcoming")
        other = "upcoming" if when == "past" else "past"
        other_query = _event_query(terms, viewer, fuzzy, other, expanded)
        if chosen:
            other_query = Q.And([other_query, *chosen])
        facets["when"] = {when: total, other: sum(1 for _ in other_query.docs(searcher))}
    return SearchResult(
        " ".join(terms), terms, total, hits[start : start + per_page], facets=facets
    )


def _run_needs(
    searcher: Any,
    terms: list[str],
    page: int,
    per_page: int,
    language: str,
    fuzzy: bool,
    filters: dict[str, str],
    with_facets: bool,
) -> SearchResult:
    """Needs are public and a few thousand at most: Whoosh visits them all, like events.
    Browsing (no words) lists the most recently opened first."""
    expanded = _expand(searcher, terms, [*NEED_TEXT_FIELDS])
    index_query = _need_query(terms, fuzzy, expanded, filters)
    order = None if terms else sorting.FieldFacet("need_opened", reverse=True)
    results = _collect(searcher, index_query, order)
    words = _words(terms, expanded)
    hits: list[Hit] = []
    for hit in results:
        stored = hit.fields()
        item = Hit(
            "need",
            stored["obj_id"],
            round(float(hit.score), 3),
            confirmed=stored.get("need_opened", 0),
        )
        item.why, item.snippets = _explain_need(stored, words, language)
        hits.append(item)
    if terms:
        hits.sort(key=lambda h: (-h.score, -h.confirmed))  # ties: the more recently opened
    total = len(results)
    start = (max(page, 1) - 1) * per_page
    facets: dict[str, dict[str, int]] = {}
    if with_facets:
        public = {PUBLIC_TIER}
        facets = {facet: {} for facet in NEED_FACETS if facet != "status"}
        if total:
            _count(searcher, index_query, public, facets, need_facet_field)
        # Every status is offered with its count (and all of them together), so in-progress and
        # completed needs can be found although open ones are the default.
        statuses: dict[str, int] = {}
        every = _need_query(terms, fuzzy, expanded, {**filters, "status": "all"})
        _count(searcher, every, public, {"status": statuses}, need_facet_field)
        if statuses:
            statuses["all"] = sum(statuses.values())
        facets["status"] = statuses
    return SearchResult(
        " ".join(terms), terms, total, hits[start : start + per_page], facets=facets
    )


def mark_incomplete() -> None:
    """Say that this request's search ran out of SEARCH_TIME_BUDGET: its answer is partial (or
    empty), so no cache may keep it as the answer (`network.pagecache`)."""
    g.search_incomplete = True


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


def _member_matches(
    searcher: Any,
    terms: list[str],
    viewer: Viewer,
    expanded: dict[str, list[str]],
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


def _run_members(
    searcher: Any,
    terms: list[str],
    viewer: Viewer,
    page: int,
    per_page: int,
    language: str,
    fuzzy: bool,
    filters: dict[str, str],
    with_facets: bool,
) -> SearchResult:
    """Totals and facet counts from bitsets; Whoosh ranks the top CANDIDATES (BM25F, skipping
    postings that cannot make the top); only the shown page is explained."""
    expanded = _expand_members(searcher, terms, viewer, fuzzy)
    leaves, matches, own_bits = _member_matches(searcher, terms, viewer, expanded, filters)
    total = sum(m.bit_count() for m in matches)
    if not total:
        return SearchResult(" ".join(terms), terms, 0, [])
    facets = _member_facet_counts(leaves, matches, viewer, own_bits) if with_facets else {}
    scored = [t for t in terms if not t.endswith("*")]
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
        words_query = Q.Or(_member_clauses(scored, viewer, expanded, with_own))
        ranked = _collect(searcher, Q.And([bitsets.among(leaves, matches), words_query])).items()
    else:
        index_query = Q.And(_member_clauses(terms, viewer, expanded))
        if filters:
            index_query = Q.And(
                [index_query, *(_facet_filter(f, v, viewer) for f, v in sorted(filters.items()))]
            )
        if Tier.MEMBERS not in viewer.tiers_for(-1):  # the rule of _member_bits
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
    if terms:
        hits.sort(key=lambda h: (-h.score, -h.confirmed))  # ties go to the fresher profile
    start = (max(page, 1) - 1) * per_page
    shown = hits[start : start + per_page]
    words = _words(terms, expanded)
    for hit in shown:
        stored = searcher.stored_fields(hit.docnum)
        hit.why, hit.snippets = _explain(stored, words, viewer, language)
    return SearchResult(" ".join(terms), terms, total, shown, facets=facets)


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
        if not viewer.sees_members_events:
            query = query.where(Event.visibility == EventVisibility.PUBLIC)
        events = db.session.scalars(
            query.options(selectinload(Event.hosts), selectinload(Event.topics))
        ).all()
        by_event = {e.id: e for e in events}
        rows = [
            {"hit": h, "event": by_event[h.obj_id]} for h in result.hits if h.obj_id in by_event
        ]
    elif result.hits[0].kind == "need":
        rows = _need_rows(result, language)
    else:
        chapters = db.session.scalars(
            select(Chapter).where(Chapter.id.in_(ids)).options(selectinload(Chapter.region))
        ).all()
        by_id = {c.id: c for c in chapters}
        rows = [{"hit": h, "chapter": by_id[h.obj_id]} for h in result.hits if h.obj_id in by_id]
    return rows


def _need_rows(result: SearchResult, language: str) -> list[dict[str, Any]]:
    """Needs in rank order, each with its concepts in the viewer's language and whether the query
    matched them. The database decides again: a need closed since it was indexed is not shown."""
    ids = [hit.obj_id for hit in result.hits]
    needs = db.session.scalars(
        select(Need)
        .where(Need.id.in_(ids), Need.status.in_(PUBLISHED_STATUSES))
        .options(
            selectinload(Need.organisation),
            selectinload(Need.node),
            selectinload(Need.required_concepts),
            selectinload(Need.nice_concepts),
        )
    ).all()
    by_id = {n.id: n for n in needs}
    rows = []
    for hit in result.hits:
        need = by_id.get(hit.obj_id)
        if need is None:
            continue
        matched = {(w.field, w.matched) for w in hit.why if w.via == "concept"}
        concepts = [
            {
                "label": c.label(language),
                "required": field == "required",
                "matched": (field, c.label(language)) in matched,
            }
            for field, items in (("required", need.required_concepts), ("nice", need.nice_concepts))
            for c in items
        ]
        rows.append({"hit": hit, "need": need, "concepts": concepts})
    return rows
