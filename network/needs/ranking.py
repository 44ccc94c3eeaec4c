"""Explained ranking of experts for a need: a weighted sum of named factors, each in [0, 1].

Why a weighted sum and not a learned score: an organisation must be able to see *why* someone is
proposed, and a member must be able to trust that only what they show organisations was used.
Every contribution is rounded to thousandths *before* it is added, so the score shown is exactly
the sum of the contributions shown.

Only profile fields whose tier organisations hold (`ORGANISATION_TIERS`) are read: a field hidden
from organisations counts as not given. The candidates are members open to requests (and saying
so to organisations) who hold at least one of the need's concepts, directly or through a free tag
that is one of the concept's labels or synonyms; a concept under a broader one the need names
("Solar photovoltaics" under "Renewable energy") covers it. The other factors order them.

The work is a handful of set-based queries over the candidates and one pass in Python, so a need
is ranked against 100,000 members in well under the 300 ms budget (`make bench`, `rank_ms`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from network.auth.models import User
from network.db import db, utcnow
from network.geo import language_name
from network.members.models import (
    MODE_LABELS,
    Concept,
    FreeTag,
    Mode,
    Profile,
    ProfileLanguage,
    ProfileMode,
    profile_concepts,
)
from network.members.queries import eager_profiles, present_profile, visible_clause
from network.members.vocabulary import narrower_of
from network.needs.models import ContactRequest, ContactStatus, Need
from network.needs.services import load_of
from network.pagecache import app_cache, read_generation
from network.security import Role
from network.text import fold
from network.visibility import ORGANISATION_TIERS, ORGANISATION_VIEWER, visible_fields

# name -> weight; the weights add up to 1. The README and the candidates page show this table.
WEIGHTS: dict[str, float] = {
    "required_concepts": 0.35,
    "nice_concepts": 0.10,
    "sector": 0.05,
    "languages": 0.10,
    "modes": 0.10,
    "availability": 0.08,
    "timezone": 0.07,
    "state_tie": 0.05,
    "freshness": 0.05,
    "load": 0.05,
}

FACTOR_LABELS = {
    "required_concepts": _l("Required expertise covered"),
    "nice_concepts": _l("Nice-to-have expertise covered"),
    "sector": _l("Works in the need's sector"),
    "languages": _l("Speaks the need's languages"),
    "modes": _l("Offers the ways of contributing wanted"),
    "availability": _l("Days per year available against the effort"),
    "timezone": _l("Time-zone distance to the need's state"),
    "state_tie": _l("From the need's state (a bonus, never a filter)"),
    "freshness": _l("Profile confirmed within 12 months"),
    "load": _l("Few requests in the last 30 days"),
}

FACTOR_HELP = {
    "required_concepts": _l("share of the required concepts the member holds, synonyms included"),
    "nice_concepts": _l("share of the nice-to-have concepts; 1 when none are listed"),
    "sector": _l("1 if any of the member's concepts is in the need's sector"),
    "languages": _l("share of the need's languages the member speaks; 1 when none are listed"),
    "modes": _l("share of the wanted ways of contributing offered; 1 when none are listed"),
    "availability": _l("days per year ÷ effort in days, at most 1; 0 when not shown"),
    "timezone": _l("1 - hours apart ÷ 12, at least 0; 0 when not shown"),
    "state_tie": _l("1 if the member comes from the need's state; 0 for national needs"),
    "freshness": _l("1 if the profile was confirmed in the last 12 months"),
    "load": _l("1 - requests in the last 30 days ÷ the 30-day cap, at least 0"),
}

MEXICO_CITY = "America/Mexico_City"
_SCALE = 1000  # contributions are kept in thousandths so that they add up exactly


@dataclass
class Facts:
    """What organisations may know of one member that the factors read."""

    member_id: int
    concept_ids: set[int] = field(default_factory=set)
    free_tags: list[str] = field(default_factory=list)
    in_sector: bool = False
    languages: set[str] | None = None  # None: not shown to organisations
    modes: set[str] | None = None
    days_per_year: int | None = None
    timezone: str | None = None
    state_id: int | None = None
    confirmed_at: datetime | None = None
    recent_requests: int = 0
    pending_requests: int = 0


@dataclass
class Factor:
    name: str
    weight: float
    value: float
    contribution: float
    detail: str

    @property
    def label(self) -> str:
        return str(FACTOR_LABELS[self.name])

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "value": self.value,
            "contribution": self.contribution,
            "detail": self.detail,
        }


@dataclass
class Candidate:
    member_id: int
    score: float
    factors: list[Factor]
    missing: list[str]
    at_capacity: bool
    profile: Profile | None = None
    # What organisations may see of the member (`present_profile`): the card shows only this.
    shown: dict[str, Any] | None = None


@dataclass
class Ranking:
    total: int
    candidates: list[Candidate]


class _Context:
    """The need, reduced to what scoring compares against, computed once per ranking."""

    def __init__(self, need: Need, now: datetime) -> None:
        self.need = need
        self.now = now
        self.required = list(need.required_concepts)
        self.nice = list(need.nice_concepts)
        self.sector_id = need.sector_id
        self.languages = set(need.language_codes)
        self.modes = set(need.mode_names)
        self.effort = need.effort_days
        self.node_id = need.node_id
        self.fresh_since = now - timedelta(days=365)
        config = current_app.config
        self.max_recent = config["CONTACT_MAX_PER_30_DAYS"]
        self.max_pending = config["CONTACT_MAX_PENDING"]
        zone = need.node.timezone if need.node is not None else MEXICO_CITY
        self.when = (
            datetime.combine(need.starts_on, datetime.min.time(), UTC).replace(hour=18)
            if need.starts_on
            else now
        )
        self.offsets: dict[str, float | None] = {}
        self.need_offset = self.offset(zone)
        # Concepts under the need's broader ones ("Renewable energy": solar, wind, ...): holding
        # one of them covers the broader concept.
        self.below = narrower_of({c.id for c in self.required + self.nice})
        under = set().union(*self.below.values())
        self.narrower: dict[int, Concept] = (
            {c.id: c for c in db.session.scalars(select(Concept).where(Concept.id.in_(under)))}
            if under
            else {}
        )
        # folded label or synonym -> concept id, for free tags reached through synonyms
        self.variants: dict[str, int] = {}
        for concept in self.required + self.nice:
            for text in _names(concept):
                self.variants.setdefault(text, concept.id)

    def wanted(self) -> set[int]:
        """The need's concepts and every concept under them: who holds any is a candidate."""
        return {c.id for c in self.required + self.nice} | self.narrower.keys()

    def covers(self, concept: Concept, held: set[int]) -> bool:
        return concept.id in held or not self.below[concept.id].isdisjoint(held)

    def offset(self, zone: str) -> float | None:
        if zone not in self.offsets:
            try:
                delta = self.when.astimezone(ZoneInfo(zone)).utcoffset()
            except (KeyError, ValueError):
                delta = None
            self.offsets[zone] = delta.total_seconds() / 3600 if delta is not None else None
        return self.offsets[zone]

    def tag_hits(self, facts: Facts) -> dict[int, str]:
        """concept id -> the member's free tag that reaches it through a label or synonym."""
        hits: dict[int, str] = {}
        for tag in facts.free_tags:
            concept_id = self.variants.get(fold(tag))
            if concept_id is not None:
                hits.setdefault(concept_id, tag)
        return hits


