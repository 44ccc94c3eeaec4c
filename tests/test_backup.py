"""`flask db backup PATH`: an online SQLite copy that restores by copying it back; PostgreSQL is
pointed at pg_dump. Both paths run in both CI passes: each test builds the app it needs."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from chapters.models import Region
from network import create_app
from network.config import TestConfig
from network.extensions import db


def _regions(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT slug, name_en FROM regions ORDER BY slug").fetchall()
    connection.close()
    return rows


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    """An app on a SQLite file (WAL, as in production) holding two regions."""
    database = tmp_path / "live" / "redglobal.sqlite3"
    database.parent.mkdir()

    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"
        SEARCH_BACKEND = "whoosh"  # a SQLite database searches with Whoosh

    app = create_app(FileConfig)
    with app.app_context():
        db.create_all()
        db.session.add_all(
            [
                Region(slug="europe", name_es="Europa", name_en="Europe", position=3),
                Region(
                    slug="asia", name_es="Asia y Oceanía", name_en="Asia and Oceania", position=4
                ),
            ]
        )
        db.session.commit()
    yield app, database
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_backup_is_a_valid_database_with_the_same_rows(live, tmp_path: Path) -> None:
    app, database = live
    target = tmp_path / "backups" / "2026" / "redglobal.sqlite3"  # folders made on the way

    result = app.test_cli_runner().invoke(args=["db", "backup", str(target)])

    assert result.exit_code == 0, result.output
    assert str(target) in result.output and "MiB in" in result.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # A single self-contained file, whatever mode the live database runs in.
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()
    assert _regions(target) == [("asia", "Asia and Oceania"), ("europe", "Europe")]
    assert target.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only
    assert sorted(p.name for p in target.parent.iterdir()) == ["redglobal.sqlite3"]
    live_db = sqlite3.connect(database)
    assert live_db.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # the app's, untouched
    live_db.close()


def test_a_backup_while_a_write_is_in_progress_holds_only_committed_data(live, tmp_path):
    """Online: another connection in the middle of a write neither blocks the backup nor leaks
    its uncommitted row into it."""
    app, database = live
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE regions SET name_en = 'Europe (unsaved)' WHERE slug = 'europe'")
        result = app.test_cli_runner().invoke(args=["db", "backup", str(tmp_path / "b.sqlite3")])
        writer.execute("COMMIT")
    finally:
        writer.close()

    assert result.exit_code == 0, result.output
    assert _regions(tmp_path / "b.sqlite3") == [("asia", "Asia and Oceania"), ("europe", "Europe")]
    assert ("europe", "Europe (unsaved)") in _regions(database)  # committed after the backup


def test_it_refuses_to_overwrite_unless_forced(live, tmp_path: Path) -> None:
    app, _database = live
    target = tmp_path / "redglobal.sqlite3"
    target.write_text("yesterday's backup")
    runner = app.test_cli_runner()

    refused = runner.invoke(args=["db", "backup", str(target)])

    assert refused.exit_code != 0
    assert "--force" in refused.output
    assert target.read_text() == "yesterday's backup"

    forced = runner.invoke(args=["db", "backup", "--force", str(target)])

    assert forced.exit_code == 0, forced.output
    assert _regions(target) == [("asia", "Asia and Oceania"), ("europe", "Europe")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live", "redglobal.sqlite3"]


def test_restoring_is_copying_the_file_back(live, tmp_path: Path) -> None:
    """The documented restore: stop the app, set the database and its -wal/-shm aside, copy the
    backup in its place, start again."""
    app, database = live
    backup = tmp_path / "backup.sqlite3"
    assert app.test_cli_runner().invoke(args=["db", "backup", str(backup)]).exit_code == 0
    with app.app_context():
        db.session.delete(db.session.scalar(select(Region).where(Region.slug == "europe")))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()  # "stop the app"

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, database)

    with app.app_context():
        assert db.session.scalars(select(Region.slug).order_by(Region.slug)).all() == [
            "asia",
            "europe",
        ]


def test_postgresql_is_pointed_at_pg_dump_without_revealing_the_password(tmp_path) -> None:
    """No dump is made (exit 1, so a scheduled job notices); the message gives the commands."""

    class PostgresConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://redglobal:s3cret@db.internal:5432/redglobal"

    app = create_app(PostgresConfig)
    target = tmp_path / "redglobal.dump"
    try:
        result = app.test_cli_runner().invoke(args=["db", "backup", str(target)])
    finally:
        with app.app_context():
            db.engine.dispose()

    assert result.exit_code == 1
    assert (
        f"pg_dump --format=custom --file={target} "
        "postgresql://redglobal@db.internal:5432/redglobal" in result.output
    )
    assert "pg_restore" in result.output
    assert "s3cret" not in result.output
    assert "+psycopg://" not in result.output.replace("/+psycopg/", "")  # libpq cannot read it
    assert not target.exists()


@pytest.mark.parametrize(
    "name",
    ["database", "symlink", "relative", "wal", "shm"],
)
def test_the_live_database_is_never_a_backup_target(live, tmp_path, monkeypatch, name) -> None:
    """Replacing the live file under running workers corrupted what they had open (valid API
    tokens got 401 until a restart): refused, forced or not, however the path is spelt."""
    app, database = live
    with app.app_context():  # WAL mode keeps -wal and -shm beside the database while open
        connection = db.engine.connect()
    link = tmp_path / "link.sqlite3"
    link.symlink_to(database)
    monkeypatch.chdir(tmp_path)
    target = {
        "database": str(database),
        "symlink": str(link),
        "relative": f"live/../live/{database.name}",
        "wal": f"{database}-wal",
        "shm": f"{database}-shm",
    }[name]
    before = database.stat()

    try:
        result = app.test_cli_runner().invoke(args=["db", "backup", "--force", target])
    finally:
        connection.close()

    assert result.exit_code == 1
    assert f"Error: {target} is the live database" in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    after = database.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _regions(database) == [("asia", "Asia and Oceania"), ("europe", "Europe")]


def test_an_unwritable_target_is_one_line_naming_it(live, tmp_path: Path) -> None:
    app, _database = live
    (tmp_path / "not-a-folder").write_text("a file where a folder should be")
    target = tmp_path / "not-a-folder" / "redglobal.sqlite3"

    result = app.test_cli_runner().invoke(args=["db", "backup", str(target)])

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot write {target}: ")
    assert len(result.output.strip().splitlines()) == 1
    assert result.exception.__class__ is SystemExit  # handled, not a crash
