"""The Whoosh schema and the one analyzer used for indexing and querying.

Decisions pinned by tests:
- case and accents fold in both directions ("lopez" = "López", "sao paulo" = "São Paulo");
- "ñ" folds to "n", so "pena" finds "Peña" (and "peña" finds "Pena"). People abroad often type
  on keyboards without ñ; the rare collision ("año"/"ano") costs less than missing a surname;
- Spanish and English plurals reduce to the singular ("ingenieros" = "ingeniero",
  "engineers" = "engineer") by a small suffix rule, applied identically at both ends.
"""

from __future__ import annotations

from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StopFilter
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


class PluralFilter(Filter):
    """Strip regular Spanish/English plural endings: -es after a consonant, else a final -s."""

    def __call__(self, tokens):
        for token in tokens:
            word = token.text
            if len(word) > 4 and word.endswith("es") and word[-3] not in "aeiou":
                # "doctores" -> "doctor", "paises" -> "pais"; "ingenieros" takes the -s rule
                token.text = word[:-2]
            elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                token.text = word[:-1]
            yield token


def analyzer():
    return (
        RegexTokenizer(r"\w+(?:[.'@-]\w+)*")
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
        | PluralFilter()
    )


ANALYZER = analyzer()

# Member fields that can be searched, each indexed with its visibility tier (`<field>_tier`).
# The weight is the BM25F field boost: who someone is and what they know count most.
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

# Which profile visibility field governs each searchable field ("name" has its own rule).
FIELD_VISIBILITY = {
    "expertise": "expertise", "headline": "headline", "position": "position",
    "state_of_origin": "state_of_origin", "city": "city", "country": "country",
    "chapters": "chapters", "languages": "languages", "education": "education", "bio": "bio",
    "email": "email", "phone": "phone",
}  # fmt: skip


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


def build_schema() -> Schema:
    fields = {
        "key": ID(unique=True, stored=True),
        "kind": ID(stored=True),
        "obj_id": NUMERIC(stored=True, numtype=int, bits=64),
        "confirmed": NUMERIC(stored=True, numtype=int, bits=64),
        # Internal, never shown nor filterable by users: the chapters whose coordinators hold
        # the "coordinators" tier for this member.
        "coord_chapters": KEYWORD(commas=True),
        "tiers_blob": STORED(),
    }
    for name, boost in MEMBER_TEXT_FIELDS.items():
        fields[name] = TEXT(analyzer=ANALYZER, stored=True, field_boost=boost)
        fields[f"{name}_tier"] = ID()
    for facet in [*FACETS, "format"]:
        fields[f"f_{facet}"] = KEYWORD(commas=True)
    # Chapters use title and body; events all four, with their time and who may see them.
    for name, boost in EVENT_TEXT_FIELDS.items():
        fields[name] = TEXT(analyzer=ANALYZER, stored=True, field_boost=boost)
    fields["starts"] = NUMERIC(stored=True, numtype=int, bits=64)
    fields["ends"] = NUMERIC(stored=True, numtype=int, bits=64)
    fields["event_tier"] = ID()
    return Schema(**fields)


SCHEMA = build_schema()
PUBLIC_TIER = str(Tier.PUBLIC)
