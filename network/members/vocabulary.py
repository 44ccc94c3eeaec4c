"""The expertise vocabulary: loading the shipped concept file into the database, idempotently;
walking its broader/narrower relations; matching typed text to concepts; and IME's curation of
it (free tags mapped or corrected, concepts renamed or merged).

Curation changes only what the members domain holds (profiles' concepts and free tags, the
concepts themselves). Events' topics and needs' concepts are other domains' rows: a rename or a
merge announces itself with network.signals' concept_renamed or concept_merged, and those
domains follow in their own receivers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from network import audit
from network.auth.models import User
from network.db import db
from network.errors import ValidationError
from network.geo import current_language
from network.members.models import Concept, FreeTag, Profile, Sector, concept_broader
from network.signals import concept_merged, concept_renamed
from network.text import fold

VOCABULARY_FILE = Path(__file__).parent / "data" / "concepts.json"
MAX_FREE_TAG = 80
MAX_LABEL = 160
CONCEPT_TEXT_FIELDS = ("label_es", "label_en", "synonyms_es", "synonyms_en")


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


# ---------------------------------------------------------------- typed text to concepts


def resolve_expertise(items: list[str]) -> tuple[list[Concept], list[str]]:
    """Concept slugs or labels (either language, any accents) -> concepts; the rest free tags."""
    concepts: dict[int, Concept] = {}
    free: dict[str, str] = {}
    if not items:
        return [], []
    by_slug = {c.slug: c for c in db.session.scalars(select(Concept))}
    by_label: dict[str, Concept] = {}
    for concept in by_slug.values():
        by_label.setdefault(fold(concept.label_es), concept)
        by_label.setdefault(fold(concept.label_en), concept)
    for item in items:
        concept = by_slug.get(item.strip().lower()) or by_label.get(fold(item))
        if concept is not None:
            concepts[concept.id] = concept
        else:
            tag = _free_tag(item)
            free.setdefault(fold(tag), tag)
    return list(concepts.values()), list(free.values())


def concept_named(field: str, text: str) -> Concept:
    """The one concept a slug or label names, as IME types it to pick a concept; a
    ValidationError on `field` when none does."""
    concepts, _free = resolve_expertise([text])
    if not concepts:
        raise ValidationError(field, _l("No concept has that name or slug."))
    return concepts[0]


def _free_tag(text: str) -> str:
    """A free tag as stored: one line, no list separator, at most MAX_FREE_TAG characters."""
    return " ".join(text.replace(";", " ").split())[:MAX_FREE_TAG]


# ---------------------------------------------------------------- curation (IME)


def map_free_tag(admin: User | None, tag: str, concept: Concept) -> int:
    """Every member carrying this free tag gets the concept instead. Returns how many.

    The profiles' concept lists change through the ORM, so the search index rewrites each
    member's document after the commit, like any edited profile."""
    rows = _carrying(tag)
    for row in rows:
        profile = row.profile
        if concept not in profile.concepts:
            profile.concepts.append(concept)
        db.session.delete(row)
    db.session.flush()
    audit.record(
        admin, "tag.mapped", "concept", concept.id, f"“{tag}” → {concept.slug}: {len(rows)} members"
    )
    return len(rows)


def rename_free_tag(admin: User | None, tag: str, new_tag: str) -> int:
    """Correct a free tag on every profile carrying it (a profile that already has the new
    spelling keeps one). Returns how many profiles carried it."""
    new_tag = _free_tag(new_tag)
    if not new_tag:
        raise ValidationError("new_tag", _l("This field is required."))
    rows = _carrying(tag)
    for row in rows:
        duplicate = any(
            fold(t.tag) == fold(new_tag) and t is not row for t in row.profile.free_tags
        )
        if duplicate:
            db.session.delete(row)
        else:
            row.tag = new_tag
    db.session.flush()
    audit.record(admin, "tag.renamed", "free_tag", 0, f"“{tag}” → “{new_tag}”: {len(rows)} members")
    return len(rows)


def _carrying(tag: str) -> list[FreeTag]:
    """The rows of a free tag, one per member carrying it; refused when there are none left
    (another IME administrator mapped or renamed it meanwhile)."""
    rows = list(db.session.scalars(select(FreeTag).where(FreeTag.tag == tag)))
    if not rows:
        raise ValidationError("tag", _l("No member carries this tag any more."))
    return rows


def synonym_list(text: str) -> list[str]:
    """Synonyms as typed (one per line, or separated by ";") or as stored (";")."""
    return _clean_synonyms(re.split(r"[;\n]", text or ""))


def _clean_synonyms(items: Iterable[str]) -> list[str]:
    return [" ".join(item.split())[:MAX_LABEL] for item in items if item.strip()]


def _join_synonyms(items: list[str], *labels: str) -> str:
    """Synonyms without repeats (ignoring case and accents) and without the concept's own
    labels, which are matched anyway."""
    seen = {fold(label) for label in labels}
    kept = []
    for item in items:
        if fold(item) not in seen:
            seen.add(fold(item))
            kept.append(item)
    return ";".join(kept)


@dataclass(frozen=True)
class ConceptLabels:
    """A concept's names as IME corrects them: one label per language, and synonyms."""

    label_es: str
    label_en: str
    synonyms_es: Sequence[str] = ()
    synonyms_en: Sequence[str] = ()

    @classmethod
    def parse(cls, data: Mapping[str, str | None]) -> ConceptLabels:
        """From the rename form's fields (synonyms one per line or separated by ";")."""
        return cls(
            label_es=data.get("label_es") or "",
            label_en=data.get("label_en") or "",
            synonyms_es=synonym_list(data.get("synonyms_es") or ""),
            synonyms_en=synonym_list(data.get("synonyms_en") or ""),
        )


