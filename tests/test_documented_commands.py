"""The documented commands are tests: every `flask` command of the README's "Command line" block
and of docs/deploy.md, run as a deployer runs it.

Each command is a subprocess (`.venv/bin/flask --app wsgi ...`, from the checkout) against a
fresh instance folder in the *default* configuration: a SQLite file, the Whoosh index on disk and
the console mail sender, with nothing else in the environment. Realistic arguments and bad ones
(a missing file, a missing folder, bad rows, the live database as a backup target, a bad slug):
the exit status, the key line of output, and never a traceback. The last test fails when the
README or docs/deploy.md documents a command (or an option of one) that no case here runs.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).with_name("flask")
GUNICORN = Path(sys.executable).with_name("gunicorn")

# Settings a developer's shell or CI may carry that would take the commands off the defaults.
_SETTINGS = re.compile(
    r"^(DATABASE_URL|TEST_DATABASE_URL|SEARCH_.*|REDGLOBAL_ENV|SECRET_KEY|BASE_URL|PORT|FLASK_.*"
    r"|MAIL_.*|RATELIMIT_.*|INSTANCE_PATH|TRUSTED_PROXIES|HEALTH_.*|PAGE_CACHE_.*)$"
)


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one `Error: ...` line a refused command prints last on stderr."""
        return self.err.strip().splitlines()[-1]