def _names(concept: Concept) -> set[str]:
    """Both labels and every synonym, folded (the vocabulary keeps them in `search_text`)."""
    return {part.strip() for part in concept.search_text.split("|") if part.strip()}


def _hours_apart(a: float, b: float) -> float:
    """Hours between two UTC offsets around the clock: Auckland (+13) and Mexico City (-6)
    are 5 hours apart, not 19."""
    difference = abs(a - b) % 24
    return min(difference, 24 - difference)


def _share(wanted: set[Any], held: set[Any] | None) -> float:
    if not wanted:
        return 1.0
    if held is None:
        return 0.0
    return len(wanted & held) / len(wanted)


def _values(ctx: _Context, facts: Facts) -> list[float]:
    """The factor values in WEIGHTS order: the hot loop, so no strings are built here."""
    hits = ctx.tag_hits(facts) if facts.free_tags else {}
    held = facts.concept_ids | hits.keys()
    required = sum(1 for c in ctx.required if ctx.covers(c, held)) / len(ctx.required)
    nice = sum(1 for c in ctx.nice if ctx.covers(c, held)) / len(ctx.nice) if ctx.nice else 1.0
    if facts.days_per_year is None:
        availability = 0.0
    elif ctx.effort:
        availability = min(1.0, facts.days_per_year / ctx.effort)
    else:
        availability = 1.0 if facts.days_per_year > 0 else 0.0
    timezone = 0.0
    if facts.timezone and ctx.need_offset is not None:
        offset = ctx.offset(facts.timezone)
        if offset is not None:
            timezone = max(0.0, 1 - _hours_apart(offset, ctx.need_offset) / 12)
    state = 1.0 if ctx.node_id is not None and facts.state_id == ctx.node_id else 0.0
    fresh = 1.0 if facts.confirmed_at and facts.confirmed_at >= ctx.fresh_since else 0.0
    load = max(0.0, 1 - facts.recent_requests / ctx.max_recent) if ctx.max_recent else 1.0
    return [
        required,
        nice,
        1.0 if facts.in_sector else 0.0,
        _share(ctx.languages, facts.languages),
        _share(ctx.modes, facts.modes),
        availability,
        timezone,
        state,
        fresh,
        load,
    ]


