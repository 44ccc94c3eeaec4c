"""Accounts and API tokens."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import db, str_enum, utcnow
from network.security import Role

if TYPE_CHECKING:
    from chapters.models import ChapterMembership
    from network.members.models import Profile
    from network.organisations.models import Organisation


def new_auth_stamp() -> str:
    return secrets.token_hex(8)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # The member directory lists members by name: read in this order, its first page stops
    # after a page of rows instead of sorting every member.
    __table_args__ = (Index("ix_users_role_full_name", "role", "full_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (lower case) so look-ups and the unique index agree.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    preferred_language: Mapped[str] = mapped_column(String(5), default="es")
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.MEMBER, index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    email_confirmed_at: Mapped[datetime | None]
    # Part of the session id: changing it (new password) signs out every other session and
    # invalidates outstanding reset links.
    auth_stamp: Mapped[str] = mapped_column(String(32), default=new_auth_stamp)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Set by IME (issue 8): a suspended account cannot sign in, and leaves the directory and
    # search until it is reinstated. The reason is shown to IME only.
    suspended_at: Mapped[datetime | None]
    suspension_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    memberships: Mapped[list[ChapterMembership]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="ChapterMembership.user_id",
    )
    profile: Mapped[Profile | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )
    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.created_at"
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_stamp}"

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def coordinated_chapter_ids(self) -> set[int]:
        return {m.chapter_id for m in self.memberships if m.is_coordinator and m.is_approved}

    @property
    def initials(self) -> str:
        parts = [p for p in self.full_name.split() if p[:1].isalpha()]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class ApiToken(db.Model):
    """A bearer token for the API. Only a SHA-256 hash is kept; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in the account page so a member can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="api_tokens")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
