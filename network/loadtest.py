"""`make loadtest`: the app under gunicorn (2 workers, loopback only) on the 100,000-member bench
database, driven by ApacheBench (`ab`, Debian's apache2-utils) with 50 concurrent clients and a
fixed number of requests per endpoint, so a run is bounded in requests and in time.

Why ab: it is an existing, well-understood load tool from a package registry, takes a fixed
request count (`-n`), a concurrency (`-c`) and headers (`-H` for the API token), and prints the
percentiles we report. Each endpoint is driven on its own so its figures are its own.

Prints requests/s, p50/p95/p99 and errors (failed or non-2xx answers) per endpoint and writes
them to instance/bench/load.json. Targets: no errors, p99 <= 250 ms for search and directory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from chapters.models import Chapter
from network.auth.models import User
from network.auth.services import create_api_token
from network.config import ROOT
from network.db import db
from network.events import services as event_services
from network.events.models import Event, EventFormat, EventStatus, EventVisibility
from network.pagecache import PageGeneration
from network.security import Role
from search.bench import BENCH_DIR, make_app

TARGET_P99_MS = {"search": 250.0, "directory": 250.0}
TOTAL_BUDGET_S = 60.0


def _environment(port: int) -> dict[str, str]:
    """The app's settings for the bench data; nothing outside instance/bench is touched."""
    return {
        **os.environ,
        "INSTANCE_PATH": str(BENCH_DIR),
        "DATABASE_URL": f"sqlite:///{BENCH_DIR / 'bench.db'}",
        "SEARCH_STORAGE": "file",
        "SEARCH_INDEX_DIR": str(BENCH_DIR / "index"),
        "SECRET_KEY": "loadtest-only",
        "MAIL_SENDER": "console",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PORT": str(port),
    }


def prepare() -> dict[str, Any]:
    """An API token and a published event on the bench database (made once, reused after)."""
    app = make_app(BENCH_DIR)  # sets INSTANCE_PATH to BENCH_DIR before create_app
    with app.test_request_context():
        # A bench database made before the page cache has no generation table yet: add it (with
        # its row) rather than rebuild 100,000 members. Every commit below needs it.
        PageGeneration.__table__.create(db.engine, checkfirst=True)
        member = db.session.scalar(select(User).where(User.role == Role.MEMBER).order_by(User.id))
        if member is None:
            raise SystemExit("The bench database has no members: run `make bench` first.")
        _row, token = create_api_token(member, "loadtest")
        event = db.session.scalar(select(Event).where(Event.title == "Load test: agua y ciudades"))
        if event is None:
            ime = db.session.scalar(select(User).where(User.role == Role.IME))
            if ime is None:
                ime = User(
                    email="loadtest@ime.gob.mx",
                    full_name="Load test",
                    password_hash="-",
                    role=Role.IME,
                    email_confirmed_at=datetime.now(UTC),
                )
                db.session.add(ime)
            chapter = db.session.scalar(select(Chapter).order_by(Chapter.id))
            starts = (datetime.now(UTC) + timedelta(days=20)).replace(tzinfo=None, microsecond=0)
            event = event_services.create_event(
                ime,
                event_services.EventData(
                    title="Load test: agua y ciudades",
                    description="Una charla sobre hidrología.",
                    hosts=[chapter],
                    starts_local=starts,
                    ends_local=starts + timedelta(hours=2),
                    timezone=chapter.timezone,
                    format=EventFormat.ONLINE,
                    visibility=EventVisibility.PUBLIC,
                    status=EventStatus.PUBLISHED,
                    online_url="https://meet.example.org/agua",
                    capacity=100,
                ),
            )
        db.session.commit()
        return {"token": token, "event_id": event.id}


def endpoints(event_id: int) -> list[tuple[str, str, bool]]:
    """(name, path, needs the token): the pages most visitors open, and the API."""
    return [
        ("home", "/", False),
        ("directory", "/members", False),
        ("search", "/search?q=agua+potable", False),
        ("event", f"/events/{event_id}", False),
        ("api", "/api/v1/search?q=hidrolog%C3%ADa&kind=members", True),
    ]


