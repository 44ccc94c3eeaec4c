"""Regions, chapters abroad, nodes in Mexican states, and who belongs to which chapter."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import db, str_enum, utcnow

if TYPE_CHECKING:
    from network.auth.models import User


class Region(db.Model):
    """One of the network's regional coordinations (Canada; US and Latin America; ...)."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_es: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description_es: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    chapters: Mapped[list[Chapter]] = relationship(back_populates="region", order_by="Chapter.name")

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_es

    def description(self, language: str) -> str:
        return self.description_en if language == "en" else self.description_es


chapter_nodes = Table(
    "chapter_nodes",
    db.metadata,
    Column("chapter_id", Integer, ForeignKey("chapters.id", ondelete="CASCADE"), primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True),
)


class ChapterStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    DECLINED = "declined"


class Chapter(db.Model):
    """A citizen-led chapter in a city abroad. Autonomous; IME coordinates without governing."""

    __tablename__ = "chapters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    city: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    founded_year: Mapped[int | None]
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Members may propose a chapter (issue 8); it stays inactive and "proposed" until IME approves
    # it. Chapters IME creates itself are approved from the start.
    status: Mapped[ChapterStatus] = mapped_column(
        str_enum(ChapterStatus),
        default=ChapterStatus.APPROVED,
        server_default="approved",
        index=True,
    )
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposal_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    region: Mapped[Region] = relationship(back_populates="chapters")
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    nodes: Mapped[list[Node]] = relationship(
        secondary=chapter_nodes, back_populates="chapters", order_by="Node.name"
    )
    memberships: Mapped[list[ChapterMembership]] = relationship(
        back_populates="chapter", cascade="all, delete-orphan"
    )


class Node(db.Model):
    """A Mexican state (ISO 3166-2:MX), where chapters' work lands at home."""

    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    inegi_code: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    capital: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64))
    description_es: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")

    chapters: Mapped[list[Chapter]] = relationship(
        secondary=chapter_nodes, back_populates="nodes", order_by="Chapter.name"
    )

    @property
    def slug(self) -> str:
        """URL form of the code: MX-SON -> son."""
        return self.code.split("-", 1)[1].lower()

    def description(self, language: str) -> str:
        return self.description_en if language == "en" else self.description_es


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class ChapterRole(enum.StrEnum):
    MEMBER = "member"
    COORDINATOR = "coordinator"


class ChapterMembership(db.Model):
    """A member's request to join, or membership of, one chapter; coordinators are members too."""

    __tablename__ = "chapter_memberships"
    __table_args__ = (UniqueConstraint("user_id", "chapter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chapter_id: Mapped[int] = mapped_column(
        ForeignKey("chapters.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[MembershipStatus] = mapped_column(
        str_enum(MembershipStatus), default=MembershipStatus.PENDING, index=True
    )
    role: Mapped[ChapterRole] = mapped_column(str_enum(ChapterRole), default=ChapterRole.MEMBER)
    message: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    chapter: Mapped[Chapter] = relationship(back_populates="memberships")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def is_approved(self) -> bool:
        return self.status == MembershipStatus.APPROVED

    @property
    def is_pending(self) -> bool:
        return self.status == MembershipStatus.PENDING

    @property
    def is_coordinator(self) -> bool:
        return self.role == ChapterRole.COORDINATOR


class CcimeTerm(db.Model):
    """A member's term as a representative on the Advisory Council for Mexicans Abroad (CCIME),
    marked by IME; the chapter page and the member's profile show the current ones."""

    __tablename__ = "ccime_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chapter_id: Mapped[int | None] = mapped_column(
        ForeignKey("chapters.id", ondelete="SET NULL"), index=True
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    chapter: Mapped[Chapter | None] = relationship()

    def is_current(self, today: date) -> bool:
        return self.starts_on <= today <= self.ends_on
