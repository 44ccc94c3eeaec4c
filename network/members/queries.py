"""Read side of profiles: the directory, one profile, and the visible view of a profile.

`present_profile` is the only way a profile leaves the database for a viewer: pages, the API and
exports all call it, and it asks network.visibility which fields to include.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import selectinload

from chapters.models import Chapter, ChapterMembership, ChapterRole, MembershipStatus, Node, Region
from chapters.queries import counted_members
from network.auth.models import User
from network.db import db, month_key, year_month
from network.geo import country_name, language_name
from network.members.models import (
    MODE_LABELS,
    Concept,
    FreeTag,
    Mode,
    Profile,
    ProfileLanguage,
    ProfileMode,
    Sector,
    profile_concepts,
)
from network.members.vocabulary import narrower_of
from network.security import Role
from network.text import fold
from network.visibility import (
    ORGANISATION_VIEWER,
    Tier,
    Viewer,
    name_is_visible,
    viewer_for,
    visible_fields,
)


def build_viewer(user: Any) -> Viewer:
    """The viewer for this user, with the chapters they coordinate and those chapters' members."""
    if not getattr(user, "is_authenticated", False):
        return viewer_for(user)
    chapter_ids = db.session.scalars(
        select(ChapterMembership.chapter_id).where(
            ChapterMembership.user_id == user.id,
            ChapterMembership.role == ChapterRole.COORDINATOR,
            ChapterMembership.status == MembershipStatus.APPROVED,
        )
    ).all()
    member_ids = (
        db.session.scalars(
            select(ChapterMembership.user_id).where(
                ChapterMembership.chapter_id.in_(chapter_ids),
                ChapterMembership.status == MembershipStatus.APPROVED,
            )
        ).all()
        if chapter_ids
        else []
    )
    return viewer_for(user, member_ids, chapter_ids)


def visible_clause(field: str, viewer: Viewer) -> ColumnElement[bool]:
    """SQL twin of visibility.visible_fields: rows whose `field` this viewer may see."""
    column = getattr(Profile, f"{field}_visibility")
    everyone = viewer.tiers_for(-1)  # tiers held for any member (no self, no chapter link)
    clauses: list[ColumnElement[bool]] = [column.in_([str(t) for t in everyone])]
    if viewer.coordinated_member_ids and Tier.COORDINATORS not in everyone:
        clauses.append(
            and_(
                column == Tier.COORDINATORS,
                Profile.user_id.in_(sorted(viewer.coordinated_member_ids)),
            )
        )
    if viewer.user_id is not None:
        clauses.append(Profile.user_id == viewer.user_id)
    return or_(*clauses)


def _name_clause(viewer: Viewer) -> ColumnElement[bool]:
    return true() if viewer.is_signed_in else Profile.name_public.is_(True)


def listed_members(*, include_suspended: bool = False) -> Any:
    """Profiles that appear anywhere: confirmed member accounts that IME has not suspended.

    The directory, profiles, the API, search results, mentoring and contact requests all start
    here, so a suspension hides a member everywhere at once; only IME asks for the suspended."""
    query = (
        select(Profile)
        .join(Profile.user)
        .where(User.role == Role.MEMBER, User.email_confirmed_at.is_not(None))
    )
    return query if include_suspended else query.where(User.suspended_at.is_(None))


def eager_profiles(query: Any) -> Any:
    """Everything a profile's view or index document reads, in a fixed number of queries."""
    return query.options(
        selectinload(Profile.user)
        .selectinload(User.memberships)
        .selectinload(ChapterMembership.chapter)
        .selectinload(Chapter.region),
        selectinload(Profile.concepts).selectinload(Concept.sector),
        selectinload(Profile.free_tags),
        selectinload(Profile.languages),
        selectinload(Profile.modes),
        selectinload(Profile.education),
        selectinload(Profile.state_of_origin),
    )


@dataclass(frozen=True)
class DirectoryFilters:
    country: str = ""
    chapter: str = ""
    region: str = ""
    state: str = ""
    sector: str = ""
    concept: str = ""
    language: str = ""
    mode: str = ""
    mentoring: bool = False
    sort: str = "name"


