"""Write-side rules of the network structure: joining, deciding, leaving, coordinating, editing.

Services flush but never commit; the view or CLI command owns the transaction.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from chapters.models import (
    CcimeTerm,
    Chapter,
    ChapterMembership,
    ChapterRole,
    ChapterStatus,
    MembershipStatus,
    Node,
    Region,
)
from chapters.queries import get_membership, list_coordinators
from network import audit
from network.auth.models import User
from network.db import db, utcnow
from network.errors import Forbidden, ValidationError
from network.geo import is_country, is_timezone
from network.outbox import notify, queue_email
from network.security import Role, is_ime_admin
from network.text import fold, slugify
from network.urls import external_url

DATA_DIR = Path(__file__).parent / "data"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# ---------------------------------------------------------------- membership


def request_to_join(user: User, chapter: Chapter, message: str = "") -> ChapterMembership:
    """Ask to join a chapter; its coordinators are told by e-mail. A declined member may ask again."""
    if user.role != Role.MEMBER:
        raise ValidationError(None, _l("Only member accounts can join chapters."))
    if not user.is_confirmed:
        raise ValidationError(None, _l("Please confirm your e-mail address first."))
    if not chapter.is_active:
        raise ValidationError(None, _l("This chapter is not active at the moment."))
    message = message.strip()
    if len(message) > 1000:
        raise ValidationError("message", _l("Keep the message under 1,000 characters."))
    membership = get_membership(user, chapter)
    if membership is not None and membership.is_approved:
        raise ValidationError(None, _l("You are already a member of this chapter."))
    if membership is not None and membership.is_pending:
        raise ValidationError(
            None, _l("You have already asked to join; a coordinator will answer.")
        )
    if membership is None:
        membership = ChapterMembership(user=user, chapter=chapter)
        db.session.add(membership)
    membership.status = MembershipStatus.PENDING
    membership.role = ChapterRole.MEMBER
    membership.message = message
    membership.requested_at = utcnow()
    membership.decided_at = None
    membership.decided_by = None
    db.session.flush()
    for coordinator in list_coordinators(chapter):
        queue_email(
            coordinator.email,
            _l("New request to join %(chapter)s", chapter=chapter.name),
            "join_requested",
            locale=coordinator.preferred_language,
            kind="join_requested",
            coordinator=coordinator,
            member=user,
            chapter=chapter,
            message=message,
            link=external_url("chapters.requests", slug=chapter.slug),
        )
    return membership


def decide_join_request(
    decider: User, membership: ChapterMembership, approve: bool
) -> ChapterMembership:
    """Approve or decline a pending request and tell the member in their language."""
    if not membership.is_pending:
        raise ValidationError(None, _l("This request has already been answered."))
    membership.status = MembershipStatus.APPROVED if approve else MembershipStatus.DECLINED
    membership.decided_at = utcnow()
    membership.decided_by = decider
    chapter = membership.chapter
    queue_email(
        membership.user.email,
        _l("Welcome to %(chapter)s", chapter=chapter.name)
        if approve
        else _l("Your request to join %(chapter)s", chapter=chapter.name),
        "join_approved" if approve else "join_declined",
        locale=membership.user.preferred_language,
        kind="join_decided",
        member=membership.user,
        chapter=chapter,
        link=external_url("chapters.detail", slug=chapter.slug),
    )
    return membership


def leave_chapter(user: User, chapter: Chapter) -> None:
    """Leave a chapter, or withdraw a pending request. Coordinators give up the role too."""
    membership = get_membership(user, chapter)
    if membership is None or membership.status == MembershipStatus.DECLINED:
        raise ValidationError(None, _l("You are not a member of this chapter."))
    db.session.delete(membership)
    db.session.flush()


def assign_coordinator(
    assigned_by: User, chapter: Chapter, user: User, *, send_email: bool = True
) -> ChapterMembership:
    """Make a member a coordinator of a chapter (and a member of it, if they were not).

    `send_email=False` when the caller tells the person in its own message (approving the chapter
    they proposed), so that one action gives one e-mail."""
    if user.role != Role.MEMBER:
        raise ValidationError("email", _l("Only member accounts can coordinate a chapter."))
    membership = get_membership(user, chapter)
    if membership is None:
        membership = ChapterMembership(user=user, chapter=chapter)
        db.session.add(membership)
    elif membership.is_coordinator and membership.is_approved:
        raise ValidationError("email", _l("This person already coordinates the chapter."))
    membership.status = MembershipStatus.APPROVED
    membership.role = ChapterRole.COORDINATOR
    membership.decided_at = utcnow()
    membership.decided_by = assigned_by
    db.session.flush()
    if not send_email:
        return membership
    queue_email(
        user.email,
        _l("You are now a coordinator of %(chapter)s", chapter=chapter.name),
        "coordinator_assigned",
        locale=user.preferred_language,
        kind="coordinator_assigned",
        member=user,
        chapter=chapter,
        link=external_url("chapters.detail", slug=chapter.slug),
    )
    return membership


def remove_coordinator(chapter: Chapter, user: User) -> None:
    """The person stays a member of the chapter; only the coordinator role is removed."""
    membership = get_membership(user, chapter)
    if membership is None or not membership.is_coordinator:
        raise ValidationError(None, _l("This person does not coordinate the chapter."))
    membership.role = ChapterRole.MEMBER
    db.session.flush()


# ---------------------------------------------------------------- chapters, regions, nodes


@dataclass
class ChapterDetails:
    """What a chapter's coordinators may change, as their edit form gives it."""

    name: str
    city: str
    timezone: str
    founded_year: int | None = None
    description: str = ""
    nodes: list[Node] = field(default_factory=list)


