"""Members read in bulk for a full rebuild: the same documents, without an ORM object per row.

`flask search reindex` on 100,000 members spent four fifths of its time in the ORM: about a
million objects (profiles, accounts, memberships, tags, languages, modes, education), and one
lazy query per profile for its concepts' broader concepts, which the identity map had let go
since the previous batch. Here a batch of profiles is read with one Core query per table, the
vocabulary, chapters and states once, and `member_document` is given light rows carrying the
attributes it reads and the models' own properties (`visibility`, `mentoring_is_full`,
`is_suspended`), so a rebuilt document is the document the session hooks write for the same
member: one adapter, two ways of reading its input (pinned by tests/search/test_rebuild.py).
Collections keep the order their relationships declare (`order_by`), in the database's
collation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from chapters.models import Chapter, ChapterMembership, Node, Region
from network.auth.models import User
from network.members.models import (
    Concept,
    EducationEntry,
    FreeTag,
    Profile,
    ProfileLanguage,
    ProfileMode,
    Sector,
    concept_broader,
    profile_concepts,
)
from search.documents import member_document

# Profiles per batch: a handful of queries each, and a few MB of rows held at a time.
BATCH = 2000


class _Row(SimpleNamespace):
    """A row's columns as attributes, plus the relationships attached to it here."""


class _ProfileRow(_Row):
    visibility = Profile.visibility
    mentoring_is_full = Profile.mentoring_is_full


class _UserRow(_Row):
    is_suspended = User.is_suspended


def _vocabulary(session: Session) -> dict[int, _Row]:
    """Every concept with its sector and broader concepts (ordered by slug, as
    `Concept.broader` is), as `_expertise` walks them."""
    sectors = {r.id: _Row(**r._mapping) for r in session.execute(select(Sector.__table__))}
    concepts = {
        r.id: _Row(**r._mapping, sector=sectors[r.sector_id], broader=[])
        for r in session.execute(select(Concept.__table__))
    }
    links = session.execute(
        select(concept_broader.c.concept_id, concept_broader.c.broader_id)
        .join(Concept, Concept.id == concept_broader.c.broader_id)
        .order_by(concept_broader.c.concept_id, Concept.slug)
    )
    for concept_id, broader_id in links:
        concepts[concept_id].broader.append(concepts[broader_id])
    return concepts


def _chapters(session: Session) -> dict[int, _Row]:
    regions = {r.id: _Row(**r._mapping) for r in session.execute(select(Region.__table__))}
    return {
        r.id: _Row(**r._mapping, region=regions[r.region_id])
        for r in session.execute(select(Chapter.__table__))
    }


def _grouped(session: Session, statement: Select[Any]) -> defaultdict[int, list[Any]]:
    """Rows by their first column (the owner's id), in the statement's order."""
    groups: defaultdict[int, list[Any]] = defaultdict(list)
    for row in session.execute(statement):
        groups[row[0]].append(row)
    return groups


def member_documents(session: Session) -> Iterator[dict[str, Any] | None]:
    """`member_document` of every profile, in id order (None for a member not to be listed)."""
    concepts = _vocabulary(session)
    chapters = _chapters(session)
    nodes = {r.id: _Row(**r._mapping) for r in session.execute(select(Node.__table__))}
    after = 0
    while True:
        profiles = [
            _ProfileRow(**r._mapping)
            for r in session.execute(
                select(Profile.__table__)
                .where(Profile.id > after)
                .order_by(Profile.id)
                .limit(BATCH)
            )
        ]
        if not profiles:
            return
        after = profiles[-1].id
        in_batch = Profile.id.between(profiles[0].id, after)
        users = {
            r.id: _UserRow(**r._mapping)
            for r in session.execute(
                select(User.__table__).join(Profile, Profile.user_id == User.id).where(in_batch)
            )
        }
        memberships = _grouped(
            session,
            select(
                ChapterMembership.user_id, ChapterMembership.chapter_id, ChapterMembership.status
            )
            .join(Profile, Profile.user_id == ChapterMembership.user_id)
            .where(in_batch)
            .order_by(ChapterMembership.user_id, ChapterMembership.id),
        )
        held = _grouped(
            session,
            select(profile_concepts.c.profile_id, profile_concepts.c.concept_id)
            .join(Concept, Concept.id == profile_concepts.c.concept_id)
            .where(profile_concepts.c.profile_id.between(profiles[0].id, after))
            .order_by(profile_concepts.c.profile_id, Concept.label_es, Concept.id),
        )
        children = {
            name: _grouped(
                session,
                select(model.profile_id, *columns)
                .where(model.profile_id.between(profiles[0].id, after))
                .order_by(model.profile_id, *order),
            )
            for name, model, columns, order in (
                ("free_tags", FreeTag, [FreeTag.tag], [FreeTag.tag, FreeTag.id]),
                (
                    "languages",
                    ProfileLanguage,
                    [ProfileLanguage.code],
                    [ProfileLanguage.position, ProfileLanguage.id],
                ),
                ("modes", ProfileMode, [ProfileMode.mode], [ProfileMode.mode]),
                (
                    "education",
                    EducationEntry,
                    [EducationEntry.degree, EducationEntry.field, EducationEntry.institution],
                    [EducationEntry.position, EducationEntry.id],
                ),
            )
        }
        for profile in profiles:
            user = users[profile.user_id]
            user.memberships = [
                _Row(chapter_id=m.chapter_id, status=m.status, chapter=chapters[m.chapter_id])
                for m in memberships.get(user.id, ())
            ]
            profile.user = user
            profile.state_of_origin = nodes.get(profile.state_of_origin_id)
            profile.concepts = [concepts[row.concept_id] for row in held.get(profile.id, ())]
            for name, groups in children.items():
                setattr(profile, name, groups.get(profile.id, []))
            yield member_document(profile)