def rename_concept(admin: User | None, concept: Concept, data: ConceptLabels) -> Concept:
    """Correct a concept's labels and synonyms. Every profile, need and event holding the
    concept shows the new labels, since they refer to the concept itself; concept_renamed lets
    whoever copies labels elsewhere (the search index) follow.

    A label another concept already uses is refused: typed expertise is matched to concepts by
    label, so two concepts with one label would make one of them unreachable."""
    labels = {
        "label_es": " ".join(data.label_es.split()),
        "label_en": " ".join(data.label_en.split()),
    }
    for key, label in labels.items():
        if not label:
            raise ValidationError(key, _l("This field is required."))
        if len(label) > MAX_LABEL:
            raise ValidationError(key, _l("Keep it under %(n)d characters.", n=MAX_LABEL))
    others = db.session.scalars(select(Concept).where(Concept.id != concept.id))
    taken = {fold(label): other for other in others for label in (other.label_es, other.label_en)}
    for key, label in labels.items():
        other = taken.get(fold(label))
        if other is not None:
            raise ValidationError(
                key,
                _l("“%(label)s” is already the label of %(slug)s.", label=label, slug=other.slug),
            )
    new = {
        **labels,
        "synonyms_es": _join_synonyms(_clean_synonyms(data.synonyms_es), *labels.values()),
        "synonyms_en": _join_synonyms(_clean_synonyms(data.synonyms_en), *labels.values()),
    }
    changed = [key for key in CONCEPT_TEXT_FIELDS if getattr(concept, key) != new[key]]
    if not changed:
        return concept
    detail = "; ".join(f"{key}: {getattr(concept, key)} → {new[key]}" for key in changed)
    for key in changed:
        setattr(concept, key, new[key])
    concept.search_text = search_text_for(concept)
    db.session.flush()
    concept_renamed.send(concept, admin=admin)
    audit.record(admin, "concept.renamed", "concept", concept.id, detail)
    return concept


def swap_concept(concepts: list[Concept], source: Concept, target: Concept) -> None:
    """Replace `source` by `target` in a list of concepts that holds it, keeping one `target`:
    what a merge does to every holder (members here, events in their concept_merged receiver)."""
    concepts.remove(source)
    if target not in concepts:
        concepts.append(target)


def merge_concepts(
    admin: User | None, source: Concept, target: Concept, *, across_sectors: bool = False
) -> int:
    """Fold `source` into `target` and delete it: a duplicate in the vocabulary, or a concept
    too narrow to keep. Whoever held the source holds the target (once); the source's labels
    and synonyms become the target's synonyms, so it is still found by its old names. Returns
    how many members' expertise moved.

    Events and needs hold concepts too: concept_merged is sent before the source's row goes, so
    their domains move their references in their own receivers (a need that required the source
    requires the target). What a merge touches across domains is counted by whoever can see
    them all (IME's concept page) before it happens.

    Concepts of different sectors are merged only when `across_sectors` says so: the sector
    decides where members and needs are counted and filtered, so it is a deliberate choice."""
    if source.id == target.id:
        raise ValidationError("target", _l("A concept cannot be merged into itself."))
    if source.sector_id != target.sector_id and not across_sectors:
        language = current_language()
        raise ValidationError(
            "across_sectors",
            _l(
                "“%(source)s” is in the sector %(source_sector)s and “%(target)s” in "
                "%(target_sector)s. Confirm that you want to merge across sectors.",
                source=source.label(language),
                source_sector=source.sector.label(language),
                target=target.label(language),
                target_sector=target.sector.label(language),
            ),
        )
    profiles = db.session.scalars(
        select(Profile)
        .where(Profile.concepts.any(Concept.id == source.id))
        .options(selectinload(Profile.concepts))
    ).all()
    for profile in profiles:
        swap_concept(profile.concepts, source, target)
    # The hierarchy moves too: what sat under the source sits under the target, and the target
    # sits wherever the source did (never under or over itself), or a broader concept would stop
    # reaching the source's experts after the merge.
    for broader in list(source.broader):
        if broader is not target and broader not in target.broader:
            target.broader.append(broader)
    for narrower in list(source.narrower):
        if narrower is not target and narrower not in target.narrower:
            target.narrower.append(narrower)
    labels = (target.label_es, target.label_en)
    for language in ("es", "en"):
        key = f"synonyms_{language}"
        merged = [
            *synonym_list(getattr(target, key)),
            getattr(source, f"label_{language}"),
            *synonym_list(getattr(source, key)),
        ]
        setattr(target, key, _join_synonyms(merged, *labels))
    target.search_text = search_text_for(target)
    db.session.flush()
    # Each receiver says what it moved, so the audit entry counts every holder without this
    # domain knowing which domains hold concepts.
    moved = Counter({"members": len(profiles), "needs": 0, "events": 0})
    for _receiver, counts in concept_merged.send(source, target=target, admin=admin):
        moved.update(counts or {})
    audit.record(
        admin,
        "concept.merged",
        "concept",
        target.id,
        f"{source.slug} (#{source.id}) → {target.slug}: "
        + ", ".join(f"{count} {holder}" for holder, count in moved.items()),
    )
    db.session.delete(source)
    db.session.flush()
    return len(profiles)
