"""Why a result matched, and highlighted snippets of where: the same for every backend.

Backends hand over a document's stored texts and the indexed words the query matched; the
explanations are made here from those texts, checking each member field's tier again for the
viewer, so a hidden field can never be named nor quoted.
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from whoosh.highlight import ContextFragmenter, HtmlFormatter, highlight
from whoosh.support.charset import accent_map

from network.visibility import Tier, Viewer
from search.documents import BROADER, NARROWER
from search.results import Hit, Why
from search.schema import (
    ANALYZER,
    EVENT_TEXT_FIELDS,
    FIELD_VISIBILITY,
    NEED_TEXT_FIELDS,
    PUBLIC_TIER,
)

Explanation = tuple[list[Why], dict[str, str]]
# Member fields quoted in snippets (the others are short: naming the words is enough).
MEMBER_SNIPPET_FIELDS = frozenset({"headline", "bio", "position", "education"})
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


def _words_of(text: str) -> set[str]:
    return {token.text for token in ANALYZER(text)}


def _snippet(text: str, matched: list[str]) -> str:
    """The passages of a text around the matched words, marked, at most two."""
    return highlight(
        text,
        frozenset(matched),
        ANALYZER,
        ContextFragmenter(maxchars=160, surround=40),
        HtmlFormatter(tagname="mark", between=" … "),
        top=2,
    )


def _concept_label(text: str, word: str, language: str) -> str:
    """The label, in the viewer's language, of the concept line (Spanish label, English label,
    synonyms) holding this word."""
    line = next((ln for ln in text.splitlines() if word in _words_of(ln)), word)
    parts = line.split("\t")
    return parts[1] if language == "en" and len(parts) > 1 else parts[0]


def explain_member(
    stored: dict[str, Any], terms: list[str], viewer: Viewer, language: str
) -> Explanation:
    """Which visible fields hold which query words, and highlighted snippets of them."""
    why: list[Why] = []
    snippets: dict[str, str] = {}
    tiers = json.loads(stored.get("tiers_blob") or "{}")
    held = viewer.tiers_for(stored["obj_id"])
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
        tokens = _words_of(text)
        matched = [t for t in terms if t in tokens]
        if not matched:
            continue
        if name == "expertise":
            why.extend(_explain_expertise(text, matched, language))
        else:
            why.append(Why(name, ", ".join(matched), " ".join(matched)))
        if name in MEMBER_SNIPPET_FIELDS:
            snippet = _snippet(text, matched)
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
            (parts for parts, ln in lines if query_word in _words_of(parts[0])),
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


def _explain_fields(
    stored: dict[str, Any],
    terms: list[str],
    language: str,
    fields: dict[str, str],
    concept_fields: tuple[str, ...],
    snippet_field: str,
    per_word: bool,
) -> Explanation:
    """Which of a public document's fields hold the query words (`fields`: indexed name ->
    the name a reason gives). Fields of concepts (one per line: Spanish label, English label,
    synonyms) are named by the label in the viewer's language, whichever language or synonym
    the word matched: one reason per word (`per_word`), or per concept with its words."""
    why: list[Why] = []
    snippets: dict[str, str] = {}
    for name, shown in fields.items():
        text = stored.get(name) or ""
        matched = [t for t in terms if t in _words_of(text)]
        if not matched:
            continue
        if name in concept_fields:
            concepts: dict[tuple[str, ...], list[str]] = {}
            for word in matched:
                label = _concept_label(text, word, language)
                concepts.setdefault((label, word) if per_word else (label,), []).append(word)
            why.extend(
                Why(shown, key[0], " ".join(words), "concept") for key, words in concepts.items()
            )
        else:
            why.append(Why(shown, ", ".join(matched), " ".join(matched)))
        if name == snippet_field:
            snippet = _snippet(text, matched)
            if snippet:
                snippets[shown] = snippet
    return why, snippets


def explain_event(stored: dict[str, Any], terms: list[str], language: str) -> Explanation:
    """Which of an event's fields hold the query words; each word found in the topics names
    its concept."""
    fields = {name: name for name in EVENT_TEXT_FIELDS}
    return _explain_fields(stored, terms, language, fields, ("topics",), "body", per_word=True)


def explain_need(stored: dict[str, Any], terms: list[str], language: str) -> Explanation:
    """Which of a need's fields hold the query words; concepts and the sector are named once,
    with the words that found them."""
    fields = {name: NEED_WHY_FIELDS[name] for name in NEED_TEXT_FIELDS}
    return _explain_fields(
        stored, terms, language, fields, _NEED_CONCEPT_FIELDS, "need_body", per_word=False
    )


def listed_hit(
    kind: str,
    obj_id: int,
    score: float,
    stored: dict[str, Any],
    terms: list[str],
    words: list[str],
    language: str,
) -> Hit:
    """An event, chapter or need hit, explained: `words` are the indexed words the query
    matched (`terms` as typed, for chapters, which name the whole query). Ties go to the sooner
    event and to the more recently opened need."""
    hit = Hit(kind, obj_id, round(float(score), 3))
    if kind == "event":
        hit.confirmed = -(stored.get("starts") or 0)
        hit.why, hit.snippets = explain_event(stored, words, language)
    elif kind == "need":
        hit.confirmed = stored.get("need_opened") or 0
        hit.why, hit.snippets = explain_need(stored, words, language)
    else:
        hit.why = [Why("chapter", stored.get("title", ""), " ".join(terms))]
    return hit
