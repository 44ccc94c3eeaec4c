"""`make loadtest` plays people who sign in and do a mix of things: the mix reaches every kind of
page the issue names with URLs the app serves, the plan's accounts sign in through the real form,
and the figures reported are locust's own (a real CSV, kept in tests/data) and the workers' CPU."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

from network.db import db
from network.loadtest import (
    MIX,
    USER_CLASSES,
    USER_WEIGHTS,
    VISIT_KINDS,
    LoadMode,
    check_targets,
    client_address,
    cpu_ticks,
    csrf_token,
    locust_command,
    locust_environment,
    make_plan,
    next_visit,
    parse_failures,
    parse_stats,
    percentile,
    run_errors,
    workers_cpu_seconds,
)
from search.schema import FACETS

DATA = Path(__file__).parent / "data"


def test_every_kind_of_visit_the_issue_names_is_in_the_mix():
    assert set(USER_WEIGHTS) == set(MIX) == set(USER_CLASSES)
    assert set().union(*MIX.values()) == set(VISIT_KINDS)
    signed_in = set(MIX["member"]) | set(MIX["organisation"]) | set(MIX["ime"])
    assert {"search", "search_facets", "directory", "profile", "candidates", "event", "api"} <= (
        signed_in
    )
    # Only organisations and IME open a need's candidates; anonymous visitors have no token.
    assert "candidates" not in MIX["member"] and not {"candidates", "api"} & set(MIX["anonymous"])
    assert all(weight > 0 for weights in MIX.values() for weight in weights.values())


PLAN = {
    "tokens": {"member": "m", "organisation": "o"},
    "need_ids": [7],
    "events": {"public": [1, 2], "members": [3]},
    "member_ids": [10, 11, 12],
    "public_member_ids": [10],
    "filters": {
        "country": {"US": 5000, "MX": 48},
        "state": {"MX-SON": 100},
        "concept": {"hydrology": 300},
        "sector": {"water": 0},
        "language": {"es": 0, "en": 0},
        "mode": {"mentoring": 0},
        "chapter": {"madrid": 0},
        "region": {"europe": 0},
    },
    "members_listed": 100_000,
}


def _visits(role: str, count: int, queries: list[str]) -> list:
    rng = random.Random(3)
    feed = itertools.cycle(queries)
    return [next_visit(role, PLAN, rng, feed) for _ in range(count)]


def test_each_query_is_asked_once_before_any_is_repeated():
    queries = [f"consulta {n}" for n in range(60)]
    asked = [
        dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(v.path).query)).get("q")
        for v in _visits("member", 400, queries)
    ]
    asked = [q for q in asked if q]
    assert len(asked) > 60
    assert asked[:60] == queries  # in order, none twice, before the list starts again


@pytest.mark.parametrize("role", list(MIX))
def test_every_visit_is_a_page_the_app_serves(app, role):
    """Paths match the app's routes; filters are the ones its forms and facets accept."""
    adapter = app.url_map.bind("localhost")
    names = set()
    for visit in _visits(role, 600, [f"q{n}" for n in range(900)]):
        parts = urllib.parse.urlsplit(visit.path)
        endpoint, _args = adapter.match(parts.path)
        params = dict(urllib.parse.parse_qsl(parts.query))
        assert endpoint.startswith("api") == visit.api, visit
        if endpoint == "search.page":
            assert set(params) <= {"q", *FACETS}, visit
        if endpoint == "members.directory":
            assert set(params) <= {"country", "state", "concept", "sector", "language", "mode"} | {
                "sort",
                "page",
            }
            assert 1 <= int(params["page"]) <= 100_000 // 24
        names.add(visit.name)
    expected = {
        "member": {"search", "search facets", "directory", "profile", "event", "events"}
        | {"api search", "api members", "api member"},
        "organisation": {"search", "search facets", "directory", "profile", "candidates"}
        | {"event", "events", "api search", "api members", "api member"},
        "ime": {"search", "search facets", "directory", "profile", "candidates", "event", "events"},
        "anonymous": {"anon home", "anon search", "anon directory", "anon profile", "anon event"}
        | {"anon events"},
    }
    assert names == expected[role]


def test_members_only_events_are_never_asked_by_those_who_may_not_see_them():
    for role in ("organisation", "anonymous"):
        paths = {v.path for v in _visits(role, 600, ["agua"])}
        assert "/events/3" not in paths and "/events/1" in paths
    assert "/events/3" in {v.path for v in _visits("member", 600, ["agua"])}


def test_deep_directory_pages_stay_within_the_filtered_list():
    pages = {}
    for visit in _visits("member", 2_000, ["agua"]):
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(visit.path).query))
        if visit.name == "directory" and params.get("country") == "MX":
            pages[int(params["page"])] = True
    assert max(pages) == 2  # 48 members: two pages of 24, never an empty third


