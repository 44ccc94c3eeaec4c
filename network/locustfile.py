"""Locust's side of `make loadtest`: the simulated people. Run by network/loadtest.py, never
imported by the app or the tests: importing locust patches the standard library with gevent.

What each visitor does is decided in network/loadtest.py (`next_visit`, `MIX`), where the tests
can reach it; here it only becomes requests. The environment says the rest: LOADTEST_PLAN (the
plan: accounts, ids, facet values, the distinct queries), LOADTEST_RATE (each user's pace in
requests per second; 0 is a closed loop, the next request as soon as the last one answered),
LOADTEST_SECONDS (how long to measure) and LOADTEST_SIGN_IN (where to write the sign-in figures).

Measuring starts once every user has signed in: everyone signing in within seconds is the ramp of
the test, not the load people make (a session signs in once, then makes many requests), and its
password hashing would otherwise crowd the first seconds of every run. The sign-in requests are
written to LOADTEST_SIGN_IN, then the statistics are reset and the run lasts LOADTEST_SECONDS.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, constant, constant_throughput, task

from network.loadtest import USER_WEIGHTS, client_address, csrf_token, entry_figures, next_visit

# Importing network.loadtest (the app's models) takes seconds, during which gevent's loop does
# not run; locust then sets its --run-time timer from the loop's stale clock and stops the run
# that many seconds early (seen here: a 20 s run stopped after 9 s). Bring the clock up to date.
gevent.get_hub().loop.update_now()

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOADTEST_PLAN"]).read_text())
RATE = float(os.environ.get("LOADTEST_RATE") or 0)
SECONDS = float(os.environ["LOADTEST_SECONDS"])
SIGN_IN_REPORT = Path(os.environ["LOADTEST_SIGN_IN"])
# One feed shared by every user of this process: each query is asked once before any repeats.
QUERIES = itertools.cycle(PLAN["queries"])
NUMBERS = itertools.count()
ACCOUNTS = {role: itertools.cycle(emails) for role, emails in PLAN["accounts"].items()}
STARTED = time.monotonic()
ready = 0  # users that have signed in (or need not)


def everyone_ready(runner: Any) -> None:
    """Count one more user ready; when all are, report the sign-ins and measure from now on."""
    global ready
    ready += 1
    if ready != runner.target_user_count:
        return
    stats = runner.stats
    seconds = time.monotonic() - STARTED
    report = {
        "seconds": round(seconds, 1),
        "users": ready,
        # Anonymous users' first visits fall in this phase too: reported here, not measured.
        "endpoints": {
            name: entry_figures(entry.serialize(), seconds)
            for (name, _method), entry in stats.entries.items()
        },
        "failures": [
            {"name": e.name, "error": str(e.error), "count": e.occurrences}
            for e in stats.errors.values()
        ],
    }
    SIGN_IN_REPORT.write_text(json.dumps(report))
    stats.reset_all()
    gevent.spawn_later(SECONDS, runner.quit)


class Visitor(FastHttpUser):
    """A person with a browser session of their own (cookies), address and language."""

    abstract = True
    role: ClassVar[str] = "anonymous"
    wait_time = constant_throughput(RATE) if RATE else constant(0)

    def on_start(self) -> None:
        number = next(NUMBERS)
        self.rng = random.Random(number)
        self.headers = {
            "X-Forwarded-For": client_address(number),
            "Accept-Language": "en" if self.rng.random() < 0.3 else "es-MX,es;q=0.9",
        }
        try:
            if self.role != "anonymous":
                self.sign_in(next(ACCOUNTS[self.role]))
        finally:  # a failed sign-in is counted in the report; it must not stall the run
            everyone_ready(self.environment.runner)

    def sign_in(self, email: str) -> None:
        """Through the log-in form, as a browser: the page, its CSRF token, then the POST,
        which answers with a redirect when the password was accepted."""
        with self.client.get(
            "/login", name="login form", headers=self.headers, catch_response=True
        ) as page:
            token = csrf_token(page.text or "")
            if page.status_code != 200 or token is None:
                page.failure(f"no log-in form (HTTP {page.status_code})")
                return
        with self.client.post(
            "/login",
            name="login",
            data={"csrf_token": token, "email": email, "password": PLAN["password"], "next": ""},
            headers=self.headers,
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"log-in refused for {email} (HTTP {answer.status_code})")

    @task
    def visit(self) -> None:
        visit = next_visit(self.role, PLAN, self.rng, QUERIES)
        headers = self.headers
        if visit.api:
            headers = {**headers, "Authorization": f"Bearer {PLAN['tokens'][self.role]}"}
        # No redirects followed: a signed-in page that sends to the log-in page lost the session.
        with self.client.get(
            visit.path,
            name=visit.name,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}")


class MemberUser(Visitor):
    weight = USER_WEIGHTS["member"]
    role = "member"


class OrganisationUser(Visitor):
    weight = USER_WEIGHTS["organisation"]
    role = "organisation"


class ImeUser(Visitor):
    weight = USER_WEIGHTS["ime"]
    role = "ime"


class AnonymousUser(Visitor):
    weight = USER_WEIGHTS["anonymous"]
    role = "anonymous"