@dataclass
class Instance:
    path: Path
    first_start: list[Ran] = field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.path / "redglobal.sqlite3"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not _SETTINGS.match(k)}
        env.update(INSTANCE_PATH=str(self.path), PYTHONUNBUFFERED="1", **extra)
        return env

    def run(self, *args: str, expect: int = 0, env: dict[str, str] | None = None) -> Ran:
        """`flask --app wsgi ARGS` from the checkout; checks the exit status and that no
        traceback was printed, whatever the outcome."""
        done = subprocess.run(
            [str(FLASK), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        ran = Ran(done.returncode, done.stdout, done.stderr)
        shown = f"$ flask {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr, shown
        assert ran.code == expect, shown
        return ran


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """A first start as docs/deploy.md describes it, then the demo on top: one instance for the
    module, since every command costs a process start (about a second)."""
    fresh = Instance(tmp_path_factory.mktemp("instance"))
    fresh.first_start = [
        fresh.run("db", "upgrade"),
        fresh.run("chapters", "load-structure"),
        fresh.run("vocabulary", "load"),
        fresh.run("search", "reindex", "--if-empty"),
        fresh.run(
            "users",
            "create",
            "ime@example.org",
            "--name",
            "Administración IME",
            "--password",
            "una clave de administración larga",
            "--role",
            "ime",
        ),
        fresh.run("demo", "seed", "--members", "20"),
    ]
    yield fresh


def test_the_first_start_of_docs_deploy(instance: Instance) -> None:
    upgrade, structure, vocabulary, reindex, admin, seed = instance.first_start
    assert "Running upgrade" in upgrade.err
    assert structure.out.strip() == "4 regions, 32 nodes, 0 chapters created"
    assert re.fullmatch(r"\d+ sectors and \d+ concepts created, \d+ updated\n", vocabulary.out)
    assert reindex.out.splitlines()[-1] == "indexed 0 documents"  # nothing to index yet
    assert admin.out.strip() == "created ime ime@example.org"
    assert re.match(r"Seeded \d+ chapters in \d+ countries, 0 nodes, 22 members", seed.out)


def test_demo_logins(instance: Instance) -> None:
    logins = instance.run("demo", "logins").out
    assert "miembro@demo.redglobal.mx" in logins and "ime@demo.redglobal.mx" in logins


def test_the_structure_is_safe_to_load_again(instance: Instance) -> None:
    again = instance.run("chapters", "load-structure", "--with-chapters").out
    assert again.strip() == "0 regions, 0 nodes, 0 chapters created"  # the demo made them


def test_organisations_users_and_tokens(instance: Instance) -> None:
    created = instance.run(
        "organisations",
        "create",
        "conagua",
        "--name",
        "Comisión Nacional del Agua",
        "--kind",
        "ministry",
        "--verified",
    )
    assert created.out.strip() == "created organisation conagua (verified)"
    bad = instance.run(
        "organisations", "create", "Bad Slug!", "--name", "Mala", "--kind", "ngo", expect=1
    )
    assert "lowercase letters, digits and single hyphens" in bad.error_line
    user = instance.run(
        "users",
        "create",
        "rosa@conagua.gob.mx",
        "--name",
        "Rosa Funcionaria",
        "--password",
        "una clave bastante larga",
        "--organisation",
        "conagua",
    )
    assert user.out.strip() == "created user of conagua rosa@conagua.gob.mx"
    weak = instance.run("users", "create", "n@x.mx", "--name", "N", "--password", "x", expect=1)
    assert weak.error_line.startswith("Error: password: ")

    token = instance.run("users", "token", "rosa@conagua.gob.mx", "ime@example.org").out
    lines = [line.split() for line in token.strip().splitlines()]
    assert [email for email, _ in lines] == ["rosa@conagua.gob.mx", "ime@example.org"]
    assert all(len(secret) >= 32 for _, secret in lines)


CSV_HEADER = "email,full_name,country,city,state_of_origin,timezone,headline,expertise,chapters"
CSV_ROWS = [
    "itzel@ejemplo.mx,Itzel Ramírez Peña,CA,Montréal,MX-SON,America/Toronto,Hidróloga,"
    "hydrology,madrid",
    'jose@ejemplo.mx,José Ángel Núñez,ES,Madrid,Sonora,,"Ingeniero, energía",solar energy,',
]
CSV_BAD_ROW = "mal@ejemplo.mx,Mala Fila,ZZ,Lima,,,,,"  # no such country


def _csv(folder: Path, name: str, *rows: str) -> Path:
    path = folder / name
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_members_import_export_and_nudges(instance: Instance, tmp_path: Path) -> None:
    """Importing members who are new queues their invitations, whose links come from BASE_URL
    with no request (this crashed: "Unable to build URLs outside an active request"); in
    development that address follows PORT, where `make run PORT=...` serves."""
    good = _csv(tmp_path, "members.csv", *CSV_ROWS)
    dry = instance.run("members", "import", str(good), "--dry-run")
    assert "2 rows checked, 0 problems: dry run, nothing written" in dry.out

    created = instance.run("members", "import", str(good), env=instance.env(PORT="5123"))
    assert "2 rows: 2 created, 0 updated, 0 skipped" in created.out
    assert "--- e-mail to itzel@ejemplo.mx" in created.err  # the console sender
    assert "http://127.0.0.1:5123/" in created.err and ":5000/" not in created.err

    bad = _csv(tmp_path, "bad.csv", CSV_ROWS[0], CSV_BAD_ROW)
    instance.run("members", "import", str(bad), expect=1)  # a bad row: nothing imported
    partial = instance.run("members", "import", str(bad), "--partial")
    assert "0 created, 1 updated" in partial.out
    missing = instance.run("members", "import", str(tmp_path / "nowhere.csv"), expect=2)
    assert "does not exist" in missing.err

    export = tmp_path / "export.csv"
    exported = instance.run("members", "export", str(export))
    assert re.fullmatch(rf"exported 2\d members to {re.escape(str(export))}\n", exported.out)
    assert export.read_text(encoding="utf-8").count("\n") >= 23
    nowhere = tmp_path / "missing" / "export.csv"
    into_missing = instance.run("members", "export", str(nowhere), expect=1)
    assert into_missing.error_line == f"Error: {nowhere}: No such file or directory"

    nudged = instance.run("members", "nudge-stale", "--months", "12")
    assert re.fullmatch(r"queued \d+ reminders\n", nudged.out)


def test_search_commands(instance: Instance) -> None:
    rebuilt = instance.run("search", "reindex").out.splitlines()[-1]
    assert re.fullmatch(r"indexed \d{2,} documents", rebuilt)
    assert instance.run("search", "reindex", "--pending").out == "0 pending changes applied\n"
    stats = instance.run("search", "stats").out
    assert "member: " in stats and re.search(r"documents: \d+, size: [\d.]+ KiB", stats)


def test_periodic_jobs(instance: Instance) -> None:
    assert re.fullmatch(r"queued \d+ reminders\n", instance.run("events", "send-reminders").out)
    sent = instance.run("outbox", "send").out
    assert re.fullmatch(r"sent \d+, failed 0; 0 still unsent\n", sent)
    assert instance.run("outbox", "status").out == "0 unsent\n"
    assert re.fullmatch(r"kept \d+ panels\n", instance.run("dashboard", "refresh").out)


def _regions(database: Path) -> int:
    connection = sqlite3.connect(database)
    try:
        return connection.execute("SELECT count(*) FROM regions").fetchone()[0]
    finally:
        connection.close()


def test_db_upgrade_and_backup(instance: Instance, tmp_path: Path) -> None:
    target = tmp_path / "backups" / "redglobal-2026-12-07.sqlite3"
    done = instance.run("db", "backup", str(target))
    assert done.out.startswith(f"Backed up {instance.database} to {target}: ")
    assert _regions(target) == 4
    exists = instance.run("db", "backup", str(target), expect=1)
    assert "pass --force" in exists.error_line

    live = instance.run("db", "backup", str(instance.database), "--force", expect=1)
    assert "is the live database" in live.error_line
    assert _regions(instance.database) == 4

    (tmp_path / "a-file").write_text("not a folder")
    unwritable = instance.run("db", "backup", str(tmp_path / "a-file" / "b.sqlite3"), expect=1)
    assert unwritable.error_line.startswith(f"Error: cannot write {tmp_path}/a-file/b.sqlite3")


def test_production_without_secret_key_is_one_line(instance: Instance) -> None:
    env = instance.env(REDGLOBAL_ENV="production")
    refused = instance.run("db", "upgrade", expect=1, env=env)
    assert refused.err.strip().splitlines() == [refused.error_line]
    assert refused.error_line.startswith("Error: SECRET_KEY is not set")


def test_an_unusable_search_index_folder_is_one_line(instance: Instance, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    env = instance.env(SEARCH_INDEX_DIR=str(blocked / "index"))
    refused = instance.run("search", "stats", expect=1, env=env)
    assert refused.err.strip().splitlines() == [refused.error_line]
    assert refused.error_line.startswith(f"Error: the search index folder {blocked}/index cannot")
    wrong_backend = instance.run("search", "stats", expect=1, env=instance.env(SEARCH_BACKEND="pg"))
    assert wrong_backend.err.strip().splitlines() == [wrong_backend.error_line]
    assert wrong_backend.error_line == (
        "Error: SEARCH_BACKEND must be 'whoosh' or 'postgres', not 'pg'"
    )


def test_gunicorn_without_secret_key_stops_with_the_reason(instance: Instance) -> None:
    """docs/deploy.md starts `gunicorn wsgi:app`: it stops at once, naming the setting."""
    process = subprocess.Popen(
        [str(GUNICORN), "--no-control-socket", "--bind", "127.0.0.1:0", "wsgi:app"],
        cwd=ROOT,
        env=instance.env(REDGLOBAL_ENV="production"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        log, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        log, _ = process.communicate()
    assert process.returncode == 4, log  # gunicorn's "App failed to load"
    assert "SECRET_KEY is not set" in log and "Traceback" not in log


def _documented() -> set[tuple[str, str, str | None]]:
    """(group, command, option or None) for every flask command the README's Command line
    block and docs/deploy.md show."""
    found: set[tuple[str, str, str | None]] = set()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^## Command line\n+```sh\n(.*?)^```", readme, re.S | re.M)
    assert block, "README.md has no ```sh block under ## Command line"
    for line in block.group(1).splitlines():
        line = line.split("  #")[0].removeprefix("flask --app wsgi ").strip()
        if not line:
            continue
        group, first = line.split(" ", 1)
        for segment in first.split(" | "):
            command, *rest = segment.split()
            found.add((group, command, None))
            found.update((group, command, o) for o in re.findall(r"--[a-z][a-z-]*", segment))
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    # Code only: fenced blocks without their comments, and `inline code`.
    fenced = re.findall(r"^```[a-z]*\n(.*?)^```", deploy, re.S | re.M)
    code = [re.sub(r"(^|\s)#.*", "", line) for block in fenced for line in block.splitlines()]
    code += re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", deploy, flags=re.S | re.M))
    for group, command, rest in re.findall(
        r"(?:redglobal-flask|flask(?: --app wsgi)?)\s+([a-z][a-z-]*)\s+([a-z][a-z-]*)"
        r"((?:[ \t]+[^\s|&;#`]+)*)",
        "\n".join(code),
    ):
        found.add((group, command, None))
        found.update((group, command, o) for o in re.findall(r"--[a-z][a-z-]*", rest))
    return found


def _cases() -> set[tuple[str, str, str | None]]:
    """What this module runs: every `.run("group", "command", ...)` call in its source."""
    source = Path(__file__).read_text(encoding="utf-8")
    ran: set[tuple[str, str, str | None]] = set()
    for call in re.finditer(
        r'\.run\(\s*"([a-z-]+)",\s*"([a-z-]+)"((?:[^()]|\([^()]*\))*)\)', source
    ):
        group, command, args = call.groups()
        ran.add((group, command, None))
        ran.update((group, command, o) for o in re.findall(r'"(--[a-z][a-z-]*)"', args))
    return ran


def test_every_documented_command_has_a_case_here() -> None:
    documented = _documented()
    assert ("members", "import", "--partial") in documented  # the parser reads both files
    assert ("search", "reindex", "--if-empty") in documented
    missing = sorted(documented - _cases(), key=str)
    assert not missing, f"documented but never run by this module: {missing}"