def _approved_in(condition: ColumnElement[bool]) -> Any:
    return (
        select(ChapterMembership.user_id)
        .join(ChapterMembership.chapter)
        .where(ChapterMembership.status == MembershipStatus.APPROVED, condition)
    )


def directory_query(viewer: Viewer, filters: DirectoryFilters) -> Any:
    """Members this viewer may see, filtered only through fields the viewer may see."""
    query = listed_members().where(_name_clause(viewer))
    f = filters
    if f.country:
        query = query.where(visible_clause("country", viewer), Profile.country == f.country)
    if f.chapter:
        query = query.where(
            visible_clause("chapters", viewer),
            Profile.user_id.in_(_approved_in(Chapter.slug == f.chapter)),
        )
    if f.region:
        region_ids = select(Region.id).where(Region.slug == f.region)
        query = query.where(
            visible_clause("chapters", viewer),
            Profile.user_id.in_(_approved_in(Chapter.region_id.in_(region_ids))),
        )
    if f.state:
        query = query.where(
            visible_clause("state_of_origin", viewer),
            Profile.state_of_origin.has(Node.code == f.state),
        )
    if f.sector:
        query = query.where(
            visible_clause("expertise", viewer),
            Profile.concepts.any(Concept.sector.has(Sector.slug == f.sector)),
        )
    if f.concept:
        # A broader concept ("Renewable energy") lists the experts of the concepts under it too.
        chosen = db.session.scalar(select(Concept.id).where(Concept.slug == f.concept))
        wanted = {chosen} | narrower_of({chosen})[chosen] if chosen is not None else set()
        query = query.where(
            visible_clause("expertise", viewer), Profile.concepts.any(Concept.id.in_(wanted))
        )
    if f.language:
        query = query.where(
            visible_clause("languages", viewer),
            Profile.languages.any(ProfileLanguage.code == f.language),
        )
    if f.mode:
        query = query.where(
            visible_clause("modes", viewer), Profile.modes.any(ProfileMode.mode == f.mode)
        )
    if f.mentoring:
        query = query.where(
            visible_clause("mentoring", viewer), Profile.open_to_mentoring.is_(True)
        )
    if f.sort == "recent":
        query = query.order_by(Profile.confirmed_at.desc(), Profile.id)
    else:
        query = query.order_by(User.full_name, Profile.id)
    return query


def paginate_directory(
    viewer: Viewer, filters: DirectoryFilters, page: int, per_page: int
) -> Pagination:
    """One page of the directory: a constant number of queries whatever the page size."""
    return db.paginate(
        eager_profiles(directory_query(viewer, filters)),
        page=page,
        per_page=per_page,
        error_out=False,
    )


def get_profile_for_user_id(user_id: int, *, include_suspended: bool = False) -> Profile | None:
    """A listed member's profile; a suspended one only with `include_suspended` (IME's view)."""
    query = listed_members(include_suspended=include_suspended).where(Profile.user_id == user_id)
    return db.session.scalar(eager_profiles(query))


def list_sectors() -> list[Sector]:
    return list(db.session.scalars(select(Sector).order_by(Sector.slug)))


def list_concepts() -> list[Concept]:
    return list(db.session.scalars(select(Concept).options(selectinload(Concept.sector))))


def search_concepts(query: str, language: str, limit: int = 12) -> list[Concept]:
    """Autocomplete: concepts whose labels or synonyms (either language) match the text,
    ignoring case and accents. Labels starting with it come first, then words starting with it;
    plain substrings count only from four letters on, where they stop being noise."""
    needle = fold(query)
    if len(needle) < 2:
        return []
    pattern = f"%{needle.replace('%', '').replace('_', '')}%"
    candidates = db.session.scalars(
        select(Concept)
        .options(selectinload(Concept.sector))
        .where(Concept.search_text.like(pattern))
    ).all()

    def rank(concept: Concept) -> tuple[int, str]:
        label = fold(concept.label(language))
        words = concept.search_text.replace("|", " ").split()
        if label.startswith(needle):
            return 0, label
        if fold(concept.other_label(language)).startswith(needle) or any(
            w.startswith(needle) for w in label.split()
        ):
            return 1, label
        if any(w.startswith(needle) for w in words) or any(
            part.strip().startswith(needle) for part in concept.search_text.split("|")
        ):
            return 2, label
        return 3, label

    ranked = sorted(candidates, key=rank)
    if len(needle) < 4:
        ranked = [c for c in ranked if rank(c)[0] < 3]
    return ranked[:limit]


