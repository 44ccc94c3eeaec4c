"""Organisation rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from chapters.models import Node
from network import audit
from network.auth.models import User
from network.db import db, utcnow
from network.errors import Forbidden, ValidationError
from network.geo import is_country
from network.organisations.models import Organisation, OrganisationKind, on_domain
from network.outbox import queue_email
from network.security import Role, is_ime_admin
from network.text import slugify
from network.urls import external_url

# An organisation's address: lowercase ASCII letters and digits in words joined by single hyphens,
# so it reads the same in a URL, a CSV and an API response, with nothing to escape.
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX_LENGTH = 80


def derive_slug(text: str) -> str:
    """ "Comisión Nacional del Agua" -> "comision-nacional-del-agua": a valid slug, maybe empty.

    `slugify` keeps letters of any script; an address keeps only ASCII ones."""
    ascii_words = re.sub(r"[^a-z0-9]+", " ", slugify(text)).split()
    return "-".join(ascii_words)[:SLUG_MAX_LENGTH].strip("-")


def check_slug(slug: str) -> str:
    """The slug, lower-cased and trimmed, or a ValidationError saying what an address may hold."""
    slug = slug.strip().lower()
    if not SLUG.match(slug) or len(slug) > SLUG_MAX_LENGTH:
        raise ValidationError(
            "slug",
            _l(
                "“%(slug)s” cannot be an address: use lowercase letters, digits and single "
                "hyphens (up to 80), for example “%(example)s”.",
                slug=slug,
                example=derive_slug(slug) or "secretaria-de-salud",
            ),
        )
    return slug


def create_organisation(
    slug: str, name: str, kind: OrganisationKind, *, verified: bool = False
) -> Organisation:
    """Register an organisation; IME verifies it before it may look for experts."""
    slug = check_slug(slug)
    if db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        raise ValidationError("slug", _l("Another organisation already uses this address."))
    name = _full_name(name)
    organisation = Organisation(
        slug=slug, name=name, kind=kind, verified_at=utcnow() if verified else None
    )
    db.session.add(organisation)
    db.session.flush()
    return organisation


def get_organisation_by_slug(slug: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.slug == slug))


@dataclass
class OrganisationData:
    """What an organisation user declares when registering their organisation."""

    name: str
    kind: OrganisationKind
    country: str
    state_code: str = ""
    website: str = ""
    email_domain: str = ""


_DOMAIN = re.compile(r"^(?=.{4,120}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")


def _full_name(text: str) -> str:
    name = " ".join(text.split())
    if len(name) < 3 or len(name) > 200:
        raise ValidationError(
            "name", _l("Give the organisation's full name (3 to 200 characters).")
        )
    return name


def _clean(data: OrganisationData) -> dict[str, Any]:
    name = _full_name(data.name)
    country = (data.country or "").strip().upper()
    if not is_country(country):
        raise ValidationError("country", _l("Choose a country from the list."))
    state = (data.state_code or "").strip().upper() or None
    if state and not db.session.scalar(select(Node.id).where(Node.code == state)):
        raise ValidationError("state_code", _l("Choose a Mexican state from the list."))
    if state and country != "MX":
        raise ValidationError("state_code", _l("A Mexican state only goes with Mexico."))
    website = (data.website or "").strip()
    if website and not re.match(r"^https?://[^\s/$.?#][^\s]*$", website, re.IGNORECASE):
        raise ValidationError("website", _l("Enter the full address, starting with https://."))
    domain = (data.email_domain or "").strip().lower().removeprefix("@")
    if not _DOMAIN.match(domain):
        raise ValidationError(
            "email_domain",
            _l("Enter the domain of official e-mail addresses, e.g. conagua.gob.mx."),
        )
    return {
        "name": name,
        "kind": data.kind,
        "country": country,
        "state_code": state,
        "website": website[:300],
        "email_domain": domain,
    }


def _unique_slug(name: str) -> str:
    base = derive_slug(name)[:60].strip("-") or "organisation"
    slug, number = base, 2
    while db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        slug, number = f"{base}-{number}", number + 1
    return slug


def register_organisation(user: User, data: OrganisationData) -> Organisation:
    """An organisation user registers the organisation they speak for; it waits for IME.

    Their own e-mail address must be on the official domain they declare: that is the first
    thing IME would check, and it keeps anyone from claiming a ministry from a free mailbox.
    A rejected organisation may be corrected and sent again."""
    if user.role != Role.ORGANISATION:
        raise ValidationError(None, _l("Only organisation accounts register organisations."))
    clean = _clean(data)
    if not on_domain(user.email, clean["email_domain"]):
        raise ValidationError(
            "email_domain",
            _l("Your e-mail address (%(email)s) must be on this domain.", email=user.email),
        )
    organisation = user.organisation
    if organisation is not None and organisation.status != "rejected":
        raise ValidationError(None, _l("Your account already belongs to an organisation."))
    if organisation is None:
        organisation = Organisation(slug=_unique_slug(clean["name"]), **clean)
        db.session.add(organisation)
        user.organisation = organisation
    else:
        for key, value in clean.items():
            setattr(organisation, key, value)
        organisation.rejected_at = None
        organisation.rejection_reason = ""
    db.session.flush()
    audit.record(user, "organisation.registered", "organisation", organisation.id, clean["name"])
    return organisation


def verify_organisation(admin: User, organisation: Organisation) -> None:
    """IME vouches for the organisation: from now on it may post needs and contact experts."""
    if not is_ime_admin(admin):
        raise Forbidden(_l("Only IME administrators verify organisations."))
    organisation.verified_at = utcnow()
    organisation.rejected_at = None
    organisation.rejection_reason = ""
    audit.record(admin, "organisation.verified", "organisation", organisation.id)
    _tell_users(organisation, "organisation_verified", _l("Your organisation is verified"))


def reject_organisation(admin: User, organisation: Organisation, reason: str) -> None:
    """IME declines, saying why (the users read it and may correct and resend)."""
    if not is_ime_admin(admin):
        raise Forbidden(_l("Only IME administrators verify organisations."))
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationError("reason", _l("Say why, so that they can correct it."))
    organisation.verified_at = None
    organisation.rejected_at = utcnow()
    organisation.rejection_reason = reason[:2000]
    audit.record(admin, "organisation.rejected", "organisation", organisation.id, reason)
    _tell_users(organisation, "organisation_rejected", _l("Your organisation was not verified"))


def _tell_users(organisation: Organisation, template: str, subject: Any) -> None:
    for user in organisation.users:
        queue_email(
            user.email,
            subject,
            template,
            locale=user.preferred_language,
            kind=template,
            user=user,
            organisation=organisation,
            link=external_url("organisations.mine"),
        )


def list_for_review() -> list[Organisation]:
    """Every organisation, those waiting for IME first, then the newest."""
    organisations = db.session.scalars(
        select(Organisation)
        .options(selectinload(Organisation.users))
        .order_by(Organisation.created_at.desc())
    ).all()
    order = {"pending": 0, "rejected": 1, "verified": 2}
    return sorted(organisations, key=lambda o: order[o.status])
