"""`flask members ...` and `flask vocabulary ...`"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from network.csvsafe import write_csv
from network.extensions import db
from network.members import csvio, services
from network.members.vocabulary import load_vocabulary
from network.visibility import Viewer

cli = AppGroup("members", help="Member profiles: import, export, reminders.")
vocabulary_cli = AppGroup("vocabulary", help="The expertise vocabulary.")

# The command line acts for IME: it sees what an IME administrator sees, never private fields.
IME_VIEWER = Viewer(user_id=None, is_signed_in=True, is_ime=True)


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--partial", is_flag=True, help="Import the good rows even if some are bad.")
def import_command(path: Path, dry_run: bool, partial: bool) -> None:
    """Import or update members from a UTF-8 CSV file (idempotent by e-mail)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException("the file is not UTF-8") from error
    report = csvio.import_members(text, dry_run=dry_run, partial=partial)
    for problem in report.problems:
        click.echo(str(problem))
    if report.applied:
        db.session.commit()
        click.echo(
            f"{report.rows} rows: {report.created} created, {report.updated} updated, "
            f"{report.skipped} skipped"
        )
    else:
        db.session.rollback()
        verdict = "nothing imported" if report.problems else "dry run, nothing written"
        click.echo(f"{report.rows} rows checked, {len(report.problems)} problems: {verdict}")
    if report.problems and not (partial and report.applied):
        raise SystemExit(1)


@cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_command(path: Path) -> None:
    """Write every member's profile, as IME may see it, with the import's columns."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        count = write_csv(handle, csvio.export_rows(IME_VIEWER)) - 1
    click.echo(f"exported {count} members to {path}")


@cli.command("nudge-stale")
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 120))
def nudge_stale(months: int) -> None:
    """E-mail members whose profile was not confirmed for MONTHS (at most once a month each)."""
    queued = services.nudge_stale_profiles(months)
    db.session.commit()
    click.echo(f"queued {queued} reminders")


@vocabulary_cli.command("load")
def load() -> None:
    """Load the shipped expertise vocabulary (safe to run again)."""
    counts = load_vocabulary()
    db.session.commit()
    click.echo(
        f"{counts['sectors']} sectors and {counts['concepts']} concepts created, "
        f"{counts['updated']} updated"
    )