def test_each_simulated_user_is_its_own_loopback_address():
    addresses = [client_address(n) for n in range(2_000)]
    assert len(set(addresses)) == 2_000
    assert all(
        a.startswith("127.") and all(0 <= int(x) <= 255 for x in a.split(".")) for a in addresses
    )


# ---------------------------------------------------------------- locust's figures


def test_figures_come_from_locusts_final_statistics():
    figures = parse_stats((DATA / "locust_stats.json").read_text())
    # search: 12 answers from 440 to 2,300 ms, two of them 1,200 and two 1,300.
    assert {k: figures["search"][k] for k in ("requests", "p50_ms", "p95_ms", "errors")} == {
        "requests": 12,
        "p50_ms": 1200,
        "p95_ms": 2300,
        "errors": 0,
    }
    assert figures["all"]["requests"] == 45
    assert figures["all"]["p99_ms"] == 6100  # the slowest directory page
    # One window for every row, so the rates add up to the whole.
    assert sum(f["rps"] for n, f in figures.items() if n != "all") == pytest.approx(
        figures["all"]["rps"]
    )
    assert figures["search"]["rps"] == pytest.approx(figures["all"]["rps"] * 12 / 45)


def test_percentiles_follow_locusts_rule():
    """The smallest time all but the fraction beat, over locust's rounded histogram (checked
    against locust.stats.calculate_response_time_percentile, which tests must not import)."""
    histogram = {10: 50, 20: 45, 100: 5}
    assert percentile(histogram, 100, 0.50) == 20
    assert percentile(histogram, 100, 0.95) == 100
    assert percentile({}, 0, 0.5) == 0


def test_failures_are_counted_and_listed_most_frequent_first():
    entries = json.loads((DATA / "locust_stats.json").read_text())
    for entry in entries:
        if entry["name"] == "search":
            entry["num_failures"] = 2
    assert parse_stats(json.dumps(entries))["search"]["errors"] == 2
    assert parse_stats(json.dumps(entries))["all"]["errors"] == 2
    failures = parse_failures(
        "Method,Name,Error,Occurrences\n"
        "POST,login,log-in refused (HTTP 429),1\n"
        "GET,search,HTTP 500,4\n"
    )
    assert failures[0] == {"name": "search", "error": "HTTP 500", "count": 4}


def test_a_refused_sign_in_or_a_run_that_never_started_is_an_error():
    quiet = {"errors": 0.0}
    signed_in = {"users": 2, "seconds": 1.0, "endpoints": {"login": quiet}, "failures": []}
    run = {"all": quiet, "sign_in": signed_in, "exceptions": []}
    assert run_errors(run) == 0
    assert run_errors({**run, "sign_in": {**signed_in, "endpoints": {"login": {"errors": 1.0}}}})
    assert run_errors({**run, "sign_in": None})  # nobody measured: not a success
    assert run_errors({**run, "exceptions": [{"message": "KeyError", "count": 3}]}) == 3


def test_targets_are_marked_ok_missed_or_not_measured():
    checked = {
        c["target"]: c["ok"]
        for c in check_targets(
            "open",
            {
                "search": {"p95_ms": 180.0},
                "directory": {"p95_ms": 250.0},
                "profile": {"p95_ms": 200.0},
            },
        )
    }
    assert checked == {
        "search p95_ms <= 200": True,
        "directory p95_ms <= 200": False,
        "profile p95_ms <= 200": True,
        "candidates p95_ms <= 200": None,
    }
    closed = check_targets("closed", {"all": {"rps": 51.0, "errors": 1.0}})
    assert [c["ok"] for c in closed] == [True, False]


# ---------------------------------------------------------------- CPU accounting


def _stat(pid: int, name: str, ppid: int, utime: int, stime: int, cutime=0, cstime=0) -> str:
    # The real layout of /proc/<pid>/stat: pid (comm) state ppid ... utime stime cutime cstime ...
    middle = " ".join(["0"] * 9)
    return f"{pid} ({name}) S {ppid} {middle} {utime} {stime} {cutime} {cstime} 20 0 1 0"


def test_cpu_time_is_the_workers_plus_what_the_master_reaped():
    stats = {
        100: _stat(100, "gunicorn", 1, 50, 5, cutime=30, cstime=3),  # master; 33 from a dead worker
        101: _stat(101, "gunicorn: worker) (x", 100, 400, 40),  # a name with ") (" in it
        102: _stat(102, "gunicorn", 100, 300, 20),
        200: _stat(200, "locust", 1, 900, 90),  # not ours
        201: _stat(201, "python", 200, 700, 70),  # a child of another process
    }
    assert cpu_ticks(stats, 100) == 400 + 40 + 300 + 20 + 30 + 3