def list_free_tags() -> list[tuple[str, int]]:
    """Free tags with how many members carry each, most used first (IME's mapping queue)."""
    rows = db.session.execute(
        select(FreeTag.tag, func.count(FreeTag.id))
        .group_by(FreeTag.tag)
        .order_by(func.count(FreeTag.id).desc(), FreeTag.tag)
    )
    return [(tag, count) for tag, count in rows]


def concept_labels(slugs: list[str], language: str) -> dict[str, str]:
    if not slugs:
        return {}
    concepts = db.session.scalars(select(Concept).where(Concept.slug.in_(slugs)))
    return {c.slug: c.label(language) for c in concepts}


# ---------------------------------------------------------------- the visible view


def present_profile(profile: Profile, viewer: Viewer, language: str) -> dict[str, Any] | None:
    """Everything this viewer may know of this member, as plain data; None if not even the name.

    Keys are the stable field names; a hidden field is absent, never empty.
    """
    user = profile.user
    if not name_is_visible(viewer, user.id, profile.name_public):
        return None
    fields = visible_fields(viewer, user.id, profile.visibility)
    data: dict[str, Any] = {"id": user.id, "full_name": user.full_name, "initials": user.initials}
    if "email" in fields:
        data["email"] = user.email
    if "phone" in fields and profile.phone:
        data["phone"] = profile.phone
    for name in ("headline", "bio", "city", "timezone"):
        if name in fields and getattr(profile, name):
            data[name] = getattr(profile, name)
    if "country" in fields and profile.country:
        data["country"] = profile.country
        data["country_name"] = country_name(profile.country, language)
    if "state_of_origin" in fields and profile.state_of_origin:
        data["state_of_origin"] = {
            "code": profile.state_of_origin.code,
            "name": profile.state_of_origin.name,
        }
    if "languages" in fields and profile.languages:
        data["languages"] = [
            {"code": lang.code, "name": language_name(lang.code, language), "level": lang.level}
            for lang in profile.languages
        ]
    if "position" in fields and (profile.position or profile.employer):
        data["position"] = {"title": profile.position, "organisation": profile.employer}
    if "education" in fields and profile.education:
        data["education"] = [
            {"degree": e.degree, "field": e.field, "institution": e.institution, "year": e.year}
            for e in profile.education
        ]
    if "links" in fields:
        links = {
            k: getattr(profile, k) for k in ("website", "linkedin", "orcid") if getattr(profile, k)
        }
        if links:
            data["links"] = links
    if "expertise" in fields and (profile.concepts or profile.free_tags):
        data["expertise"] = [
            {"slug": c.slug, "label": c.label(language), "sector": c.sector.slug}
            for c in sorted(profile.concepts, key=lambda c: fold(c.label(language)))
        ]
        data["free_tags"] = [t.tag for t in profile.free_tags]
    if "modes" in fields and profile.modes:
        data["modes"] = [
            {"mode": name, "label": str(MODE_LABELS[Mode(name)])} for name in profile.mode_names
        ]
    if "days_per_year" in fields and profile.days_per_year is not None:
        data["days_per_year"] = profile.days_per_year
    if "mentoring" in fields:
        data["mentoring"] = {
            "open": profile.open_to_mentoring,
            "capacity": profile.mentor_capacity if profile.open_to_mentoring else 0,
            "full": profile.open_to_mentoring and profile.mentoring_is_full,
        }
    if "open_to_requests" in fields:
        data["open_to_requests"] = profile.open_to_requests
    if "chapters" in fields:
        data["chapters"] = [
            {"slug": m.chapter.slug, "name": m.chapter.name, "role": str(m.role)}
            for m in user.memberships
            if m.status == MembershipStatus.APPROVED
        ]
    data["confirmed_at"] = profile.confirmed_at
    return data


