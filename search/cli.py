"""`flask search reindex [--pending]` and `flask search stats`."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from network.db import db
from search.backends import get_backend
from search.indexer import count_documents, rebuild, retry_pending

cli = AppGroup("search", help="The search index.")


@cli.command("reindex")
@click.option("--pending", is_flag=True, help="Only apply the changes earlier writes could not.")
@click.option("--if-empty", is_flag=True, help="Only if the index has no documents yet.")
def reindex(pending: bool, if_empty: bool) -> None:
    """Rebuild the index from the database (the database is the truth)."""
    if if_empty and get_backend().doc_count():
        click.echo("the index already has documents; nothing done")
        return
    if pending:
        count, ok = retry_pending()
        click.echo(f"{count} pending changes {'applied' if ok else 'still pending'}")
        if not ok:
            raise SystemExit(1)
        return
    with Session(db.engine) as session:
        total = count_documents(session)
        with click.progressbar(length=total, label="Indexing", show_pos=True) as bar:
            written = rebuild(session, bar.update)
    click.echo(f"indexed {written} documents")


@cli.command("stats")
def stats() -> None:
    """Documents per kind and the index's size on disk."""
    backend = get_backend()
    for kind, count in sorted(backend.kinds().items()):
        click.echo(f"{kind}: {count}")
    click.echo(f"documents: {backend.doc_count()}, size: {backend.size_bytes() / 1024:.1f} KiB")
