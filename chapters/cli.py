"""`flask chapters ...`"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from chapters import services
from network.extensions import db

cli = AppGroup("chapters", help="Regions, chapters and nodes.")


@cli.command("load-structure")
@click.option("--with-chapters", is_flag=True, help="Also create the known chapter list.")
def load_structure(with_chapters: bool) -> None:
    """Create the four regions and the 32 nodes if they are missing (safe to run again)."""
    created = services.load_structure(with_chapters=with_chapters)
    db.session.commit()
    click.echo(", ".join(f"{count} {name}" for name, count in created.items()) + " created")