def get_own_data(user: User) -> dict[str, Any]:
    """ "Download my data": everything stored about this account, unfiltered (it is theirs)."""
    from network.outbox import OutboxMessage

    profile = user.profile
    own = present_profile(profile, viewer_for(user), "en") if profile else None
    data: dict[str, Any] = {
        "account": {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "preferred_language": user.preferred_language,
            "role": str(user.role),
            "organisation": user.organisation.name if user.organisation else None,
            "email_confirmed_at": user.email_confirmed_at,
            "created_at": user.created_at,
            "last_login_at": user.last_login_at,
        },
        "profile": own,
        "visibility": {
            "full_name": "public" if profile and profile.name_public else "members",
            **(profile.visibility if profile else {}),
        },
        "chapter_memberships": [
            {
                "chapter": m.chapter.slug,
                "status": str(m.status),
                "role": str(m.role),
                "message": m.message,
                "requested_at": m.requested_at,
                "decided_at": m.decided_at,
            }
            for m in user.memberships
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "revoked_at": t.revoked_at,
            }
            for t in user.api_tokens
        ],
        "emails_sent_to_me": [
            {"subject": m.subject, "created_at": m.created_at, "sent_at": m.sent_at}
            for m in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.recipient == user.email)
            )
        ],
    }
    if profile:
        data["profile_record"] = {
            "confirmed_at": profile.confirmed_at,
            "created_at": profile.created_at,
            "updated_at": profile.updated_at,
            "last_nudged_at": profile.last_nudged_at,
        }
    return data


def count_members_by_sector(
    *, since: datetime | None = None, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[str, int]:
    """Confirmed members holding at least one concept of each sector, by sector slug. A member
    who keeps their expertise to themselves ("only me") is not counted, nor one who hides it
    from the viewer when one is given."""
    rows = db.session.execute(
        select(Sector.slug, func.count(func.distinct(Profile.id)))
        .join(Concept, Concept.sector_id == Sector.id)
        .join(profile_concepts, profile_concepts.c.concept_id == Concept.id)
        .join(Profile, Profile.id == profile_concepts.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id), _shown("expertise", viewer))
        .group_by(Sector.slug)
    )
    return {slug: count for slug, count in rows}


# ---------------------------------------------------------------- figures for IME's dashboard
# The dashboard reads a field only where the member shows it to whoever is looking: IME holds
# every tier but "only me"; a coordinator, what their chapter's members show coordinators. It
# counts confirmed member accounts that are not suspended.


def _shown(field: str, viewer: Viewer | None) -> Any:
    """Rows whose `field` the viewer may read; without a viewer, all but "only me" (the public
    figures, which are aggregated and suppressed when small)."""
    if viewer is None:
        return getattr(Profile, f"{field}_visibility") != Tier.PRIVATE
    return visible_clause(field, viewer)


def _country(viewer: Viewer | None) -> Any:
    """The country of residence where shown, else NULL (counted as "not given or not shown")."""
    return case(
        (and_(Profile.country.is_not(None), _shown("country", viewer)), Profile.country), else_=None
    )


def _members_in_scope(since: datetime | None, chapter_id: int | None) -> list[Any]:
    """Confirmed member accounts, joined since `since` when given, and members of one chapter
    when given (a coordinator's dashboard)."""
    clauses: list[Any] = counted_members()
    if since is not None:
        clauses.append(User.created_at >= since)
    if chapter_id is not None:
        clauses.append(
            User.id.in_(
                select(ChapterMembership.user_id).where(
                    ChapterMembership.chapter_id == chapter_id,
                    ChapterMembership.status == MembershipStatus.APPROVED,
                )
            )
        )
    return clauses


def count_members_by_country(
    *, since: datetime | None = None, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[str | None, int]:
    """Members by country of residence; None gathers those who give none or hide it from the
    viewer."""
    country = _country(viewer)
    rows = db.session.execute(
        select(country, func.count(Profile.id))
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id))
        .group_by(country)
    )
    return {code or None: count for code, count in rows}


def top_concepts(
    limit: int = 20,
    *,
    since: datetime | None = None,
    chapter_id: int | None = None,
    viewer: Viewer | None = None,
) -> list[tuple[Concept, int]]:
    """The concepts most members hold, most held first (ties by slug, so the list is stable)."""
    count = func.count(profile_concepts.c.profile_id)
    rows = db.session.execute(
        select(profile_concepts.c.concept_id, count)
        .join(Profile, Profile.id == profile_concepts.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id), _shown("expertise", viewer))
        .group_by(profile_concepts.c.concept_id)
        .order_by(count.desc(), profile_concepts.c.concept_id)
        .limit(limit)
    ).all()
    concepts = {
        c.id: c
        for c in db.session.scalars(
            select(Concept)
            .where(Concept.id.in_([concept_id for concept_id, _n in rows]))
            .options(selectinload(Concept.sector))
        )
    }
    return [(concepts[concept_id], n) for concept_id, n in rows]