def _wait_until_up(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer within a minute; see its output above.")


def parse_ab(output: str) -> dict[str, float]:
    """The figures we report from ab's text output."""

    def number(pattern: str, default: float = 0.0) -> float:
        found = re.search(pattern, output)
        return float(found.group(1)) if found else default

    return {
        "requests": number(r"Complete requests:\s+(\d+)"),
        "rps": number(r"Requests per second:\s+([\d.]+)"),
        "p50_ms": number(r"(?m)^\s+50%\s+(\d+)"),
        "p95_ms": number(r"(?m)^\s+95%\s+(\d+)"),
        "p99_ms": number(r"(?m)^\s+99%\s+(\d+)"),
        "errors": number(r"Failed requests:\s+(\d+)") + number(r"Non-2xx responses:\s+(\d+)"),
    }


def run(requests: int, clients: int, port: int) -> dict[str, Any]:
    ab = shutil.which("ab")
    if ab is None:
        raise SystemExit("ApacheBench is missing: sudo apt-get install apache2-utils")
    prepared = prepare()
    base = f"http://127.0.0.1:{port}"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--timeout",
            "60",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=_environment(port),
        start_new_session=True,
    )
    results: dict[str, Any] = {}
    started = time.monotonic()
    try:
        _wait_until_up(base)
        todo = endpoints(prepared["event_id"])
        for index, (name, path, token) in enumerate(todo):
            # An equal share of what is left of the 60 s, so a slow endpoint cannot starve the
            # ones after it: each stops at its share or at `requests`, whichever comes first.
            left = (TOTAL_BUDGET_S - (time.monotonic() - started)) / (len(todo) - index)
            if left < 1:
                results[name] = {"skipped": "the 60 s budget was spent"}
                continue
            # -l: pages differ in length (dates, counts) without being failures.
            # -t before -n: ab's time limit otherwise resets the count to 50,000.
            command = [
                ab,
                "-q",
                "-l",
                "-t",
                f"{left:.0f}",
                "-n",
                str(requests),
                "-c",
                str(clients),
                "-s",
                "30",
            ]
            if token:
                command += ["-H", f"Authorization: Bearer {prepared['token']}"]
            output = subprocess.run(
                [*command, base + path], capture_output=True, text=True, check=False
            ).stdout
            results[name] = {"path": path, **parse_ab(output)}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return results


def print_table(results: dict[str, Any], clients: int) -> None:
    print(f"\nLoad test, {clients} concurrent clients, gunicorn with 2 workers on loopback")
    print(
        f"{'endpoint':<11}{'requests':>9}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'errors':>8}  target"
    )
    for name, figures in results.items():
        if "skipped" in figures:
            print(f"{name:<11}  skipped: {figures['skipped']}")
            continue
        target = TARGET_P99_MS.get(name)
        mark = ""
        if target is not None:
            ok = figures["p99_ms"] <= target and figures["errors"] == 0
            mark = f"p99 <= {target:g}, 0 errors  {'ok' if ok else 'MISSED'}"
        elif figures["errors"]:
            mark = "errors  MISSED"
        print(
            f"{name:<11}{figures['requests']:>9.0f}{figures['rps']:>9.1f}{figures['p50_ms']:>8.0f}"
            f"{figures['p95_ms']:>8.0f}{figures['p99_ms']:>8.0f}{figures['errors']:>8.0f}  {mark}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m network.loadtest", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=500,
        help="requests per endpoint (fewer if its share of 60 s runs out)",
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if not (BENCH_DIR / "bench.db").exists():
        print("No bench database yet: run `make bench` first (it seeds 100,000 members).")
        return 2
    results = run(args.requests, args.clients, args.port)
    print_table(results, args.clients)
    out = BENCH_DIR / "load.json"
    out.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "clients": args.clients,
                "requests_per_endpoint": args.requests,
                "workers": 2,
                "endpoints": results,
            },
            indent=2,
        )
    )
    print(f"\nwritten to {out}")
    return 0 if all(f.get("errors", 0) == 0 for f in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
