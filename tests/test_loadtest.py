"""`make loadtest` reads ApacheBench's report: the figures it prints and the errors it counts
come from ab's own lines (a real report, kept in tests/data)."""

from __future__ import annotations

from pathlib import Path

from network.loadtest import endpoints, parse_ab

REPORT = (Path(__file__).parent / "data" / "ab_output.txt").read_text()


def test_figures_come_from_abs_report():
    figures = parse_ab(REPORT)
    assert figures == {
        "requests": 20,
        "rps": 660.39,
        "p50_ms": 3,
        "p95_ms": 6,
        "p99_ms": 6,
        "errors": 0,
    }


def test_failed_and_non_2xx_answers_are_both_errors():
    broken = REPORT.replace("Failed requests:        0", "Failed requests:        3").replace(
        "Total transferred:", "Non-2xx responses:      12\nTotal transferred:"
    )
    assert parse_ab(broken)["errors"] == 15


def test_the_endpoints_are_the_pages_the_issue_names():
    names = [name for name, _path, _token in endpoints(7)]
    assert names == ["home", "directory", "search", "event", "api"]
    assert ("event", "/events/7", False) in endpoints(7)
    assert [token for _n, _p, token in endpoints(7)] == [False, False, False, False, True]