_WEIGHT_LIST = list(WEIGHTS.values())
_THOUSANDTHS = [round(w * _SCALE) for w in _WEIGHT_LIST]


def _contributions(values: list[float]) -> list[int]:
    return [round(t * v) for t, v in zip(_THOUSANDTHS, values, strict=True)]


def _explain(ctx: _Context, facts: Facts, values: list[float], language: str) -> Candidate:
    """Factors with their details, for the few candidates shown, in `language`."""
    with force_locale(language):
        return _explained(ctx, facts, values, language)


def _explained(ctx: _Context, facts: Facts, values: list[float], language: str) -> Candidate:
    hits = ctx.tag_hits(facts)

    def concept_detail(concepts: list[Concept]) -> tuple[str, list[str]]:
        parts, missing = [], []
        for concept in concepts:
            label = concept.label(language)
            if concept.id in facts.concept_ids:
                parts.append(label)
            elif concept.id in hits:
                parts.append(f"{label} ≈ {hits[concept.id]}")
            elif ctx.covers(concept, facts.concept_ids):
                under = ctx.below[concept.id] & facts.concept_ids
                names = sorted(ctx.narrower[i].label(language) for i in under)
                parts.append(
                    _(
                        "%(concepts)s (part of %(broader)s)",
                        concepts=", ".join(names),
                        broader=label,
                    )
                )
            else:
                missing.append(label)
        return "; ".join(parts) or _("none"), missing

    required_detail, missing = concept_detail(ctx.required)
    nice_detail = concept_detail(ctx.nice)[0] if ctx.nice else _("none listed")

    def listed(wanted: set[str], held: set[str] | None, name: Any) -> str:
        if not wanted:
            return _("none listed")
        if held is None:
            return _("not shown")
        return "; ".join(str(name(x)) for x in sorted(wanted & held)) or _("none")

    days = facts.days_per_year
    offset = ctx.offset(facts.timezone) if facts.timezone else None
    details = {
        "required_concepts": required_detail,
        "nice_concepts": nice_detail,
        "sector": _("yes") if facts.in_sector else _("no"),
        "languages": listed(ctx.languages, facts.languages, lambda c: language_name(c, language)),
        "modes": listed(ctx.modes, facts.modes, lambda m: MODE_LABELS[Mode(m)]),
        "availability": (
            _("not shown")
            if days is None
            else _(
                "%(days)d days a year for %(effort)d days of effort", days=days, effort=ctx.effort
            )
            if ctx.effort
            else _("%(days)d days a year", days=days)
        ),
        "timezone": (
            _("not shown")
            if offset is None or ctx.need_offset is None
            else _(
                "%(hours)s h apart (%(zone)s)",
                zone=facts.timezone,
                hours=f"{_hours_apart(offset, ctx.need_offset):g}",
            )
        ),
        "state_tie": (
            _("national need")
            if ctx.node_id is None
            else _("from the need's state")
            if values[7]
            else _("no")
        ),
        "freshness": (
            _("confirmed on %(date)s", date=facts.confirmed_at.date().isoformat())
            if facts.confirmed_at
            else _("not shown")
        ),
        "load": _("%(n)d requests in the last 30 days", n=facts.recent_requests),
    }
    thousandths = _contributions(values)
    factors = [
        Factor(name, weight, round(value, 3), part / _SCALE, details[name])
        for (name, weight), value, part in zip(WEIGHTS.items(), values, thousandths, strict=True)
    ]
    return Candidate(
        member_id=facts.member_id,
        score=sum(thousandths) / _SCALE,
        factors=factors,
        missing=missing,
        at_capacity=_full(ctx, facts),
    )


