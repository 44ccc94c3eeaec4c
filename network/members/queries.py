"""Read side of profiles: the directory, one profile, and the visible view of a profile.

`present_profile` is the only way a profile leaves the database for a viewer: pages, the API and
exports all call it, and it asks network.visibility which fields to include.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import selectinload

from chapters.models import Chapter, ChapterMembership, ChapterRole, MembershipStatus, Node, Region
from network.auth.models import User
from network.db import db
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
)
from network.members.vocabulary import narrower_of
from network.outbox import OutboxMessage
from network.security import Role
from network.text import fold
from network.visibility import (
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


def name_clause(viewer: Viewer) -> ColumnElement[bool]:
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
    query = listed_members().where(name_clause(viewer))
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
