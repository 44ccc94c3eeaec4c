"""The Whoosh schema and the one analyzer used for indexing and querying.

Decisions pinned by tests:
- case and accents fold in both directions ("lopez" = "López", "sao paulo" = "São Paulo");
- "ñ" folds to "n", so "pena" finds "Peña" (and "peña" finds "Pena"). People abroad often type
  on keyboards without ñ; the rare collision ("año"/"ano") costs less than missing a surname;
- Spanish and English plurals reduce to the singular ("ingenieros" = "ingeniero",
  "engineers" = "engineer") by a small suffix rule, applied identically at both ends;
- a hyphenated word is its parts ("Müller-García" is "muller" and "garcia"), at both ends, so
  "muller garcia", "garcia" and "Müller-García" all find her, as PostgreSQL's parser does.
  E-mail addresses stay whole ("ana-maria@ejemplo.mx" is one word).
"""

from __future__ import annotations

from whoosh.analysis import Filter, RegexTokenizer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

from network.visibility import Tier

# Words too common in either language to help find anyone.
STOP_WORDS = frozenset(
    [
        "a",
        "al",
        "and",
        "de",
        "del",
        "el",
        "en",
        "for",
        "in",
        "la",
        "las",
        "los",
        "of",
        "on",
        "or",
        "the",
        "to",
        "un",
        "una",
        "y",
        "con",
        "por",
        "para",
    ]
)


class FoldFilter(Filter):
    """Lowercase, fold accents, drop stop words and strip regular Spanish/English plural
    endings (-es after a consonant, else a final -s), in one pass: one generator per token
    instead of four, which is a sixth of a full rebuild's analysis time."""

    def __call__(self, tokens):
        stop = STOP_WORDS
        for token in tokens:
            word = token.text.lower().translate(accent_map)
            if word in stop:
                continue
            if len(word) > 4 and word.endswith("es") and word[-3] not in "aeiou":
                # "doctores" -> "doctor", "paises" -> "pais"; "ingenieros" takes the -s rule
                word = word[:-2]
            elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            token.text = word
            yield token


class CompoundFilter(Filter):
    """Split hyphenated words into their parts (Spanish double surnames are often hyphenated:
    "Müller-García"), keeping each part's place in the text for highlighting. Runs before
    folding, on the text as written; e-mail addresses are left whole."""

    def __call__(self, tokens):
        for token in tokens:
            text = token.text
            if "-" not in text or "@" in text:
                yield token
                continue
            start = getattr(token, "startchar", None)
            offset = 0
            for part in text.split("-"):
                if part:
                    token.text = part
                    if start is not None:
                        token.startchar = start + offset
                        token.endchar = start + offset + len(part)
                    yield token
                offset += len(part) + 1


class PluralFilter(Filter):
    """The plural rule before FoldFilter took it in. Kept only so that an index built by an
    older version still opens (Whoosh pickles the analyzer); the app then rebuilds it."""

    def __call__(self, tokens):
        return tokens


def analyzer():
    return RegexTokenizer(r"\w+(?:[.'@-]\w+)*") | CompoundFilter() | FoldFilter()


ANALYZER = analyzer()

# Member fields that can be searched, each indexed under its visibility tier (`tier_field`).
# The weight says what counts most (who someone is and what they know); the index uses it by
# group (MEMBER_FIELD_GROUPS), the FTS5 reference of the bench per field.
MEMBER_TEXT_FIELDS: dict[str, float] = {
    "name": 3.0,
    "expertise": 2.5,
    "headline": 2.0,
    "position": 1.5,
    "state_of_origin": 1.5,
    "city": 1.2,
    "country": 1.2,
    "chapters": 1.0,
    "languages": 1.0,
    "education": 1.0,
    "bio": 0.8,
    "email": 1.0,
    "phone": 1.0,
}

# Member text is indexed in three weight groups (the BM25F field boost of each), per tier: few
# fields keep Whoosh's matcher tree small (a word is looked up in 3 groups x the viewer's tiers,
# not in 13 fields), which is most of a query's cost at 100,000 members.
MEMBER_FIELD_GROUPS: dict[str, tuple[float, tuple[str, ...]]] = {
    "high": (2.5, ("name", "expertise", "headline")),
    "mid": (
        1.3,
        ("position", "state_of_origin", "city", "country", "chapters", "languages", "education"),
    ),
    "low": (0.9, ("bio", "email", "phone")),
}
GROUP_OF = {name: group for group, (_b, names) in MEMBER_FIELD_GROUPS.items() for name in names}

