"""One adapter per searchable kind: what of an object goes into the index, with its tiers."""

from __future__ import annotations

import functools
import json
from typing import Any

from babel import Locale

from chapters.models import Chapter, MembershipStatus
from network.events.models import Event, EventFormat, EventStatus
from network.geo import country_name
from network.members.models import Concept, Profile
from network.needs.models import PUBLISHED_STATUSES, Need
from network.security import Role
from search.schema import (
    EVENT_FACETS,
    FACETS,
    FIELD_VISIBILITY,
    GROUP_OF,
    NEED_FACETS,
    PUBLIC_TIER,
    need_facet_field,
    tier_field,
)


def member_key(user_id: int) -> str:
    return f"member:{user_id}"


def chapter_key(chapter_id: int) -> str:
    return f"chapter:{chapter_id}"


def event_key(event_id: int) -> str:
    return f"event:{event_id}"


def need_key(need_id: int) -> str:
    return f"need:{need_id}"


def concept_line(concept: Concept) -> str:
    """A concept as one indexed line: Spanish label, English label, then synonyms, tab-separated,
    so that a word of either language finds it and the explanation can name the concept."""
    synonyms = (concept.synonyms_es + ";" + concept.synonyms_en).split(";")
    return "\t".join([concept.label_es, concept.label_en, *[s for s in synonyms if s]])


@functools.lru_cache(maxsize=512)
def _language_names(code: str) -> str:
    names = {Locale.parse(loc).languages.get(code, "") for loc in ("es", "en")}
    return " ".join(sorted(n for n in names if n)) + f" {code}"


# A broader concept's line in a member's expertise starts with BROADER; in the stored text (what
# explanations read) it ends with the member's concepts under it, each after NARROWER.
BROADER = "\u2191"
NARROWER = "\t\u2193"


def _concept_line(concept: Concept) -> str:
    """Spanish label, English label, then synonyms, tab-separated, so that "hydrology" finds a
    member tagged "hidrología" and the explanation can name the concept."""
    synonyms = [s for s in (concept.synonyms_es + ";" + concept.synonyms_en).split(";") if s]
    return "\t".join([concept.label_es, concept.label_en, *synonyms])


def _expertise(profile: Profile) -> tuple[str, str]:
    """A member's expertise as indexed, and as stored: one line per concept, then one per
    broader concept of those (at any depth), so "renewable energy" finds a solar engineer; then
    the free tags. The stored text names, on a broader line, the member's concepts under it."""
    held = list(profile.concepts)
    under: dict[int, tuple[Concept, list[Concept]]] = {}
    for concept in held:
        seen: set[int] = set()
        stack = list(concept.broader)
        while stack:
            broader = stack.pop()
            if broader.id in seen:
                continue
            seen.add(broader.id)
            under.setdefault(broader.id, (broader, []))[1].append(concept)
            stack.extend(broader.broader)
    held_ids = {c.id for c in held}
    broader_lines = [
        (BROADER + _concept_line(b), [f"{c.label_es}\t{c.label_en}" for c in below])
        for b, below in sorted(under.values(), key=lambda item: item[0].slug)
        if b.id not in held_ids
    ]
    lines = [_concept_line(c) for c in held]
    tags = [tag.tag for tag in profile.free_tags]
    indexed = [*lines, *(line for line, _below in broader_lines), *tags]
    stored = [
        *lines,
        *(line + "".join(NARROWER + n for n in below) for line, below in broader_lines),
    ]
    return "\n".join(indexed), "\n".join([*stored, *tags])


def member_document(profile: Profile) -> dict[str, Any] | None:
    """The index entry of a listed member, or None if the member must not be searchable (not a
    confirmed member, or suspended by IME: None makes the indexer delete the document)."""
    user = profile.user
    if user.role != Role.MEMBER or user.email_confirmed_at is None or user.is_suspended:
        return None
    tiers = profile.visibility
    approved = [m for m in user.memberships if m.status == MembershipStatus.APPROVED]
    expertise, stored_expertise = _expertise(profile)
    country = ""
    if profile.country:
        # In a fixed order (a set's order changed with each process's hash seed, so two
        # rebuilds stored different text), once each.
        country = " ".join(
            dict.fromkeys(
                [
                    country_name(profile.country, "es"),
                    country_name(profile.country, "en"),
                    profile.country,
                ]
            )
        )
    texts = {
        "expertise": expertise,
        "headline": profile.headline,
        "position": " ".join(filter(None, [profile.position, profile.employer])),
        "state_of_origin": (
            f"{profile.state_of_origin.name} {profile.state_of_origin.code}"
            if profile.state_of_origin
            else ""
        ),
        "city": profile.city,
        "country": country,
        "chapters": "\n".join(f"{m.chapter.name} {m.chapter.city}" for m in approved),
        "languages": " ".join(_language_names(lang.code) for lang in profile.languages),
        "education": "\n".join(
            " ".join(filter(None, [e.degree, e.field, e.institution])) for e in profile.education
        ),
        "bio": profile.bio,
        "email": user.email,
        "phone": profile.phone,
    }
    document: dict[str, Any] = {
        "key": member_key(user.id),
        "kind": "member",
        "obj_id": user.id,
        "confirmed": int(profile.confirmed_at.timestamp()),
        "coord_chapters": ",".join(str(m.chapter_id) for m in approved),
        "name": user.full_name,
        "tiers_blob": json.dumps(tiers),
    }
    indexed: dict[str, list[str]] = {}
    name_tier = PUBLIC_TIER if profile.name_public else "members"
    document["name_tier"] = name_tier
    indexed.setdefault(tier_field(GROUP_OF["name"], name_tier), []).append(user.full_name)
    for field, text in texts.items():
        document[field] = text or ""
        if text:
            where = tier_field(GROUP_OF[field], str(tiers[FIELD_VISIBILITY[field]]))
            indexed.setdefault(where, []).append(text)
    document.update({where: "\n".join(parts) for where, parts in indexed.items()})
    document["expertise"] = stored_expertise
    values = {
        "country": [profile.country] if profile.country else [],
        "state": [profile.state_of_origin.code] if profile.state_of_origin else [],
        "region": sorted({m.chapter.region.slug for m in approved}),
        "chapter": sorted({m.chapter.slug for m in approved}),
        "sector": sorted({c.sector.slug for c in profile.concepts}),
        "concept": sorted(c.slug for c in profile.concepts),
        "language": [lang.code for lang in profile.languages],
        "mode": sorted(m.mode for m in profile.modes),
        "mentoring": ["yes"] if profile.open_to_mentoring and not profile.mentoring_is_full else [],
        "timezone": [profile.timezone] if profile.timezone else [],
    }
    for facet, items in values.items():
        tier = str(tiers[FACETS[facet]])
        document[f"f_{facet}"] = ",".join(f"{tier}|{item}" for item in items)
    return document