@dataclass
class ChapterData:
    """A whole chapter as IME creates or edits it: its details, and also its address, place
    and whether it is active."""

    slug: str
    name: str
    region: Region | None
    country: str
    city: str
    timezone: str
    founded_year: int | None = None
    description: str = ""
    is_active: bool = True
    nodes: list[Node] = field(default_factory=list)


@dataclass
class ChapterProposal:
    """A member's proposal of a chapter in their city."""

    name: str
    city: str
    country: str
    region: Region | None
    timezone: str
    proposal_note: str


@dataclass
class RegionData:
    """A region as IME creates or edits it."""

    slug: str
    name_es: str
    name_en: str
    description_es: str = ""
    description_en: str = ""
    position: int = 0


def _values(data: ChapterDetails | ChapterData | ChapterProposal | RegionData) -> dict[str, Any]:
    """The fields of a typed input by name, in declaration order (no deep copy: nodes and
    regions stay the session's rows)."""
    return {item.name: getattr(data, item.name) for item in dataclasses.fields(data)}


def _check_chapter_fields(fields: dict[str, Any]) -> None:
    if "slug" in fields and not SLUG_RE.match(fields["slug"] or ""):
        raise ValidationError(
            "slug", _l("Use lower-case letters, digits and hyphens only, e.g. “silicon-valley”.")
        )
    if "country" in fields and not is_country(fields["country"]):
        raise ValidationError("country", _l("Choose a country from the list."))
    if "timezone" in fields and not is_timezone(fields["timezone"]):
        raise ValidationError("timezone", _l("Choose a time zone from the list."))
    year = fields.get("founded_year")
    if year is not None and not 2005 <= year <= date.today().year:
        raise ValidationError(
            "founded_year",
            _l("The year must be between 2005 and %(year)d.", year=date.today().year),
        )
    for key in ("name", "city"):
        if key in fields and not (fields[key] or "").strip():
            raise ValidationError(key, _l("This field is required."))


