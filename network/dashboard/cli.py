"""`flask dashboard refresh`: compute IME's whole-network panels before anyone asks, from cron
or a systemd timer every few minutes, so that no view waits for them."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from network.dashboard import panels

cli = AppGroup("dashboard", help="IME's dashboard.")


@cli.command("refresh")
@click.option(
    "--period",
    "periods",
    multiple=True,
    type=click.Choice(list(panels.PERIODS)),
    help="A period to compute (repeat for several); default: every period.",
)
@click.option(
    "--language",
    "languages",
    multiple=True,
    type=click.Choice(["es", "en"]),
    help="A language to compute in (repeat for several); default: both.",
)
def refresh(periods: tuple[str, ...], languages: tuple[str, ...]) -> None:
    """Compute and keep the whole network's member panels (both ways of the gap table)."""
    count = 0
    for language in languages or ("es", "en"):
        # Panels are worded in their language: the locale must be the one they are kept under.
        with force_locale(language):
            for period in periods or tuple(panels.PERIODS):
                for by in ("sector", "concept"):
                    slugs = sorted(panels.STORED) if by == "sector" else ["gap"]
                    scope = panels.Scope(period=period, by=by)
                    count += len(panels.build_all(scope, language, slugs, fresh=True))
    click.echo(f"kept {count} panels")
