"""Profiles, the bilingual expertise vocabulary and free tags."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import db, str_enum, utcnow
from network.visibility import DEFAULT_VISIBILITY, PROFILE_FIELDS, Tier

if TYPE_CHECKING:
    from chapters.models import Node
    from network.auth.models import User


class Mode(enum.StrEnum):
    """Ways a member can contribute (stable names: the CSV and the API use them)."""

    REMOTE_ADVICE = "remote_advice"
    MENTORING = "mentoring"
    SHORT_VISIT = "short_visit"
    TEACHING = "teaching"
    INVESTMENT = "investment"
    RESEARCH = "research"


MODE_LABELS = {
    Mode.REMOTE_ADVICE: _l("Remote advice"),
    Mode.MENTORING: _l("Mentoring"),
    Mode.SHORT_VISIT: _l("Short visit to Mexico"),
    Mode.TEACHING: _l("Teaching and talks"),
    Mode.INVESTMENT: _l("Investment and business links"),
    Mode.RESEARCH: _l("Research collaboration"),
}

LANGUAGE_LEVELS = ("native", "C2", "C1", "B2", "B1", "A2", "A1")


class Sector(db.Model):
    __tablename__ = "sectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    label_es: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_es


# Broader and narrower concepts (SKOS "broader"): "Renewable energy" is broader than "Solar
# photovoltaics" and "Wind power". A concept may sit under several broader ones ("Green hydrogen"
# under renewable energy and the energy transition); a need or a query naming the broader concept
# reaches the experts of the narrower ones.
concept_broader = Table(
    "concept_broader",
    db.metadata,
    Column("concept_id", Integer, ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True),
    Column("broader_id", Integer, ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_concept_broader_broader_id", "broader_id"),
)


class Concept(db.Model):
    """An expertise concept with labels and synonyms in both languages."""

    __tablename__ = "concepts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"), index=True)
    label_es: Mapped[str] = mapped_column(String(160))
    label_en: Mapped[str] = mapped_column(String(160))
    synonyms_es: Mapped[str] = mapped_column(Text, default="")
    synonyms_en: Mapped[str] = mapped_column(Text, default="")
    # Labels and synonyms in both languages, lower-cased and without accents, for matching.
    search_text: Mapped[str] = mapped_column(Text, default="")

    sector: Mapped[Sector] = relationship()
    broader: Mapped[list[Concept]] = relationship(
        secondary=concept_broader,
        primaryjoin=lambda: Concept.id == concept_broader.c.concept_id,
        secondaryjoin=lambda: Concept.id == concept_broader.c.broader_id,
        back_populates="narrower",
        order_by=lambda: Concept.slug,
    )
    narrower: Mapped[list[Concept]] = relationship(
        secondary=concept_broader,
        primaryjoin=lambda: Concept.id == concept_broader.c.broader_id,
        secondaryjoin=lambda: Concept.id == concept_broader.c.concept_id,
        back_populates="broader",
        order_by=lambda: Concept.slug,
    )

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_es

    def other_label(self, language: str) -> str:
        return self.label_es if language == "en" else self.label_en


profile_concepts = Table(
    "profile_concepts",
    db.metadata,
    Column("profile_id", Integer, ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("concept_id", Integer, ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True),
    # Members by concept: the directory's filter and the ranking of candidates for a need.
    Index("ix_profile_concepts_concept_id", "concept_id"),
)


def _visibility_column(name: str) -> Mapped[Tier]:
    return mapped_column(
        str_enum(Tier, length=16, name=f"{name}_visibility"), default=DEFAULT_VISIBILITY[name]
    )


class Profile(db.Model):
    """What a member tells the network about themselves; each field has its own visibility."""

    __tablename__ = "profiles"
    # Anonymous visitors see only members whose name is public: the directory counts and lists
    # those from this index instead of reading every profile.
    __table_args__ = (Index("ix_profiles_name_public_user_id", "name_public", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name_public: Mapped[bool] = mapped_column(default=False)
    headline: Mapped[str] = mapped_column(String(160), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    city: Mapped[str] = mapped_column(String(120), default="")
    state_of_origin_id: Mapped[int | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="SET NULL"), index=True
    )
    timezone: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[str] = mapped_column(String(160), default="")
    employer: Mapped[str] = mapped_column(String(160), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    linkedin: Mapped[str] = mapped_column(String(300), default="")
    orcid: Mapped[str] = mapped_column(String(19), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    days_per_year: Mapped[int | None]
    open_to_mentoring: Mapped[bool] = mapped_column(default=False, index=True)
    mentor_capacity: Mapped[int] = mapped_column(default=0)
    # Kept by network.mentoring.services under the mentor's row lock: search reads it to leave
    # full mentors out of "See mentors" without counting relationships per document.
    active_mentees: Mapped[int] = mapped_column(default=0, server_default="0")
    open_to_requests: Mapped[bool] = mapped_column(default=False)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_nudged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    email_visibility: Mapped[Tier] = _visibility_column("email")
    phone_visibility: Mapped[Tier] = _visibility_column("phone")
    headline_visibility: Mapped[Tier] = _visibility_column("headline")
    bio_visibility: Mapped[Tier] = _visibility_column("bio")
    country_visibility: Mapped[Tier] = _visibility_column("country")
    city_visibility: Mapped[Tier] = _visibility_column("city")
    state_of_origin_visibility: Mapped[Tier] = _visibility_column("state_of_origin")
    timezone_visibility: Mapped[Tier] = _visibility_column("timezone")
    languages_visibility: Mapped[Tier] = _visibility_column("languages")
    position_visibility: Mapped[Tier] = _visibility_column("position")
    education_visibility: Mapped[Tier] = _visibility_column("education")
    links_visibility: Mapped[Tier] = _visibility_column("links")
    expertise_visibility: Mapped[Tier] = _visibility_column("expertise")
    modes_visibility: Mapped[Tier] = _visibility_column("modes")
    days_per_year_visibility: Mapped[Tier] = _visibility_column("days_per_year")
    mentoring_visibility: Mapped[Tier] = _visibility_column("mentoring")
    open_to_requests_visibility: Mapped[Tier] = _visibility_column("open_to_requests")
    chapters_visibility: Mapped[Tier] = _visibility_column("chapters")

    user: Mapped[User] = relationship(back_populates="profile")
    state_of_origin: Mapped[Node | None] = relationship()
    concepts: Mapped[list[Concept]] = relationship(
        secondary=profile_concepts, order_by="Concept.label_es"
    )
    free_tags: Mapped[list[FreeTag]] = relationship(
        cascade="all, delete-orphan", order_by="FreeTag.tag", back_populates="profile"
    )
    languages: Mapped[list[ProfileLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="ProfileLanguage.position"
    )
    modes: Mapped[list[ProfileMode]] = relationship(cascade="all, delete-orphan")
    education: Mapped[list[EducationEntry]] = relationship(
        cascade="all, delete-orphan", order_by="EducationEntry.position"
    )

    @property
    def visibility(self) -> dict[str, str]:
        return {name: str(getattr(self, f"{name}_visibility")) for name in PROFILE_FIELDS}

    def set_visibility(self, name: str, tier: Tier) -> None:
        if name not in PROFILE_FIELDS:
            raise KeyError(name)
        setattr(self, f"{name}_visibility", tier)

    @property
    def mentoring_is_full(self) -> bool:
        return self.active_mentees >= self.mentor_capacity

    @property
    def mode_names(self) -> list[str]:
        order = list(Mode)
        return [m.mode for m in sorted(self.modes, key=lambda m: order.index(Mode(m.mode)))]


class FreeTag(db.Model):
    """Expertise a member typed that is not (yet) in the vocabulary; IME may map it to a concept."""

    __tablename__ = "free_tags"
    __table_args__ = (UniqueConstraint("profile_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(80), index=True)

    profile: Mapped[Profile] = relationship(back_populates="free_tags")


class ProfileLanguage(db.Model):
    __tablename__ = "profile_languages"
    __table_args__ = (UniqueConstraint("profile_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(3), index=True)  # ISO 639-1
    level: Mapped[str] = mapped_column(String(8), default="")
    position: Mapped[int] = mapped_column(default=0)


class ProfileMode(db.Model):
    __tablename__ = "profile_modes"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(20), primary_key=True)


class EducationEntry(db.Model):
    __tablename__ = "education_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    degree: Mapped[str] = mapped_column(String(120), default="")
    field: Mapped[str] = mapped_column(String(160), default="")
    institution: Mapped[str] = mapped_column(String(200), default="")
    year: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)
