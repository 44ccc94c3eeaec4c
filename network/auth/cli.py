"""`flask users ...`: create accounts and API tokens from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from network.auth import services
from network.auth.models import User
from network.db import utcnow
from network.errors import ValidationError
from network.extensions import db
from network.members.models import Profile
from network.organisations.services import get_organisation_by_slug
from network.security import Role

cli = AppGroup("users", help="Manage accounts.")


@cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", type=click.Choice(["member", "ime"]), default="member", show_default=True)
@click.option("--organisation", "organisation_slug", help="Make this an organisation user.")
@click.option("--language", type=click.Choice(["es", "en"]), default="es", show_default=True)
def create(
    email: str, name: str, password: str, role: str, organisation_slug: str | None, language: str
) -> None:
    """Create a confirmed account (no e-mail is sent)."""
    organisation = None
    if organisation_slug:
        organisation = get_organisation_by_slug(organisation_slug)
        if organisation is None:
            raise click.ClickException(f"no organisation {organisation_slug!r}")
    account_role = Role.ORGANISATION if organisation else Role(role)
    # A ValidationError (weak password, address taken) is one line: network.cli_errors.
    user = create_confirmed_user(email, name, password, account_role, language)
    user.organisation = organisation
    db.session.commit()
    kind = f"user of {organisation.slug}" if organisation else str(user.role)
    click.echo(f"created {kind} {user.email}")


def create_confirmed_user(
    email: str, name: str, password: str, role: Role, language: str = "es"
) -> User:
    """An account made by an administrator is trusted: confirmed, and no e-mail is queued."""
    email = services.normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ValidationError("email", "an account with this e-mail address already exists")
    services.check_password_strength(password, email=email, name=name)
    user = User(
        email=email,
        full_name=" ".join(name.split()),
        password_hash=services.hash_password(password),
        preferred_language=language,
        role=role,
        email_confirmed_at=utcnow(),
    )
    if role == Role.MEMBER:
        user.profile = Profile()
    db.session.add(user)
    db.session.flush()
    return user


@cli.command("token")
@click.argument("emails", nargs=-1, required=True)
@click.option("--name", default="command line", show_default=True, help="Token name.")
def token(emails: tuple[str, ...], name: str) -> None:
    """Print `EMAIL TOKEN`, one line per account, each a new API token."""
    lines = []
    for email in emails:
        user = services.get_user_by_email(email)
        if user is None:
            raise click.ClickException(f"no account {email!r}")
        _token, plain = services.create_api_token(user, name)
        lines.append(f"{user.email} {plain}")
    db.session.commit()
    click.echo("\n".join(lines))