@dataclass(frozen=True)
class Openness:
    members: int
    mentoring: int
    requests: int


def count_openness(
    *, since: datetime | None = None, chapter_id: int | None = None, viewer: Viewer | None = None
) -> Openness:
    """How many members say they are open to mentoring and to organisations' requests (and
    show it to the viewer)."""
    mentoring = and_(Profile.open_to_mentoring.is_(True), _shown("mentoring", viewer))
    requests = and_(Profile.open_to_requests.is_(True), _shown("open_to_requests", viewer))
    total, open_mentoring, open_requests = db.session.execute(
        select(
            func.count(Profile.id),
            func.count(case((mentoring, 1))),
            func.count(case((requests, 1))),
        )
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(since, chapter_id))
    ).one()
    return Openness(total or 0, open_mentoring or 0, open_requests or 0)


def _count_by_month(column: Any, since: datetime | None, chapter_id: int | None) -> dict[str, int]:
    year, month = year_month(column)
    query = (
        select(year, month, func.count(Profile.id))
        .join(User, User.id == Profile.user_id)
        .where(*_members_in_scope(None, chapter_id))
        .group_by(year, month)
    )
    if since is not None:
        query = query.where(column >= since)
    return {month_key(y, m): n for y, m, n in db.session.execute(query)}


def count_new_members_by_month(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> dict[str, int]:
    """Accounts created per calendar month ("2026-03": 41)."""
    return _count_by_month(User.created_at, since, chapter_id)


def count_confirmations_by_month(
    *, since: datetime | None = None, chapter_id: int | None = None
) -> dict[str, int]:
    """Profiles by the month of their latest confirmation: a profile confirmed twice counts in
    the later month only, as only the latest date is kept."""
    return _count_by_month(Profile.confirmed_at, since, chapter_id)


def _available_experts(chapter_id: int | None, viewer: Viewer | None) -> list[Any]:
    """Experts organisations can reach, as the ranking of candidates finds them (open to
    requests and showing it and their expertise to organisations), that the viewer may see
    as such."""
    return [
        *_members_in_scope(None, chapter_id),
        Profile.open_to_requests.is_(True),
        *(
            _shown(field, reader)
            for field in ("open_to_requests", "expertise")
            for reader in (ORGANISATION_VIEWER, viewer)
        ),
    ]


def count_experts_by_sector_and_country(
    *, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[tuple[str, str | None], int]:
    """Available experts per (sector slug, country of residence); the supply side of the gap
    table. A member with concepts in two sectors counts in both."""
    country = _country(viewer)
    rows = db.session.execute(
        select(Sector.slug, country, func.count(func.distinct(Profile.id)))
        .join(Concept, Concept.sector_id == Sector.id)
        .join(profile_concepts, profile_concepts.c.concept_id == Concept.id)
        .join(Profile, Profile.id == profile_concepts.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(*_available_experts(chapter_id, viewer))
        .group_by(Sector.slug, country)
    )
    return {(slug, code or None): n for slug, code, n in rows}


def count_experts_by_concept_and_country(
    concept_ids: list[int], *, chapter_id: int | None = None, viewer: Viewer | None = None
) -> dict[tuple[int, str | None], int]:
    """Available experts holding each concept, per country of residence."""
    if not concept_ids:
        return {}
    country = _country(viewer)
    rows = db.session.execute(
        select(profile_concepts.c.concept_id, country, func.count(Profile.id))
        .join(Profile, Profile.id == profile_concepts.c.profile_id)
        .join(User, User.id == Profile.user_id)
        .where(
            *_available_experts(chapter_id, viewer), profile_concepts.c.concept_id.in_(concept_ids)
        )
        .group_by(profile_concepts.c.concept_id, country)
    )
    return {(concept_id, code or None): n for concept_id, code, n in rows}