def chapter_document(chapter: Chapter) -> dict[str, Any] | None:
    if not chapter.is_active:
        return None
    countries = {country_name(chapter.country, "es"), country_name(chapter.country, "en")}
    return {
        "key": chapter_key(chapter.id),
        "kind": "chapter",
        "obj_id": chapter.id,
        "confirmed": 0,
        "title": chapter.name,
        "body": "\n".join(
            [
                chapter.city,
                *sorted(countries),
                chapter.region.name_es,
                chapter.region.name_en,
                chapter.description,
            ]
        ),
    }


def event_document(event: Event) -> dict[str, Any] | None:
    """A published event. Drafts and cancelled events are not searchable; the online link is
    never indexed (only confirmed attendees and hosts may see it)."""
    if event.status != EventStatus.PUBLISHED:
        return None
    countries = (
        {country_name(event.country, "es"), country_name(event.country, "en"), event.country}
        if event.country
        else set()
    )
    topics = [concept_line(concept) for concept in event.topics]
    formats = {
        EventFormat.IN_PERSON: ["in_person"],
        EventFormat.ONLINE: ["online"],
        EventFormat.HYBRID: ["in_person", "online"],
    }[event.format]
    values = {
        "country": [event.country] if event.country else [],
        "region": sorted({c.region.slug for c in event.hosts}),
        "chapter": sorted(c.slug for c in event.hosts),
        "concept": sorted(c.slug for c in event.topics),
        "language": [event.language],
        "format": formats,
    }
    document: dict[str, Any] = {
        "key": event_key(event.id),
        "kind": "event",
        "obj_id": event.id,
        "confirmed": 0,
        "starts": int(event.starts_at.timestamp()),
        "ends": int(event.ends_at.timestamp()),
        "event_tier": str(event.visibility),
        "title": event.title,
        "topics": "\n".join(topics),
        "place": " ".join([event.venue, event.address, event.city, *sorted(countries)]).strip(),
        "body": "\n".join([event.description, *[f"{c.name} {c.city}" for c in event.hosts]]),
    }
    for facet in EVENT_FACETS:
        document[f"f_{facet}"] = ",".join(f"{PUBLIC_TIER}|{item}" for item in values[facet])
    return document


def need_document(need: Need) -> dict[str, Any] | None:
    """An open, in-progress or completed need; drafts and closed needs are not searchable. All of
    a published need is public, so every viewer finds it alike."""
    if need.status not in PUBLISHED_STATUSES:
        return None
    concepts = [*need.required_concepts, *need.nice_concepts]
    values = {
        "sector": [need.sector.slug],
        "state": [need.node.code] if need.node else [],
        "concept": sorted({c.slug for c in concepts}),
        "language": [lang.code for lang in need.languages],
        "mode": sorted(m.mode for m in need.modes),
        "remote": ["yes" if need.remote else "no"],
        "status": [str(need.status)],
    }
    opened = need.opened_at or need.created_at
    document: dict[str, Any] = {
        "key": need_key(need.id),
        "kind": "need",
        "obj_id": need.id,
        "confirmed": 0,
        "need_opened": int(opened.timestamp()) if opened else 0,
        "need_title": need.title,
        "need_required": "\n".join(concept_line(c) for c in need.required_concepts),
        "need_nice": "\n".join(concept_line(c) for c in need.nice_concepts),
        "need_org": need.organisation.name,
        "need_sector": f"{need.sector.label_es}\t{need.sector.label_en}",
        "need_place": need.node.name if need.node else "",
        "need_body": need.description,
    }
    for facet in NEED_FACETS:
        document[need_facet_field(facet)] = ",".join(f"{PUBLIC_TIER}|{v}" for v in values[facet])
    return document
