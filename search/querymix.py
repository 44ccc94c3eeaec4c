"""Distinct search queries drawn from the data itself, for `make bench` and `make loadtest`.

Why not a fixed list: a fixed list of a few dozen queries asked again and again measures warm term
caches, not what people get when each types something different. The queries here come from the
database being measured (the vocabulary's labels and synonyms in both languages, chapter cities and
countries, Mexican states, members' surnames, two-word combinations and one-letter typos), in a
seeded order, so two runs on the same corpus ask the same things and every query is new to the
engine the first time it is asked.
"""

from __future__ import annotations

import random
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from chapters.models import Chapter, Node
from network.auth.models import User
from network.members.models import Concept

# The kinds of query in the mix, in the proportions people type them (labels and synonyms most).
KINDS: tuple[tuple[str, int], ...] = (
    ("label", 30),
    ("synonym", 20),
    ("place", 10),
    ("name", 10),
    ("pair", 20),
    ("typo", 10),
)


def _plain(text: str) -> str:
    """Without accents, as many people type on a keyboard without them."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()


def _typo(word: str, rng: random.Random) -> str:
    """One edit a hurried typist makes: a swapped pair, a dropped or a doubled letter."""
    if len(word) < 6:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 2)
    match rng.randrange(3):
        case 0:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        case 1:
            return word[:i] + word[i + 1 :]
        case _:
            return word[:i] + word[i] + word[i:]


def pools(session: Session) -> dict[str, list[str]]:
    """The raw material, read once: labels, synonyms, places and surnames (sorted, so a seed
    gives the same queries whatever order the database returns rows in)."""
    labels: set[str] = set()
    synonyms: set[str] = set()
    for concept in session.scalars(select(Concept)):
        labels.update((concept.label_es, concept.label_en))
        for text in (concept.synonyms_es, concept.synonyms_en):
            synonyms.update(s.strip() for s in text.split(";") if s.strip())
    places: set[str] = set(session.scalars(select(Chapter.city)))
    places.update(session.scalars(select(Node.name)))
    surnames: set[str] = set()
    for name in session.scalars(select(User.full_name).order_by(User.id).limit(5_000)):
        parts = name.split()
        if len(parts) >= 2:
            surnames.add(parts[-1])
    return {
        "label": sorted(labels),
        "synonym": sorted(synonyms - labels),
        "place": sorted(places),
        "name": sorted(surnames),
    }


def distinct_queries(
    session: Session, count: int, *, seed: int = 19, exclude: set[str] = frozenset()
) -> list[str]:
    """`count` different queries (compared without accents and case), none in `exclude`."""
    material = pools(session)
    rng = random.Random(seed)
    seen = {_plain(q) for q in exclude}
    queries: list[str] = []
    kinds = [kind for kind, _ in KINDS]
    weights = [weight for _, weight in KINDS]
    misses = 0  # draws in a row that gave nothing new: the corpus is used up
    while len(queries) < count:
        if misses > 5_000:
            raise ValueError(f"the corpus yields fewer than {count} distinct queries")
        misses += 1
        kind = rng.choices(kinds, weights)[0]
        match kind:
            case "pair":
                first = rng.choice(material["label"]).split()[0]
                second = rng.choice(material["place"] + material["name"])
                query = f"{first} {second}"
            case "typo":
                words = rng.choice(material["label"] + material["synonym"]).split()
                longest = max(words, key=len)
                query = _typo(longest.lower(), rng)
            case _:
                pool = material[kind]
                if not pool:
                    continue
                query = rng.choice(pool)
                if rng.random() < 0.3:
                    query = _plain(query)
        key = _plain(query)
        if len(key) < 3 or key in seen:
            continue
        seen.add(key)
        queries.append(query)
        misses = 0
    return queries
