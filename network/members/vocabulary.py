"""The expertise vocabulary: loading the shipped concept file into the database, idempotently,
and walking its broader/narrower relations."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from network.db import db
from network.members.models import Concept, Sector, concept_broader
from network.text import fold

VOCABULARY_FILE = Path(__file__).parent / "data" / "concepts.json"


def search_text_for(concept: Concept) -> str:
    """Everything a concept may be found by, folded: both labels and all synonyms."""
    parts = [concept.slug.replace("-", " "), concept.label_es, concept.label_en]
    parts += concept.synonyms_es.split(";") + concept.synonyms_en.split(";")
    return " | ".join(fold(p) for p in parts if p.strip())


def load_vocabulary(path: Path = VOCABULARY_FILE) -> dict[str, int]:
    """Create or update sectors and concepts by slug. Running it twice changes nothing;
    concepts an administrator added by hand are kept."""
    data = json.loads(path.read_text(encoding="utf-8"))
    counts = {"sectors": 0, "concepts": 0, "updated": 0}
    sectors = {s.slug: s for s in db.session.scalars(select(Sector))}
    for row in data["sectors"]:
        sector = sectors.get(row["slug"])
        if sector is None:
            sector = sectors[row["slug"]] = Sector(slug=row["slug"])
            db.session.add(sector)
            counts["sectors"] += 1
        sector.label_es, sector.label_en = row["es"], row["en"]
    db.session.flush()
    concepts = {c.slug: c for c in db.session.scalars(select(Concept))}
    created: set[str] = set()
    for row in data["concepts"]:
        concept = concepts.get(row["slug"])
        values = {
            "sector_id": sectors[row["sector"]].id,
            "label_es": row["es"],
            "label_en": row["en"],
            "synonyms_es": ";".join(row.get("synonyms_es", [])),
            "synonyms_en": ";".join(row.get("synonyms_en", [])),
        }
        if concept is None:
            concept = concepts[row["slug"]] = Concept(slug=row["slug"], **values)
            db.session.add(concept)
            created.add(row["slug"])
            counts["concepts"] += 1
        elif any(getattr(concept, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(concept, key, value)
            counts["updated"] += 1
        concept.search_text = search_text_for(concept)
    db.session.flush()
    # Narrower concepts, once every concept exists: a broader concept may name one listed later.
    for row in data["concepts"]:
        if "narrower" not in row:
            continue
        concept = concepts[row["slug"]]
        wanted = sorted(row["narrower"])
        if sorted(c.slug for c in concept.narrower) != wanted:
            concept.narrower = [concepts[slug] for slug in wanted]
            # A concept created in this run is counted once, as created, not again for its links.
            counts["updated"] += row["slug"] not in created
    db.session.flush()
    return counts


def narrower_of(concept_ids: set[int]) -> dict[int, set[int]]:
    """concept id -> every concept under it, at any depth (not itself): "Energy transition"
    reaches "Renewable energy" and, through it, "Solar photovoltaics". One query per level;
    a cycle someone made by hand ends the walk instead of looping."""
    below: dict[int, set[int]] = {cid: set() for cid in concept_ids}
    parents = {cid: {cid} for cid in concept_ids}  # frontier concept -> the roots it came from
    while parents:
        rows = db.session.execute(
            select(concept_broader.c.broader_id, concept_broader.c.concept_id).where(
                concept_broader.c.broader_id.in_(parents)
            )
        ).all()
        frontier: dict[int, set[int]] = {}
        for broader_id, child_id in rows:
            for root in parents[broader_id]:
                if child_id != root and child_id not in below[root]:
                    below[root].add(child_id)
                    frontier.setdefault(child_id, set()).add(root)
        parents = frontier
    return below