def _full(ctx: _Context, facts: Facts) -> bool:
    return facts.pending_requests >= ctx.max_pending or facts.recent_requests >= ctx.max_recent


# ---------------------------------------------------------------- loading facts in bulk


def _spellings(ctx: _Context) -> list[str]:
    """How a free tag naming one of the need's concepts is likely written: each label and synonym
    as written, lower-cased, capitalised and without accents. Compared with `=` so the index on
    the tag is used; the folded comparison in Python then decides."""
    names: set[str] = set(ctx.variants)
    for concept in ctx.required + ctx.nice:
        raw = {concept.label_es, concept.label_en}
        for synonyms in (concept.synonyms_es, concept.synonyms_en):
            raw.update(s.strip() for s in synonyms.split(";") if s.strip())
        for name in raw:
            names.update({name, name.lower(), name[:1].upper() + name[1:].lower()})
    names.update(n[:1].upper() + n[1:] for n in ctx.variants)
    return sorted(names)


_CHUNK = 5000  # ids per IN list: well under SQLite's limit of bound parameters


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _load_facts(ctx: _Context) -> dict[int, Facts]:
    """profile id -> Facts for every candidate. The candidates are found through the indexes on
    concept and tag; everything else is read for those profiles only, by primary key."""
    concept_ids = sorted(ctx.wanted())
    held: dict[int, set[int]] = {}
    for pid, concept_id in db.session.execute(
        select(profile_concepts.c.profile_id, profile_concepts.c.concept_id).where(
            profile_concepts.c.concept_id.in_(concept_ids)
        )
    ):
        held.setdefault(pid, set()).add(concept_id)
    tags: dict[int, list[str]] = {}
    for pid, tag in db.session.execute(
        select(FreeTag.profile_id, FreeTag.tag).where(FreeTag.tag.in_(_spellings(ctx)))
    ):
        if fold(tag) in ctx.variants:
            tags.setdefault(pid, []).append(tag)
    shown = {str(t) for t in ORGANISATION_TIERS}
    facts: dict[int, Facts] = {}
    for chunk in _chunks(sorted(held.keys() | tags.keys())):
        # Two primary-key look-ups rather than one join: SQLite's planner walks all members
        # through the role index when the join and the IN list come together.
        rows = db.session.execute(
            select(
                Profile.id,
                Profile.user_id,
                Profile.days_per_year,
                Profile.days_per_year_visibility,
                Profile.timezone,
                Profile.timezone_visibility,
                Profile.state_of_origin_id,
                Profile.state_of_origin_visibility,
                Profile.languages_visibility,
                Profile.modes_visibility,
                Profile.confirmed_at,
            ).where(
                Profile.id.in_(chunk),
                Profile.open_to_requests.is_(True),
                visible_clause("open_to_requests", ORGANISATION_VIEWER),
                visible_clause("expertise", ORGANISATION_VIEWER),
            )
        ).all()
        members = set(
            db.session.scalars(
                select(User.id).where(
                    User.id.in_([row[1] for row in rows]),
                    User.role == Role.MEMBER,
                    User.email_confirmed_at.is_not(None),
                    User.suspended_at.is_(None),
                )
            )
        )
        for (
            pid,
            user_id,
            days,
            days_vis,
            zone,
            zone_vis,
            state,
            state_vis,
            lang_vis,
            mode_vis,
            confirmed,
        ) in rows:
            if user_id not in members:
                continue
            facts[pid] = Facts(
                member_id=user_id,
                concept_ids=held.get(pid, set()),
                free_tags=tags.get(pid, []),
                days_per_year=days if days_vis in shown else None,
                timezone=zone if zone_vis in shown else None,
                state_id=state if state_vis in shown else None,
                confirmed_at=confirmed,
                languages=set() if lang_vis in shown else None,
                modes=set() if mode_vis in shown else None,
            )
    for chunk in _chunks(sorted(facts)):
        for (pid,) in db.session.execute(
            select(profile_concepts.c.profile_id)
            .distinct()
            .join(Concept, Concept.id == profile_concepts.c.concept_id)
            .where(profile_concepts.c.profile_id.in_(chunk), Concept.sector_id == ctx.sector_id)
        ):
            facts[pid].in_sector = True
        if ctx.languages:
            for pid, code in db.session.execute(
                select(ProfileLanguage.profile_id, ProfileLanguage.code).where(
                    ProfileLanguage.profile_id.in_(chunk),
                    ProfileLanguage.code.in_(sorted(ctx.languages)),
                )
            ):
                if facts[pid].languages is not None:
                    facts[pid].languages.add(code)  # type: ignore[union-attr]
        if ctx.modes:
            for pid, mode in db.session.execute(
                select(ProfileMode.profile_id, ProfileMode.mode).where(
                    ProfileMode.profile_id.in_(chunk), ProfileMode.mode.in_(sorted(ctx.modes))
                )
            ):
                if facts[pid].modes is not None:
                    facts[pid].modes.add(mode)  # type: ignore[union-attr]
    by_member = {f.member_id: f for f in facts.values()}
    since = ctx.now - timedelta(days=30)
    for member_id, recent, pending in db.session.execute(
        select(
            ContactRequest.member_id,
            func.count().filter(ContactRequest.created_at >= since),
            func.count().filter(ContactRequest.status == ContactStatus.PENDING),
        )
        .where(
            or_(ContactRequest.created_at >= since, ContactRequest.status == ContactStatus.PENDING)
        )
        .group_by(ContactRequest.member_id)
    ):
        if member_id in by_member:
            by_member[member_id].recent_requests = recent
            by_member[member_id].pending_requests = pending
    return facts


