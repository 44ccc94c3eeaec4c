"""`make loadtest`: what signed-in people get, played by locust against gunicorn on the bench data.

The app runs under gunicorn (2 workers, 127.0.0.1 only) on the 100,000-member bench database
(`search.bench.BENCH_DIR`, built by `make bench`). Locust (headless, network/locustfile.py) plays
members, organisation users and IME administrators who sign in through the log-in form, then do a
weighted mix of what they come for: search with distinct queries (ES/EN labels, synonyms, places,
names, pairs and typos from `search.querymix`, never the bench's repeated set), search with facet
filters, the directory with filters and deep pages, profiles, a need's ranked candidates, event
pages and the token API; a share of anonymous visitors does the same without signing in.

Why locust: ApacheBench asked one URL again and again, which the anonymous page cache answers;
people sign in, type different things and never hit that cache. Locust plays scenarios (a log-in
with its CSRF token, then a mix), is an existing tool installed with the dev extra, and writes
per-endpoint figures to CSV. The scenario's pure parts (the mix, the paths, reading locust's CSV,
the CPU accounting) live here so tests can check them; network/locustfile.py only wires them into
locust, which patches the standard library with gevent when imported (so nothing imports it).

Runs, each bounded in time (at most 2 minutes) and each against a freshly started server, warmed
by a few anonymous pages first (a fresh worker's first search is a target of its own, "warm at
start"; `--no-warm-up` measures from cold):
- `single`: one signed-in member, closed loop (the next request when the last one answered);
- `closed`: 50 users in a closed loop with no think time (throughput, p50/p95/p99, errors);
- `open`: a fixed arrival rate (10 requests/s): users paced with locust's `constant_throughput`,
  each at most one request every `--open-users / --rate` seconds. That is an open loop only while
  answers take less than that interval; past it arrivals slow down (reported as the measured
  req/s), so the pacing interval is kept a few times the targets;
each with the page cache on (the default endpoints) and off (`PAGE_CACHE_ENDPOINTS=` empty), as
`--modes` and `--cache` choose.

Log-in limits stay on: every simulated user sends its own `X-Forwarded-For` (a 127.x address) and
the server runs with `TRUSTED_PROXIES=1`, as it does behind the production proxy, so each user is
its own client address to the per-address limit. Each simulated user signs in once; accounts are
shared only where users outnumber them (e.g. a third IME user), within the per-account limit.

Measuring starts once every user has signed in (network/locustfile.py says why); the sign-ins
are reported apart, and the run is then measured for `--duration` seconds. Reported per endpoint:
requests, req/s, p50/p95/p99 (ms, as locust rounds them) and errors, from locust's final
statistics; per run, the workers' CPU time per request (utime + stime of the gunicorn master's
children from /proc, when measuring starts and ends, divided by the requests measured). Everything goes to
BENCH_DIR/load.json, with a table per run and the issue's targets (cache off) marked ok/MISSED.

Exit status: 0 when no run had an error (a failed or non-200 answer, a failed log-in, or an
exception in the scenario), 1 when any did, 2 when there is no bench database yet; missed targets
alone do not fail the run.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from chapters.models import Chapter, Node, Region
from network.auth.models import User
from network.auth.services import create_api_token, hash_password, user_for_api_token
from network.config import ROOT
from network.db import db, utcnow
from network.events import services as event_services
from network.events.models import Event, EventFormat, EventStatus, EventVisibility
from network.members.models import Concept, Profile, Sector, profile_concepts
from network.members.models import Mode as ContributionMode
from network.members.queries import DirectoryFilters, directory_query, listed_members
from network.needs.models import Need, NeedStatus
from network.needs.services import NeedData, post_need
from network.organisations.models import Organisation, OrganisationKind
from network.pagecache import PageGeneration
from network.security import Role
from network.visibility import ANONYMOUS
from search.bench import BENCH_DIR, QUERIES, READY_MARKS, make_app
from search.querymix import distinct_queries

PLAN_VERSION = 1
PASSWORD = "carga-de-prueba-19"  # the load-test accounts' password: bench data only
ACCOUNTS = {"member": 40, "organisation": 8, "ime": 2}
ORGANISATION_SLUG = "loadtest-org"
NEED_TITLE = "Load test: monitoring of aquifers"
EVENT_TITLES = (
    ("Load test: agua y ciudades", EventVisibility.PUBLIC),
    ("Load test: energía solar en comunidades", EventVisibility.PUBLIC),
    ("Load test: salud pública y datos", EventVisibility.PUBLIC),
    ("Load test: mentoring night (members)", EventVisibility.MEMBERS),
)
QUERY_SEED = 1919
DIRECTORY_PAGE_SIZE = 24  # network.config.Config.DIRECTORY_PAGE_SIZE

# Who visits, in what proportions (locust's user-class weights), and what each kind of visitor
# does (the weights of their visits). Search and the directory dominate, as in the issue.
USER_WEIGHTS: dict[str, int] = {"member": 70, "organisation": 15, "ime": 5, "anonymous": 10}
MIX: dict[str, dict[str, int]] = {
    "member": {
        "search": 30,
        "search_facets": 10,
        "directory": 20,
        "profile": 20,
        "event": 8,
        "api": 12,
    },
    "organisation": {
        "search": 20,
        "search_facets": 10,
        "directory": 15,
        "profile": 20,
        "candidates": 25,
        "event": 5,
        "api": 5,
    },
    "ime": {
        "search": 25,
        "search_facets": 10,
        "directory": 20,
        "profile": 20,
        "candidates": 15,
        "event": 10,
    },
    "anonymous": {"home": 20, "search": 30, "directory": 20, "profile": 20, "event": 10},
}
VISIT_KINDS = (
    "home",
    "search",
    "search_facets",
    "directory",
    "profile",
    "candidates",
    "event",
    "api",
)
USER_CLASSES = {
    "member": "MemberUser",
    "organisation": "OrganisationUser",
    "ime": "ImeUser",
    "anonymous": "AnonymousUser",
}
# The facets a search or the directory may be narrowed by, as the pages' forms offer them.
DIRECTORY_FILTERS = ("country", "state", "concept", "sector", "language", "mode")
LANGUAGES = ("es", "en", "fr", "de", "pt")
MAX_RUN_S = 120
# How long the users may take to sign in before measuring starts (50 argon2 hashes on 2 cores).
SIGN_IN_ALLOWANCE_S = 60


# ---------------------------------------------------------------- the accounts and the data


def _get_or_create_user(
    email: str, name: str, role: Role, password_hash: str, **extra: Any
) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            full_name=name,
            password_hash=password_hash,
            role=role,
            email_confirmed_at=utcnow(),
            **extra,
        )
        db.session.add(user)
    return user


def _accounts(password_hash: str) -> dict[str, list[User]]:
    """The first listed bench members (real profiles, some coordinators) get the known password;
    organisation users of a verified organisation and IME administrators are made once."""
    members = [
        profile.user
        for profile in db.session.scalars(
            listed_members().order_by(User.id).limit(ACCOUNTS["member"])
        )
    ]
    for member in members:
        if member.password_hash != password_hash:
            member.password_hash = password_hash
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.slug == ORGANISATION_SLUG)
    )
    if organisation is None:
        organisation = Organisation(
            slug=ORGANISATION_SLUG,
            name="Secretaría de Carga",
            kind=OrganisationKind.MINISTRY,
            verified_at=utcnow(),
        )
        db.session.add(organisation)
    organisations = [
        _get_or_create_user(
            f"org-{n:02d}@loadtest.gob.mx",
            f"Load test organisation user {n}",
            Role.ORGANISATION,
            password_hash,
            organisation=organisation,
        )
        for n in range(1, ACCOUNTS["organisation"] + 1)
    ]
    imes = [
        _get_or_create_user(
            f"ime-{n:02d}@loadtest.gob.mx", f"Load test IME {n}", Role.IME, password_hash
        )
        for n in range(1, ACCOUNTS["ime"] + 1)
    ]
    db.session.flush()
    return {"member": members, "organisation": organisations, "ime": imes}


def _need(author: User) -> Need:
    """An open need for the most held concepts of the busiest sector, so its candidates page
    ranks many members (the worst case the bench's ranking figure also takes)."""
    need = db.session.scalar(
        select(Need).where(Need.title == NEED_TITLE, Need.organisation_id == author.organisation_id)
    )
    if need is not None:
        return need
    held = func.count(profile_concepts.c.profile_id)
    rows = db.session.execute(
        select(Concept, held)
        .join(profile_concepts, profile_concepts.c.concept_id == Concept.id)
        .group_by(Concept.id)
        .order_by(held.desc())
    ).all()
    by_sector: dict[int, list[Concept]] = {}
    for concept, _count in rows:
        by_sector.setdefault(concept.sector_id, []).append(concept)
    if not by_sector:
        raise SystemExit("No member holds a concept: run `make bench` first.")
    concepts = max(by_sector.values(), key=len)[:6]
    return post_need(
        author,
        NeedData(
            title=NEED_TITLE,
            description="Buscamos hidrogeólogos para monitorear acuíferos.",
            sector=concepts[0].sector,
            required=concepts[:3],
            nice=concepts[3:],
            languages=["es", "en"],
            modes=["remote_advice", "short_visit"],
            effort_days=20,
            node=db.session.scalar(select(Node).order_by(Node.id)),
            status=NeedStatus.OPEN,
        ),
    )


def _events(ime: User) -> dict[str, list[int]]:
    """Published events hosted by the biggest chapters; one for members only."""
    chapters = list(db.session.scalars(select(Chapter).order_by(Chapter.id).limit(4)))
    ids: dict[str, list[int]] = {"public": [], "members": []}
    for n, (title, visibility) in enumerate(EVENT_TITLES):
        event = db.session.scalar(select(Event).where(Event.title == title))
        if event is None:
            chapter = chapters[n % len(chapters)]
            starts = (utcnow() + timedelta(days=20 + n)).replace(tzinfo=None, microsecond=0)
            event = event_services.create_event(
                ime,
                event_services.EventData(
                    title=title,
                    description="Una charla sobre hidrología y ciudades.",
                    hosts=[chapter],
                    starts_local=starts,
                    ends_local=starts + timedelta(hours=2),
                    timezone=chapter.timezone,
                    format=EventFormat.ONLINE,
                    visibility=visibility,
                    status=EventStatus.PUBLISHED,
                    online_url="https://meet.example.org/agua",
                    capacity=100,
                ),
            )
            db.session.flush()
        ids[str(visibility)].append(event.id)
    return ids


def _counts(column: Any, *joins: Any) -> dict[str, int]:
    """Listed members per value of a profile column (or a joined one), most common first."""
    query = select(column, func.count()).select_from(Profile)
    for target, on in joins:
        query = query.join(target, on)
    listed = listed_members().with_only_columns(Profile.id)
    query = query.where(Profile.id.in_(listed)).group_by(column).order_by(func.count().desc())
    rows = db.session.execute(query).all()
    return {str(value): count for value, count in rows if value}


def _filters() -> dict[str, dict[str, int]]:
    """Values of each facet and how many listed members hold them (bounds the deep pages)."""
    return {
        "country": dict(itertools.islice(_counts(Profile.country).items(), 30)),
        "state": _counts(Node.code, (Node, Node.id == Profile.state_of_origin_id)),
        "concept": dict(
            itertools.islice(
                _counts(
                    Concept.slug,
                    (profile_concepts, profile_concepts.c.profile_id == Profile.id),
                    (Concept, Concept.id == profile_concepts.c.concept_id),
                ).items(),
                60,
            )
        ),
        "sector": {slug: 0 for slug in db.session.scalars(select(Sector.slug))},
        "language": dict.fromkeys(LANGUAGES, 0),
        "mode": {str(mode): 0 for mode in ContributionMode},
        "chapter": {slug: 0 for slug in db.session.scalars(select(Chapter.slug).limit(40))},
        "region": {slug: 0 for slug in db.session.scalars(select(Region.slug))},
    }


def _member_ids(viewer_query: Any, count: int, rng: random.Random) -> list[int]:
    ids = list(db.session.scalars(viewer_query.with_only_columns(Profile.user_id)))
    return sorted(rng.sample(ids, min(count, len(ids))))


def make_plan(query_count: int) -> dict[str, Any]:
    """The plan locust plays, made on the current app's database: accounts with a known
    password, an open need, events, API tokens, member ids to visit, facet values and the
    distinct queries. Needs a request context (the services build links)."""
    # A bench database made before the page cache has no generation table yet: add it (with
    # its row) rather than rebuild 100,000 members. Every commit below needs it.
    PageGeneration.__table__.create(db.engine, checkfirst=True)
    if db.session.scalar(select(func.count()).select_from(Profile)) == 0:
        raise SystemExit("The bench database has no members: run `make bench` first.")
    accounts = _accounts(hash_password(PASSWORD))
    need = _need(accounts["organisation"][0])
    events = _events(accounts["ime"][0])
    tokens = {
        role: create_api_token(accounts[role][0], "loadtest")[1]
        for role in ("member", "organisation")
    }
    db.session.commit()
    rng = random.Random(QUERY_SEED)
    return {
        "version": PLAN_VERSION,
        "password": PASSWORD,
        "accounts": {role: [u.email for u in users] for role, users in accounts.items()},
        "tokens": tokens,
        "need_ids": [need.id],
        "events": events,
        "member_ids": _member_ids(listed_members(), 1_000, rng),
        "public_member_ids": _member_ids(directory_query(ANONYMOUS, DirectoryFilters()), 500, rng),
        "filters": _filters(),
        "members_listed": db.session.scalar(
            select(func.count()).select_from(listed_members().subquery())
        ),
        "queries": distinct_queries(
            db.session, query_count, seed=QUERY_SEED, exclude={q for q, _f in QUERIES}
        ),
    }


def prepare(bench_dir: Path, query_count: int) -> Path:
    """The plan for the bench database, made once and kept in BENCH_DIR/loadtest-plan.json;
    reused while its accounts, need and tokens are still there (a new `make bench` deletes the
    folder, and the plan with it). Returns the plan's path."""
    path = bench_dir / "loadtest-plan.json"
    app = make_app(bench_dir)  # sets INSTANCE_PATH to bench_dir before create_app
    with app.test_request_context():
        if path.exists() and _still_valid(json.loads(path.read_text()), query_count):
            return path
        plan = make_plan(query_count)
    path.write_text(json.dumps(plan, indent=1, ensure_ascii=False))
    return path


def _still_valid(plan: dict[str, Any], query_count: int) -> bool:
    """The saved plan fits this database: same version, enough queries, its need and accounts
    still there and its tokens still accepted."""
    if plan.get("version") != PLAN_VERSION or len(plan.get("queries", ())) < query_count:
        return False
    emails = [email for users in plan["accounts"].values() for email in users]
    found = db.session.scalar(select(func.count()).where(User.email.in_(emails)))
    return (
        found == len(emails)
        and all(db.session.get(Need, need_id) for need_id in plan["need_ids"])
        and all(user_for_api_token(token) for token in plan["tokens"].values())
    )


# ---------------------------------------------------------------- the scenario


@dataclass(frozen=True)
class Visit:
    """One request of the mix: its name in the report, its path, and whether it carries the
    API token instead of relying on the signed-in session."""

    name: str
    path: str
    api: bool = False


def _query_string(**params: Any) -> str:
    return urllib.parse.urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _page(rng: random.Random, members: int) -> int:
    """Mostly the first pages, sometimes a deep one (as far as the filtered list goes)."""
    last = max(1, members // DIRECTORY_PAGE_SIZE)
    draw = rng.random()
    if draw < 0.6 or last == 1:
        return 1
    if draw < 0.85:
        return rng.randint(2, min(5, last))
    return rng.randint(min(6, last), last)


def _facet(plan: Mapping[str, Any], rng: random.Random, names: tuple[str, ...]) -> tuple[str, str]:
    """A facet and one of its values (facets without values in this database are skipped)."""
    name = rng.choice([n for n in names if plan["filters"].get(n)])
    return name, rng.choice(list(plan["filters"][name]))


def next_visit(
    role: str, plan: Mapping[str, Any], rng: random.Random, queries: Iterator[str]
) -> Visit:
    """The next request of a visitor of this role: a kind drawn by the role's weights, then its
    URL (the next distinct query, a facet value, a page, a member) drawn from the plan."""
    weights = MIX[role]
    kind = rng.choices(list(weights), list(weights.values()))[0]
    prefix = "anon " if role == "anonymous" else ""
    match kind:
        case "home":
            return Visit(prefix + "home", "/")
        case "search":
            return Visit(prefix + "search", "/search?" + _query_string(q=next(queries)))
        case "search_facets":
            facet, value = _facet(plan, rng, (*DIRECTORY_FILTERS, "chapter", "region"))
            # A third of these are the mentor search: no words, filters only.
            words = next(queries) if rng.random() < 0.67 else ""
            extra = {"mentoring": "yes"} if not words or rng.random() < 0.2 else {}
            return Visit(
                prefix + "search facets",
                "/search?" + _query_string(q=words, **{facet: value}, **extra),
            )
        case "directory":
            params: dict[str, Any] = {}
            members = plan["members_listed"]
            if rng.random() < 0.7:
                facet, value = _facet(plan, rng, DIRECTORY_FILTERS)
                params[facet] = value
                members = plan["filters"][facet][value] or members // 20
            if rng.random() < 0.2:
                params["sort"] = "recent"
            return Visit(
                prefix + "directory",
                "/members?" + _query_string(**params, page=_page(rng, members)),
            )
        case "profile":
            ids = plan["public_member_ids" if role == "anonymous" else "member_ids"]
            return Visit(prefix + "profile", f"/members/{rng.choice(ids)}")
        case "candidates":
            need = rng.choice(plan["need_ids"])
            page = 1 if rng.random() < 0.7 else rng.randint(2, 5)
            return Visit("candidates", f"/needs/{need}/candidates?page={page}")
        case "event":
            events = plan["events"]["public"]
            if role in ("member", "ime"):
                events = events + plan["events"]["members"]
            if rng.random() < 0.2:
                return Visit(prefix + "events", "/events")
            return Visit(prefix + "event", f"/events/{rng.choice(events)}")
        case "api":
            draw = rng.random()
            if draw < 0.5:
                path = "/api/v1/search?" + _query_string(q=next(queries), kind="members")
                return Visit("api search", path, api=True)
            if draw < 0.8:
                country = rng.choice(list(plan["filters"]["country"]))
                return Visit(
                    "api members",
                    "/api/v1/members?" + _query_string(country=country, page=rng.randint(1, 5)),
                    api=True,
                )
            return Visit(
                "api member", f"/api/v1/members/{rng.choice(plan['member_ids'])}", api=True
            )
    raise ValueError(f"unknown visit kind {kind!r}")


def client_address(number: int) -> str:
    """The simulated user's own client address (loopback range, never a real host), sent as
    X-Forwarded-For so per-address limits see one address per user, as behind the proxy."""
    return f"127.19.{number // 250 % 256}.{number % 250 + 1}"


CSRF_INPUT = re.compile(r"<input\b[^>]*\bname=\"csrf_token\"[^>]*>")
VALUE = re.compile(r"\bvalue=\"([^\"]*)\"")


def csrf_token(page: str) -> str | None:
    """The log-in form's CSRF token, as a browser would submit it."""
    tag = CSRF_INPUT.search(page)
    value = VALUE.search(tag.group(0)) if tag else None
    return value.group(1) if value else None


# ---------------------------------------------------------------- modes and targets


@dataclass(frozen=True)
class LoadMode:
    """One locust run: how many users, how fast they start, their pacing (requests/s per user;
    0 is a closed loop without think time) and which user classes play."""

    name: str
    title: str
    users: int
    spawn_rate: float
    per_user_rate: float
    roles: tuple[str, ...]


def modes(users: int, rate: float, open_users: int) -> dict[str, LoadMode]:
    everyone = tuple(USER_WEIGHTS)
    return {
        "single": LoadMode("single", "one signed-in member, closed loop", 1, 1, 0.0, ("member",)),
        "closed": LoadMode(
            "closed", f"closed loop, {users} users", users, min(users, 10), 0.0, everyone
        ),
        "open": LoadMode(
            "open",
            f"open loop, {rate:g} requests/s ({open_users} users paced)",
            open_users,
            min(open_users, 10),
            rate / open_users,
            everyone,
        ),
    }


@dataclass(frozen=True)
class Target:
    """One of the issue's targets (page cache off): a figure of an endpoint ("all": every
    request of the run) in a mode, at most (or at least) a limit."""

    mode: str
    endpoint: str
    figure: str
    limit: float
    at_least: bool = False

    def label(self) -> str:
        sign = ">=" if self.at_least else "<="
        return f"{self.endpoint} {self.figure} {sign} {self.limit:g}"

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


TARGETS = (
    Target("closed", "all", "rps", 50, at_least=True),
    Target("closed", "all", "errors", 0),
    Target("single", "search", "p50_ms", 60),
    Target("single", "directory", "p95_ms", 100),
    Target("open", "search", "p95_ms", 200),
    Target("open", "directory", "p95_ms", 200),
    Target("open", "profile", "p95_ms", 200),
    Target("open", "candidates", "p95_ms", 200),
)


def check_targets(mode: str, endpoints: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """Each target of this mode with the measured value and ok (None: the endpoint was not
    visited, e.g. candidates in a members-only run)."""
    checked = []
    for target in TARGETS:
        if target.mode != mode:
            continue
        figures = endpoints.get(target.endpoint)
        value = figures[target.figure] if figures else None
        checked.append(
            {
                "target": target.label(),
                "value": value,
                "ok": None if value is None else target.met(value),
            }
        )
    return checked


# ---------------------------------------------------------------- reading locust's figures


def percentile(histogram: Mapping[int, int], count: int, fraction: float) -> float:
    """locust's own rule (stats.calculate_response_time_percentile) over its histogram of
    rounded response times: the smallest time that all but `fraction` of the requests beat."""
    wanted = int(count * fraction)
    seen = 0
    for milliseconds in sorted(histogram, reverse=True):
        seen += histogram[milliseconds]
        if count - seen <= wanted:
            return float(milliseconds)
    return 0.0


def entry_figures(entry: Mapping[str, Any], seconds: float | None = None) -> dict[str, float]:
    """Requests, req/s (over `seconds`, else the entry's own span), p50/p95/p99 in ms and errors
    of one entry of locust's statistics, as `StatsEntry.serialize()` and `--json-file` give it."""
    histogram = {int(ms): n for ms, n in entry["response_times"].items()}
    count = entry["num_requests"]
    if seconds is None:
        seconds = (entry["last_request_timestamp"] or entry["start_time"]) - entry["start_time"]
    return {
        "requests": float(count),
        "rps": count / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(histogram, count, 0.50),
        "p95_ms": percentile(histogram, count, 0.95),
        "p99_ms": percentile(histogram, count, 0.99),
        "errors": float(entry["num_failures"]),
    }


def parse_stats(text: str) -> dict[str, dict[str, float]]:
    """Per endpoint name, and "all" for every request, from locust's `--json-file` (its final
    statistics; the CSV files are rewritten once a second and can miss the last one). Rates
    are over the run's window, first entry started to last request, so the rows add up."""
    entries = json.loads(text)
    if not entries:
        return {}
    start = min(e["start_time"] for e in entries)
    end = max(e["last_request_timestamp"] or e["start_time"] for e in entries)
    merged: dict[str, dict[str, Any]] = {}
    for entry in [*entries, *({**e, "name": "all"} for e in entries)]:
        into = merged.setdefault(
            entry["name"], {"num_requests": 0, "num_failures": 0, "response_times": {}}
        )
        into["num_requests"] += entry["num_requests"]
        into["num_failures"] += entry["num_failures"]
        for ms, n in entry["response_times"].items():
            into["response_times"][ms] = into["response_times"].get(ms, 0) + n
    return {name: entry_figures(entry, end - start) for name, entry in merged.items()}


def parse_failures(text: str) -> list[dict[str, Any]]:
    """locust's PREFIX_failures.csv: what failed, where, how often (most frequent first)."""
    rows = [
        {"name": row["Name"], "error": row["Error"], "count": int(row["Occurrences"])}
        for row in csv.DictReader(io.StringIO(text))
    ]
    return sorted(rows, key=lambda row: -row["count"])


def parse_exceptions(text: str) -> list[dict[str, Any]]:
    """locust's PREFIX_exceptions.csv: errors raised by the scenario's own code."""
    return [
        {"message": row["Message"], "count": int(row["Count"])}
        for row in csv.DictReader(io.StringIO(text))
    ]


# ---------------------------------------------------------------- the server's CPU time


def cpu_ticks(stats: Mapping[int, str], master: int) -> int:
    """CPU clock ticks (user + system) the master's workers used: its live children's own
    utime + stime, plus the master's cutime + cstime, which holds the time of workers it has
    already reaped (a worker restarted mid-run still counts). `stats` maps pids to the text of
    /proc/<pid>/stat."""
    total = 0
    for pid, text in stats.items():
        # The command name (2nd field) is in parentheses and may hold spaces or parentheses.
        fields = text.rsplit(")", 1)[1].split()
        ppid, utime, stime, cutime, cstime = (int(fields[i]) for i in (1, 11, 12, 13, 14))
        if ppid == master:
            total += utime + stime
        elif pid == master:
            total += cutime + cstime
    return total


def read_proc_stats(proc: Path = Path("/proc")) -> dict[int, str]:
    """Every process's /proc/<pid>/stat (those that end while being read are skipped)."""
    stats = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text()
            except OSError:
                continue
    return stats


def workers_cpu_seconds(master: int) -> float:
    return cpu_ticks(read_proc_stats(), master) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- running it


def _environment(bench_dir: Path, port: int, cache: bool) -> dict[str, str]:
    """The app's settings for the bench data; nothing outside bench_dir is touched."""
    environment = {
        **os.environ,
        "INSTANCE_PATH": str(bench_dir),
        "DATABASE_URL": f"sqlite:///{bench_dir / 'bench.db'}",
        "SEARCH_STORAGE": "file",
        "SEARCH_INDEX_DIR": str(bench_dir / "index"),
        "SECRET_KEY": "loadtest-only",
        "MAIL_SENDER": "console",
        "RATELIMIT_STORAGE_URI": "memory://",
        # As behind the production proxy: the client address is X-Forwarded-For's last entry.
        "TRUSTED_PROXIES": "1",
        "PORT": str(port),
    }
    if not cache:
        environment["PAGE_CACHE_ENDPOINTS"] = ""
    else:
        environment.pop("PAGE_CACHE_ENDPOINTS", None)
    return environment


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped while starting; see its output above.")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s; see its output above.")


def _start_server(bench_dir: Path, port: int, cache: bool) -> subprocess.Popen:
    """gunicorn as production starts it (the recipe's `--config python:network.serving`: each
    worker warms up before its first request), its log in bench_dir/gunicorn.log."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = (bench_dir / "gunicorn.log").open("w")
    return subprocess.Popen(
        [
            str(gunicorn),
            "--config",
            "python:network.serving",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--timeout",
            "60",
            "--log-level",
            "info",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=_environment(bench_dir, port, cache),
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_until_warm(log: Path, server: subprocess.Popen, timeout: float = 600.0) -> None:
    """Until both workers said they are warm (or start cold): the health check answers as soon
    as one is up, and requests would all go to it while the other warms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if sum(text.count(mark) for mark in READY_MARKS) >= 2:
            return
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped while starting:\n{text[-2000:]}")
        time.sleep(0.5)
    raise SystemExit(f"gunicorn's workers were not warm within {timeout:.0f} s; see {log}")


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# Words outside the distinct queries (the bench's repeated set), so warming a worker does not
# spend a query the run will ask.
WARM_UP_QUERIES = ("agua potable", "hydrology")


def warm_up(base: str, plan: Mapping[str, Any]) -> int:
    """A fresh worker's first search opens the index and its first directory page loads the
    vocabulary, several seconds here: a separate target of the issue ("warm at start"), not what
    a run of minutes measures. Two threads send the same few pages at once, so each of the two
    sync workers serves one set; returns the number of requests sent."""
    paths = [
        *(f"/search?{_query_string(q=q)}" for q in WARM_UP_QUERIES),
        f"/members?country={next(iter(plan['filters']['country']))}&page=2",
        f"/members/{plan['public_member_ids'][0]}",
        f"/events/{plan['events']['public'][0]}",
    ]

    def fetch(path: str) -> None:
        with urllib.request.urlopen(base + path, timeout=60) as response:
            response.read()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for path in paths:
            list(pool.map(fetch, [path, path]))
    return 2 * len(paths)


def locust_command(mode: LoadMode, base: str, seconds: int, prefix: Path) -> list[str]:
    """Headless locust for one mode. The locustfile measures `seconds` once every user has
    signed in and then stops; --run-time bounds the whole, sign-in included. Final figures go
    to `prefix`.json, failures and exceptions to `prefix`_*.csv."""
    return [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--host",
        base,
        "--users",
        str(mode.users),
        "--spawn-rate",
        f"{mode.spawn_rate:g}",
        "--run-time",
        f"{seconds + SIGN_IN_ALLOWANCE_S}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--json-file",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        *(USER_CLASSES[role] for role in mode.roles),
    ]


def locust_environment(plan_path: Path, mode: LoadMode, seconds: int, prefix: Path) -> dict:
    """What the locustfile reads: the plan, the pace, how long to measure, where to report the
    sign-ins."""
    return {
        **os.environ,
        "LOADTEST_PLAN": str(plan_path),
        "LOADTEST_RATE": f"{mode.per_user_rate:g}",
        "LOADTEST_SECONDS": str(seconds),
        "LOADTEST_SIGN_IN": f"{prefix}-sign-in.json",
    }


def _play(command: list[str], environment: dict, prefix: Path, master: int, bound: float) -> dict:
    """Run locust; read the workers' CPU when measuring starts (the sign-in report appears) and
    when it ends. Returns locust's exit code, the CPU seconds measured and the wall time."""
    sign_in = Path(environment["LOADTEST_SIGN_IN"])
    before = started = None
    # locust's own summary goes to a log beside its files; the table printed here says it all.
    with Path(f"{prefix}.log").open("w") as log:
        locust = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + bound
        while locust.poll() is None and time.monotonic() < deadline:
            if before is None and sign_in.exists():
                before, started = workers_cpu_seconds(master), time.monotonic()
            time.sleep(0.1)
        if locust.poll() is None:
            locust.kill()
        code = locust.wait()
    if before is None or started is None:
        return {"exit": code, "cpu_s": None, "wall_s": None}
    return {
        "exit": code,
        "cpu_s": workers_cpu_seconds(master) - before,
        "wall_s": time.monotonic() - started,
    }


def run_mode(
    mode: LoadMode,
    cache: bool,
    seconds: int,
    plan_path: Path,
    bench_dir: Path,
    port: int,
    *,
    warm: bool = True,
) -> dict[str, Any]:
    """One run against a freshly started server (warmed up unless `warm` is false): locust's
    figures per endpoint once everyone has signed in, the sign-ins apart, the workers' CPU
    time per measured request, and the targets of this mode."""
    base = f"http://127.0.0.1:{port}"
    prefix = bench_dir / "locust" / f"{mode.name}-cache-{'on' if cache else 'off'}"
    prefix.parent.mkdir(exist_ok=True)
    for stale in prefix.parent.glob(f"{prefix.name}[_.-]*"):  # a failed run must not read old ones
        stale.unlink()
    environment = locust_environment(plan_path, mode, seconds, prefix)
    server = _start_server(bench_dir, port, cache)
    try:
        _wait_until_up(base, server)
        _wait_until_warm(bench_dir / "gunicorn.log", server)
        warm_up_requests = warm_up(base, json.loads(plan_path.read_text())) if warm else 0
        played = _play(
            locust_command(mode, base, seconds, prefix),
            environment,
            prefix,
            server.pid,
            seconds + SIGN_IN_ALLOWANCE_S + 60,
        )
    finally:
        _stop(server)
    stats_file = Path(f"{prefix}.json")
    sign_in_file = Path(environment["LOADTEST_SIGN_IN"])
    if not stats_file.exists():
        raise SystemExit(f"locust wrote no statistics (exit {played['exit']}): {prefix}.log")
    sign_in = json.loads(sign_in_file.read_text()) if sign_in_file.exists() else None
    endpoints = parse_stats(stats_file.read_text())
    total = endpoints.pop("all", {"requests": 0.0, "errors": 0.0, "rps": 0.0})
    requests, cpu = total["requests"], played["cpu_s"]
    failures_file = Path(f"{prefix}_failures.csv")
    exceptions_file = Path(f"{prefix}_exceptions.csv")
    return {
        "mode": mode.name,
        "title": mode.title,
        "page_cache": cache,
        "users": mode.users,
        "per_user_rate": mode.per_user_rate,
        "seconds": seconds,
        "wall_s": played["wall_s"] and round(played["wall_s"], 1),
        "locust_exit": played["exit"],
        "warm_up_requests": warm_up_requests,
        # None: the users never all signed in within SIGN_IN_ALLOWANCE_S, nothing was measured.
        "sign_in": sign_in,
        "all": total,
        "endpoints": endpoints,
        "cpu_s": cpu and round(cpu, 2),
        "cpu_ms_per_request": round(cpu * 1000 / requests, 1) if cpu and requests else None,
        "targets": check_targets(mode.name, {**endpoints, "all": total}),
        "failures": parse_failures(failures_file.read_text())[:10]
        if failures_file.exists()
        else [],
        # Errors of the scenario itself (a task that raised): they fail the run too.
        "exceptions": parse_exceptions(exceptions_file.read_text())
        if exceptions_file.exists()
        else [],
    }


def run_errors(run: Mapping[str, Any]) -> float:
    """Everything that went wrong in a run: failed requests measured or while signing in,
    exceptions in the scenario, and a run whose users never all signed in."""
    sign_in = run["sign_in"]
    if sign_in is None:
        return 1 + run["all"]["errors"]
    return (
        run["all"]["errors"]
        + sum(f["errors"] for f in sign_in["endpoints"].values())
        + sum(e["count"] for e in run["exceptions"])
    )


def _row(name: str, f: Mapping[str, float]) -> str:
    return (
        f"{name:<16}{f['requests']:>9.0f}{f['rps']:>8.1f}{f['p50_ms']:>8.0f}"
        f"{f['p95_ms']:>8.0f}{f['p99_ms']:>8.0f}{f['errors']:>8.0f}"
    )


def print_run(run: dict[str, Any]) -> None:
    cache = "on" if run["page_cache"] else "off"
    print(
        f"\n{run['title']}, page cache {cache}, {run['seconds']} s measured; "
        f"server CPU {run['cpu_ms_per_request']} ms per request (2 workers)"
    )
    print(
        f"{'endpoint':<16}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'errors':>8}"
    )
    rows = sorted(run["endpoints"].items(), key=lambda item: -item[1]["requests"])
    for name, figures in [*rows, ("all", run["all"])]:
        print(_row(name, figures))
    sign_in = run["sign_in"]
    if sign_in is None:
        print(f"  the users did not all sign in within {SIGN_IN_ALLOWANCE_S} s: nothing measured")
    else:
        print(f"  before measuring, {sign_in['users']} users signed in in {sign_in['seconds']} s:")
        early = 0.0  # visits of those already in, while the others signed in: not measured
        for name, figures in sign_in["endpoints"].items():
            if name.startswith("login"):
                print("  " + _row(name, figures))
            else:
                early += figures["requests"]
        if early:
            print(f"  (and {early:.0f} visits of those already signed in, not measured)")
    if run["per_user_rate"] and run["all"]["rps"] < 0.9 * run["per_user_rate"] * run["users"]:
        print(
            f"  the arrival rate was not held ({run['all']['rps']:.1f} of "
            f"{run['per_user_rate'] * run['users']:g} req/s): answers took longer than the "
            f"pacing ({1 / run['per_user_rate']:g} s a user), so this ran as a closed loop"
        )
    for checked in run["targets"]:
        value = checked["value"]
        verdict = {True: "ok", False: "MISSED", None: "not measured"}[checked["ok"]]
        shown = "-" if value is None else f"{value:g}"
        note = "" if not run["page_cache"] else " (targets are for the cache off)"
        print(f"  target {checked['target']}: {shown}  {verdict}{note}")
    for failure in [*(sign_in or {}).get("failures", []), *run["failures"]]:
        print(f"  error x{failure['count']} {failure['name']}: {failure['error'][:120]}")
    for exception in run["exceptions"]:
        print(f"  scenario error x{exception['count']}: {exception['message'][:120]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m network.loadtest", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--modes", default="single,closed,open", help="comma-separated: single, closed, open"
    )
    parser.add_argument("--cache", default="off,on", help="comma-separated: off, on")
    parser.add_argument(
        "--duration",
        type=int,
        default=50,
        help=f"seconds measured per run, once its users have signed in (at most {MAX_RUN_S})",
    )
    parser.add_argument("--users", type=int, default=50, help="users of the closed loop")
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s of the open loop")
    parser.add_argument(
        "--open-users", type=int, default=30, help="users sharing the open loop's rate"
    )
    parser.add_argument(
        "--queries", type=int, default=1000, help="distinct queries in the plan (at least 300)"
    )
    parser.add_argument(
        "--no-warm-up",
        dest="warm_up",
        action="store_false",
        help="measure from cold workers (the first search opens the index)",
    )
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.modes.split(",") if name.strip()]
    cache_names = [name.strip() for name in args.cache.split(",") if name.strip()]
    if unknown := [name for name in cache_names if name not in ("off", "on")]:
        parser.error(f"--cache takes off and on, not {', '.join(unknown)}")
    caches = [name == "on" for name in cache_names]
    available = modes(args.users, args.rate, args.open_users)
    if unknown := [name for name in chosen if name not in available]:
        parser.error(f"unknown modes: {', '.join(unknown)}")
    if not 1 <= args.duration <= MAX_RUN_S:
        parser.error(f"--duration must be 1..{MAX_RUN_S} seconds")
    if args.queries < 300:
        parser.error("--queries: the issue asks for at least 300 distinct queries")
    if not (BENCH_DIR / "bench.db").exists():
        print("No bench database yet: run `make bench` first (it seeds 100,000 members).")
        return 2
    plan_path = prepare(BENCH_DIR, args.queries)
    plan = json.loads(plan_path.read_text())
    print(
        f"Plan: {sum(len(a) for a in plan['accounts'].values())} accounts, "
        f"{len(plan['queries'])} distinct queries, need {plan['need_ids']}, "
        f"{len(plan['events']['public']) + len(plan['events']['members'])} events"
    )
    runs = []
    for cache in caches:
        for name in chosen:
            run = run_mode(
                available[name],
                cache,
                args.duration,
                plan_path,
                BENCH_DIR,
                args.port,
                warm=args.warm_up,
            )
            print_run(run)
            runs.append(run)
    out = BENCH_DIR / "load.json"
    out.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "tool": "locust (headless), network/locustfile.py",
                "workers": 2,
                "settings": vars(args),
                "user_weights": USER_WEIGHTS,
                "mix": MIX,
                "distinct_queries": len(plan["queries"]),
                "modes": {name: asdict(mode) for name, mode in available.items()},
                "runs": runs,
            },
            indent=2,
        )
    )
    print(f"\nwritten to {out}")
    return 1 if any(run_errors(run) for run in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
