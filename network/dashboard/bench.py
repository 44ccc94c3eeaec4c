"""`dashboard_ms` for `make bench`: every panel of IME's dashboard for the whole network, all
time, on the bench corpus (the page's worst case), median of 5 runs."""

from __future__ import annotations

import statistics
import time
from typing import Any

from network.dashboard import panels


def time_dashboard(app: Any, runs: int = 5) -> dict[str, float]:
    """Median and slowest time to build all panels, and the slowest panel's median."""
    with app.test_request_context():
        totals: list[float] = []
        per_panel: dict[str, list[float]] = {slug: [] for slug in panels.PANELS}
        for _ in range(runs):
            scope = panels.Scope(period="all")
            started = time.perf_counter()
            for slug in panels.PANELS:
                begun = time.perf_counter()
                panels.build(slug, scope, "es")
                per_panel[slug].append((time.perf_counter() - begun) * 1000)
            totals.append((time.perf_counter() - started) * 1000)
        slowest = max(per_panel, key=lambda slug: statistics.median(per_panel[slug]))
        return {
            "dashboard_ms": statistics.median(totals),
            "dashboard_max_ms": max(totals),
            "dashboard_slowest_panel_ms": statistics.median(per_panel[slowest]),
        }