_Row = tuple[float, float, int, Facts, list[float]]


def _score_all(ctx: _Context) -> list[_Row]:
    """Every candidate scored, best first."""
    scored = []
    for item in _load_facts(ctx).values():
        values = _values(ctx, item)
        parts = _contributions(values)
        scored.append((-sum(parts), -parts[0], item.member_id, item, values))
    scored.sort(key=lambda row: row[:3])
    return scored


def _scored(need_id: int, generation: int, minute: datetime) -> list[_Row]:
    """The scored candidates of one need, kept per worker until the data changes or the minute
    turns (freshness and time zones read the clock).

    Why: an organisation pages through its candidates and comes back to them; scoring every
    holder of the need's concepts took 300 ms at 100,000 members for each page view. Scores read
    only what organisations may see (`Facts`), the same for every viewer of the page."""
    need = db.session.get(Need, need_id)
    return _score_all(_Context(need, minute))


def rank_candidates(
    need: Need,
    *,
    language: str = "es",
    limit: int = 20,
    offset: int = 0,
    now: datetime | None = None,
) -> Ranking:
    """The need's candidates, best first, with the shown ones explained and their profiles
    loaded. Ties are broken by required coverage, then by member id, so the order is stable."""
    ctx = _Context(need, now or utcnow())
    generation = read_generation() if now is None else None
    if generation is None:  # a given time (tests, replays) or no generation row: score afresh
        scored = _score_all(ctx)
    else:
        minute = ctx.now.replace(second=0, microsecond=0)
        scored = app_cache(_scored, 32)(need.id, generation, minute)
    page = scored[offset : offset + limit]
    candidates = [_explain(ctx, row[3], row[4], language) for row in page]
    if candidates:
        profiles = db.session.scalars(
            eager_profiles(select(Profile)).where(
                Profile.user_id.in_([c.member_id for c in candidates])
            )
        )
        by_member = {p.user_id: p for p in profiles}
        for candidate in candidates:
            candidate.profile = by_member.get(candidate.member_id)
            if candidate.profile is not None:
                candidate.shown = present_profile(candidate.profile, ORGANISATION_VIEWER, language)
    return Ranking(total=len(scored), candidates=candidates)