# Which profile visibility field governs each searchable field ("name" has its own rule).
FIELD_VISIBILITY = {
    "expertise": "expertise",
    "headline": "headline",
    "position": "position",
    "state_of_origin": "state_of_origin",
    "city": "city",
    "country": "country",
    "chapters": "chapters",
    "languages": "languages",
    "education": "education",
    "bio": "bio",
    "email": "email",
    "phone": "phone",
}


# Facets of members: each value is indexed as "<tier>|<value>", so counts and filters can only
# ever use values the viewer may see. facet -> the profile field whose tier governs it.
FACETS = {
    "country": "country",
    "state": "state_of_origin",
    "region": "chapters",
    "chapter": "chapters",
    "sector": "expertise",
    "concept": "expertise",
    "language": "languages",
    "mode": "modes",
    "mentoring": "mentoring",
    "timezone": "timezone",
}

# Event facets are indexed with the public tier: an event document only matches viewers allowed to
# see the event at all (see `event_tier`), and everything about a visible event is visible.
EVENT_FACETS = ("country", "region", "chapter", "concept", "language", "format")
EVENT_TEXT_FIELDS: dict[str, float] = {"title": 3.0, "topics": 2.5, "place": 1.2, "body": 1.0}

# Development needs have fields of their own, so that member documents and member queries never
# meet them. Published needs are public: no tiers. Concepts (and the sector) are indexed one per
# line, Spanish label, English label, then synonyms, tab-separated, as event topics are.
NEED_TEXT_FIELDS: dict[str, float] = {
    "need_title": 3.0,
    "need_required": 2.5,
    "need_nice": 1.5,
    "need_org": 1.5,
    "need_sector": 1.2,
    "need_place": 1.2,
    "need_body": 1.0,
}
# Facets of needs, each value indexed as "public|<value>" in `need_facet_field(facet)`.
NEED_FACETS = ("sector", "state", "concept", "language", "mode", "remote", "status")


def tier_field(group: str, tier: str) -> str:
    """The indexed field holding a member's texts of weight group `group` and tier `tier`."""
    return f"{group}__{tier}"


def need_facet_field(facet: str) -> str:
    """The indexed field of a need facet (not the members' `f_<facet>`: needs keep to their own)."""
    return f"nf_{facet}"


def build_schema() -> Schema:
    fields = {
        "key": ID(unique=True, stored=True),
        "kind": ID(stored=True),
        # Columns too: ranking reads them for hundreds of hits without loading stored fields.
        # One indexed term each (shift_step=64): they are matched exactly or read as columns,
        # never ranged, and the default 16 "trie" terms per value were a fifth of all postings.
        "obj_id": NUMERIC(stored=True, numtype=int, bits=64, sortable=True, shift_step=64),
        "confirmed": NUMERIC(stored=True, numtype=int, bits=64, sortable=True, shift_step=64),
        # Internal, never shown nor filterable by users: the chapters whose coordinators hold
        # the "coordinators" tier for this member.
        "coord_chapters": KEYWORD(commas=True),
        "tiers_blob": STORED(),
        # Who may see the member's name (public, or members): who may not, may not find them.
        "name_tier": ID(stored=True),
    }
    # A member's text is indexed once, in the field of its tier: a viewer's query only names the
    # fields of the tiers they hold, so hidden words can neither match nor weigh in the ranking,
    # and no dense "which tier" filter has to be intersected with every word. Kept for snippets
    # and explanations in a stored-only field of the plain name. No positions: no phrase search.
    for name in MEMBER_TEXT_FIELDS:
        fields[name] = STORED()
    for group, (boost, _names) in MEMBER_FIELD_GROUPS.items():
        for tier in Tier:
            fields[tier_field(group, tier)] = TEXT(
                analyzer=ANALYZER, field_boost=boost, phrase=False
            )
    for facet in [*FACETS, "format"]:
        fields[f"f_{facet}"] = KEYWORD(commas=True)
    # Chapters use title and body; events all four, with their time and who may see them.
    for name, boost in EVENT_TEXT_FIELDS.items():
        fields[name] = TEXT(analyzer=ANALYZER, stored=True, field_boost=boost, phrase=False)
    fields["starts"] = NUMERIC(stored=True, numtype=int, bits=64)
    fields["ends"] = NUMERIC(stored=True, numtype=int, bits=64)
    fields["event_tier"] = ID()
    for name, boost in NEED_TEXT_FIELDS.items():
        fields[name] = TEXT(analyzer=ANALYZER, stored=True, field_boost=boost, phrase=False)
    for facet in NEED_FACETS:
        fields[need_facet_field(facet)] = KEYWORD(commas=True)
    # When the need was opened: browsing lists the newest first, and it breaks ties.
    fields["need_opened"] = NUMERIC(stored=True, numtype=int, bits=64)
    return Schema(**fields)


SCHEMA = build_schema()
PUBLIC_TIER = str(Tier.PUBLIC)
