"""Organisation rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from network.db import db, utcnow
from network.errors import ValidationError
from network.organisations.models import Organisation, OrganisationKind


def create_organisation(slug: str, name: str, kind: str, *, verified: bool = False) -> Organisation:
    """Register an organisation; IME verifies it before it may look for experts."""
    slug = slug.strip().lower()
    if not slug or db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        raise ValidationError("slug", _l("Another organisation already uses this address."))
    try:
        kind_value = OrganisationKind(kind)
    except ValueError as exc:
        raise ValidationError("kind", _l("Choose a kind of organisation from the list.")) from exc
    organisation = Organisation(
        slug=slug, name=name.strip(), kind=kind_value, verified_at=utcnow() if verified else None
    )
    db.session.add(organisation)
    db.session.flush()
    return organisation


def get_organisation_by_slug(slug: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.slug == slug))