def facts_for_profile(profile: Profile) -> Facts:
    """A member's facts as organisations see them, so that "Needs for you" shows the fit an
    organisation would see (a field the member hides from organisations counts as not given)."""
    shown = visible_fields(ORGANISATION_VIEWER, profile.user_id, profile.visibility)
    expertise = "expertise" in shown
    return Facts(
        member_id=profile.user_id,
        concept_ids={c.id for c in profile.concepts} if expertise else set(),
        free_tags=[t.tag for t in profile.free_tags] if expertise else [],
        languages={lang.code for lang in profile.languages} if "languages" in shown else None,
        modes=set(profile.mode_names) if "modes" in shown else None,
        days_per_year=profile.days_per_year if "days_per_year" in shown else None,
        timezone=profile.timezone if "timezone" in shown else None,
        state_id=profile.state_of_origin_id if "state_of_origin" in shown else None,
        confirmed_at=profile.confirmed_at,
    )


def score_needs_for(
    profile: Profile, needs: list[Need], language: str, limit: int = 20
) -> list[tuple[Need, Candidate]]:
    """Open needs that ask for any of the member's expertise, scored with what organisations
    see of the member (so the fit shown is the one they see), best first; the shown ones are
    explained."""
    now = utcnow()
    facts = facts_for_profile(profile)
    load = load_of(profile.user_id)
    facts.recent_requests, facts.pending_requests = load.recent, load.pending
    own_concepts = {c.id for c in profile.concepts}
    own_tags = Facts(member_id=profile.user_id, free_tags=[t.tag for t in profile.free_tags])
    sectors = {c.sector_id for c in profile.concepts if c.id in facts.concept_ids}
    scored = []
    for need in needs:
        ctx = _Context(need, now)
        if not ctx.wanted() & (own_concepts | ctx.tag_hits(own_tags).keys()):
            continue
        facts.in_sector = need.sector_id in sectors
        values = _values(ctx, facts)
        scored.append((-sum(_contributions(values)), need.id, need, ctx, values))
    scored.sort(key=lambda row: row[:2])
    results = []
    for _score, _id, need, ctx, values in scored[:limit]:
        facts.in_sector = need.sector_id in sectors
        results.append((need, _explain(ctx, facts, values, language)))
    return results


def weights_table() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "weight": weight,
            "label": str(FACTOR_LABELS[name]),
            "help": str(FACTOR_HELP[name]),
        }
        for name, weight in WEIGHTS.items()
    ]
