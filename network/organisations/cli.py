"""`flask organisations ...`"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from network.extensions import db
from network.organisations import services
from network.organisations.models import OrganisationKind

cli = AppGroup("organisations", help="Manage organisations.")


@cli.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice([k.value for k in OrganisationKind]))
@click.option("--verified", is_flag=True, help="Mark it verified by IME at once.")
def create(slug: str, name: str, kind: str, verified: bool) -> None:
    """Create an organisation."""
    # A ValidationError (a bad or taken slug) is one line: network.cli_errors.
    organisation = services.create_organisation(
        slug, name, OrganisationKind(kind), verified=verified
    )
    db.session.commit()
    state = "verified" if organisation.is_verified else "not verified"
    click.echo(f"created organisation {organisation.slug} ({state})")