def update_chapter(chapter: Chapter, data: ChapterDetails | ChapterData) -> Chapter:
    """Apply edits: a coordinator's form gives ChapterDetails, IME's the whole ChapterData, so
    the input's type is what this editor may change."""
    fields = _values(data)
    _check_chapter_fields(fields)
    if "slug" in fields and fields["slug"] != chapter.slug:
        _ensure_chapter_slug_free(fields["slug"])
    for key, value in fields.items():
        setattr(chapter, key, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    return chapter


def _ensure_chapter_slug_free(slug: str) -> None:
    if db.session.scalar(select(Chapter.id).where(Chapter.slug == slug)) is not None:
        raise ValidationError("slug", _l("Another chapter already uses this address."))


def create_chapter(data: ChapterData) -> Chapter:
    fields = _values(data)
    required = ("slug", "name", "region", "country", "city", "timezone")
    for key in required:
        if not fields.get(key):
            raise ValidationError(key, _l("This field is required."))
    _check_chapter_fields(fields)
    _ensure_chapter_slug_free(fields["slug"])
    chapter = Chapter(**{k: v.strip() if isinstance(v, str) else v for k, v in fields.items()})
    db.session.add(chapter)
    db.session.flush()
    return chapter


def save_region(region: Region | None, data: RegionData) -> Region:
    """Create a region (region=None) or edit one; slugs stay unique."""
    fields = _values(data)
    if not SLUG_RE.match(fields.get("slug") or ""):
        raise ValidationError("slug", _l("Use lower-case letters, digits and hyphens only."))
    clash = db.session.scalar(select(Region).where(Region.slug == fields["slug"]))
    if clash is not None and clash is not region:
        raise ValidationError("slug", _l("Another region already uses this address."))
    for key in ("name_es", "name_en"):
        if not (fields.get(key) or "").strip():
            raise ValidationError(key, _l("This field is required."))
    if region is None:
        region = Region()
        db.session.add(region)
    for key, value in fields.items():
        setattr(region, key, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    return region


def update_node(node: Node, *, description_es: str, description_en: str) -> Node:
    """IME describes what the network does with a Mexican state, in both languages."""
    node.description_es = description_es.strip()
    node.description_en = description_en.strip()
    db.session.flush()
    return node


# ---------------------------------------------------------------- proposals and activity

# Addresses the chapters blueprint uses itself under /chapters/.
RESERVED_SLUGS = frozenset({"propose", "new"})


def _unique_chapter_slug(name: str) -> str:
    """A free address from the name: "Nueva York" -> "nueva-york", then "nueva-york-2", ..."""
    base = slugify(name)[:70].strip("-") or "chapter"
    slug, number = base, 2
    while slug in RESERVED_SLUGS or db.session.scalar(
        select(Chapter.id).where(Chapter.slug == slug)
    ):
        slug, number = f"{base}-{number}", number + 1
    return slug


def propose_chapter(user: User, proposal: ChapterProposal) -> Chapter:
    """A member proposes a chapter in their city. It stays proposed and inactive, seen only by IME
    and the proposer, until IME approves it; a name already taken (or waiting) is refused, since
    two chapters of one name would confuse members choosing where to join."""
    if user.role != Role.MEMBER:
        raise ValidationError(None, _l("Only member accounts can propose chapters."))
    if not user.is_confirmed:
        raise ValidationError(None, _l("Please confirm your e-mail address first."))
    fields = _values(proposal)
    for key in ("name", "city", "country", "region", "timezone", "proposal_note"):
        value = fields.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationError(key, _l("This field is required."))
    _check_chapter_fields(fields)
    name = " ".join(fields["name"].split())
    note = fields["proposal_note"].strip()
    if len(note) > 2000:
        raise ValidationError("proposal_note", _l("Keep it under 2,000 characters."))
    taken = db.session.scalars(select(Chapter.name).where(Chapter.status != ChapterStatus.DECLINED))
    if fold(name) in {fold(other) for other in taken}:
        raise ValidationError(
            "name", _l("A chapter with this name already exists or is waiting for review.")
        )
    chapter = Chapter(
        slug=_unique_chapter_slug(name),
        name=name,
        city=fields["city"].strip(),
        country=fields["country"].upper(),
        region=fields["region"],
        timezone=fields["timezone"],
        status=ChapterStatus.PROPOSED,
        is_active=False,
        proposed_by=user,
        proposal_note=note,
    )
    db.session.add(chapter)
    db.session.flush()
    audit.record(user, "chapter.proposed", "chapter", chapter.id, name)
    return chapter


def _require_ime(admin: User) -> None:
    if not is_ime_admin(admin):
        raise Forbidden(_l("Only IME administrators do this."))


def _require_proposed(chapter: Chapter) -> None:
    if chapter.status != ChapterStatus.PROPOSED:
        raise ValidationError(None, _l("This proposal has already been decided."))


def approve_chapter(admin: User, chapter: Chapter) -> Chapter:
    """IME approves a proposal: the chapter becomes active and public, and whoever proposed it
    coordinates it (if their account still is a member's), told in one e-mail."""
    _require_ime(admin)
    _require_proposed(chapter)
    chapter.status = ChapterStatus.APPROVED
    chapter.is_active = True
    chapter.decided_at = utcnow()
    chapter.decision_reason = ""
    proposer = chapter.proposed_by
    if proposer is not None and proposer.role == Role.MEMBER:
        assign_coordinator(admin, chapter, proposer, send_email=False)
    db.session.flush()
    audit.record(admin, "chapter.approved", "chapter", chapter.id, chapter.name)
    if proposer is not None:
        notify(
            proposer,
            _l("Your chapter %(chapter)s is approved", chapter=chapter.name),
            "chapter_approved",
            chapter=chapter,
            is_coordinator=proposer.role == Role.MEMBER,
            link=external_url("chapters.detail", slug=chapter.slug),
        )
    return chapter


def decline_chapter(admin: User, chapter: Chapter, reason: str) -> Chapter:
    """IME declines a proposal, saying why: the proposer reads the reason and may propose again."""
    _require_ime(admin)
    _require_proposed(chapter)
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationError("reason", _l("Say why, so that the member understands."))
    if len(reason) > 2000:
        raise ValidationError("reason", _l("Keep it under 2,000 characters."))
    chapter.status = ChapterStatus.DECLINED
    chapter.is_active = False
    chapter.decided_at = utcnow()
    chapter.decision_reason = reason
    db.session.flush()
    audit.record(admin, "chapter.declined", "chapter", chapter.id, reason)
    if chapter.proposed_by is not None:
        notify(
            chapter.proposed_by,
            _l("Your proposal of %(chapter)s", chapter=chapter.name),
            "chapter_declined",
            chapter=chapter,
            reason=reason,
            link=external_url("chapters.propose"),
        )
    return chapter


def set_chapter_active(admin: User, chapter: Chapter, active: bool) -> Chapter:
    """Deactivate a chapter (it leaves the public lists, counts and search; nobody may join it)
    or bring it back. Memberships, coordinators and events are kept, so reactivating restores
    the chapter as it was."""
    _require_ime(admin)
    if chapter.status != ChapterStatus.APPROVED:
        raise ValidationError(None, _l("Decide on the proposal first."))
    if chapter.is_active == active:
        raise ValidationError(
            None,
            _l("The chapter is already active.")
            if active
            else _l("The chapter is already inactive."),
        )
    chapter.is_active = active
    db.session.flush()
    action = "chapter.reactivated" if active else "chapter.deactivated"
    audit.record(admin, action, "chapter", chapter.id, chapter.name)
    return chapter


# ---------------------------------------------------------------- CCIME representatives


def _term_detail(term: CcimeTerm) -> str:
    where = f" ({term.chapter.slug})" if term.chapter is not None else ""
    return f"{term.starts_on.isoformat()}..{term.ends_on.isoformat()}{where}"


def add_ccime_term(
    admin: User, user: User, chapter: Chapter | None, starts_on: date, ends_on: date
) -> CcimeTerm:
    """Mark a member as a CCIME representative for a term. Only members with a profile: the badge
    is shown on it. Two terms of one person may not overlap, or the badge would say two things."""
    _require_ime(admin)
    if user.role != Role.MEMBER or user.profile is None:
        raise ValidationError("email", _l("This person has no member profile."))
    if ends_on <= starts_on:
        raise ValidationError("ends_on", _l("The end of the term must be after its start."))
    if chapter is not None and chapter.status != ChapterStatus.APPROVED:
        raise ValidationError("chapter", _l("Choose a chapter from the list."))
    overlapping = db.session.scalar(
        select(CcimeTerm.id).where(
            CcimeTerm.user_id == user.id,
            CcimeTerm.starts_on <= ends_on,
            CcimeTerm.ends_on >= starts_on,
        )
    )
    if overlapping is not None:
        raise ValidationError(
            "starts_on", _l("This person already has a term that overlaps these dates.")
        )
    term = CcimeTerm(
        user=user, chapter=chapter, starts_on=starts_on, ends_on=ends_on, created_by_id=admin.id
    )
    db.session.add(term)
    db.session.flush()
    audit.record(admin, "ccime.term_added", "user", user.id, _term_detail(term))
    return term


def end_ccime_term(admin: User, term: CcimeTerm, today: date) -> CcimeTerm:
    """End a term early: its last day is today. A term that has not started is deleted instead,
    since it would otherwise end before it begins."""
    _require_ime(admin)
    if term.ends_on < today:
        raise ValidationError(None, _l("This term has already ended."))
    if term.ends_on == today:
        raise ValidationError(None, _l("This term already ends today."))
    if term.starts_on > today:
        raise ValidationError(None, _l("This term has not started yet; delete it instead."))
    term.ends_on = today
    db.session.flush()
    audit.record(admin, "ccime.term_ended", "user", term.user_id, _term_detail(term))
    return term


def delete_ccime_term(admin: User, term: CcimeTerm) -> None:
    """Remove a term entered by mistake (the audit log keeps what it was)."""
    _require_ime(admin)
    audit.record(admin, "ccime.term_deleted", "user", term.user_id, _term_detail(term))
    db.session.delete(term)
    db.session.flush()


# ---------------------------------------------------------------- reference data


def _read(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def load_structure(*, with_chapters: bool) -> dict[str, int]:
    """Create the regions and the 32 nodes (and, for demos, the chapter list) if missing.

    Idempotent: rows that exist are left as administrators edited them.
    """
    created = {"regions": 0, "nodes": 0, "chapters": 0}
    regions = {r.slug: r for r in db.session.scalars(select(Region))}
    for row in _read("regions.json"):
        if row["slug"] not in regions:
            regions[row["slug"]] = Region(**row)
            db.session.add(regions[row["slug"]])
            created["regions"] += 1
    nodes = {n.code: n for n in db.session.scalars(select(Node))}
    for row in _read("nodes.json"):
        if row["code"] not in nodes:
            data = dict(row)
            data["inegi_code"] = data.pop("inegi")
            nodes[row["code"]] = Node(**data)
            db.session.add(nodes[row["code"]])
            created["nodes"] += 1
    if with_chapters:
        existing = set(db.session.scalars(select(Chapter.slug)))
        for row in _read("chapters.json"):
            if row["slug"] in existing:
                continue
            data = dict(row)
            chapter = Chapter(
                slug=data["slug"],
                name=data["name"],
                region=regions[data["region"]],
                country=data["country"],
                city=data["city"],
                timezone=data["timezone"],
                founded_year=data["founded_year"],
                description=data["description_es"] + "\n\n" + data["description_en"],
                nodes=[nodes[code] for code in data.get("nodes", [])],
            )
            db.session.add(chapter)
            created["chapters"] += 1
    db.session.flush()
    return created