def test_cpu_of_real_children_is_read_from_proc():
    before = workers_cpu_seconds(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"])
    child.wait()  # reaped: its time is now in this process's cutime/cstime
    assert workers_cpu_seconds(os.getpid()) > before


# ---------------------------------------------------------------- the plan on a real app


@pytest.fixture
def planned(app, network, vocabulary, make_member):
    """A small network, and the plan the load test makes on it."""
    for n, concept in enumerate(["hydrology", "water-treatment", "solar-photovoltaics"] * 3):
        make_member(
            {"expertise": concept, "country": "MX" if n % 2 else "US", "name_public": True},
            full_name=f"Miembro Carga {n}",
        )
    with app.test_request_context():
        return make_plan(query_count=12)


def _sign_in(client, plan, role, number):
    """As locust does: the log-in page, its CSRF token, then the form."""
    headers = {"X-Forwarded-For": client_address(number)}
    token = csrf_token(client.get("/login", headers=headers).get_data(as_text=True))
    email = plan["accounts"][role][number % len(plan["accounts"][role])]
    answer = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": plan["password"], "next": ""},
        headers=headers,
    )
    return answer, headers


def test_every_visit_of_the_plan_answers(app, planned):
    """The whole scenario on a small network: each kind of visitor signs in through the form
    (the redirect a browser follows after a good password) and every page of the mix (search,
    facets, directory, profiles, candidates, events, the API) answers 200."""
    app.config["WTF_CSRF_ENABLED"] = True
    email = planned["accounts"]["member"][0]
    refused = app.test_client().post(
        "/login", data={"email": email, "password": planned["password"]}
    )
    assert refused.status_code != 302  # without the form's token: so csrf_token() is what works
    for number, role in enumerate(MIX):
        client = app.test_client()
        headers = {"X-Forwarded-For": client_address(number)}
        if role != "anonymous":
            answer, headers = _sign_in(client, planned, role, number)
            assert answer.status_code == 302, role
        rng = random.Random(5)
        feed = itertools.cycle(planned["queries"])
        seen = set()
        for _ in range(30):
            visit = next_visit(role, planned, rng, feed)
            sent = dict(headers)
            if visit.api:
                sent["Authorization"] = f"Bearer {planned['tokens'][role]}"
            answer = client.get(visit.path, headers=sent)
            assert answer.status_code == 200, (role, visit, answer.status_code)
            seen.add(visit.name)
        assert len(seen) >= 4, role


def test_the_plan_holds_what_the_scenario_needs(app, planned):
    assert len(planned["queries"]) == len(set(planned["queries"])) == 12
    assert {"member", "organisation", "ime"} == set(planned["accounts"])
    assert planned["events"]["members"] and planned["events"]["public"]
    assert set(planned["public_member_ids"]) <= set(planned["member_ids"])
    with app.test_request_context():
        from network.needs.models import Need, NeedStatus

        need = db.session.get(Need, planned["need_ids"][0])
        assert need.status == NeedStatus.OPEN
        assert need.organisation.is_verified


def test_locust_plays_the_scenario_against_a_live_app(app, planned, tmp_path):
    """The real locust command, a few seconds, against the app served on loopback: users sign
    in through the form and every request of theirs succeeds. (Some seconds: it catches a locust
    upgrade or a locustfile change that breaks `make loadtest`, which nothing else runs.)"""
    from werkzeug.serving import make_server

    app.config["WTF_CSRF_ENABLED"] = True
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(planned))
    mode = LoadMode("smoke", "smoke", 2, 2, 0.0, ("member", "organisation"))
    prefix = tmp_path / "smoke"
    # One thread: the in-memory test database is one connection.
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        finished = subprocess.run(
            locust_command(mode, f"http://127.0.0.1:{server.port}", 3, prefix),
            env=locust_environment(plan_path, mode, 3, prefix),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.shutdown()
        thread.join()
    stats = tmp_path / "smoke.json"
    assert stats.exists(), finished.stdout[-2000:] + finished.stderr[-2000:]
    sign_in = json.loads((tmp_path / "smoke-sign-in.json").read_text())
    assert sign_in["users"] == 2 and not sign_in["failures"]
    assert sign_in["endpoints"]["login"]["requests"] == 2  # each signed in once, through the form
    figures = parse_stats(stats.read_text())
    assert "login" not in figures  # measuring starts once everyone has signed in
    assert figures["all"]["errors"] == 0, (tmp_path / "smoke_failures.csv").read_text()
    assert figures["all"]["requests"] > 2  # and they went on to the mix
    assert {"search", "directory", "profile"} & set(figures)
    # No error in the scenario's own code either (the file has its header line only).
    assert len((tmp_path / "smoke_exceptions.csv").read_text().splitlines()) == 1
