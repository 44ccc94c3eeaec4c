"""Organisations in Mexico (ministries, state governments, universities...) whose users ask for experts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import db, str_enum, utcnow

if TYPE_CHECKING:
    from network.auth.models import User


class OrganisationKind(enum.StrEnum):
    MINISTRY = "ministry"
    STATE_GOVERNMENT = "state_government"
    UNIVERSITY = "university"
    COMPANY = "company"
    NGO = "ngo"


ORGANISATION_KIND_LABELS = {
    OrganisationKind.MINISTRY: _l("Federal ministry or agency"),
    OrganisationKind.STATE_GOVERNMENT: _l("State government"),
    OrganisationKind.UNIVERSITY: _l("University or research centre"),
    OrganisationKind.COMPANY: _l("Company"),
    OrganisationKind.NGO: _l("Non-governmental organisation"),
}


def on_domain(email: str, official: str) -> bool:
    """Whether an e-mail address is on a domain or one of its subdomains."""
    domain = email.rsplit("@", 1)[-1].lower()
    return bool(official) and (domain == official or domain.endswith("." + official))


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind))
    # Only a verified organisation may search experts and post needs (a later issue).
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    country: Mapped[str | None] = mapped_column(String(2))
    # The Mexican state it belongs to (a node's code, e.g. "son"), if any.
    state_code: Mapped[str | None] = mapped_column(String(8))
    website: Mapped[str] = mapped_column(String(300), default="")
    # Its official e-mail domain ("conagua.gob.mx"): IME checks it against who registered it.
    email_domain: Mapped[str] = mapped_column(String(120), default="")
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str] = mapped_column(Text, default="")

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    def on_domain(self, email: str) -> bool:
        """Whether an address is on the official domain (or one of its subdomains)."""
        return on_domain(email, self.email_domain)

    @property
    def status(self) -> str:
        """verified, rejected or pending (waiting for IME)."""
        if self.verified_at is not None:
            return "verified"
        return "rejected" if self.rejected_at is not None else "pending"

    @property
    def kind_label(self) -> str:
        return str(ORGANISATION_KIND_LABELS[self.kind])
