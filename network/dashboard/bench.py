"""The dashboard's figures for `make bench`: every panel of IME's dashboard for the whole network,
all time, on the bench corpus (the page's worst case), median of 5 runs.

Two numbers, since the member panels are kept between views (network.dashboard.figures):

- `dashboard_ms`: the page's panels as IME gets them while the kept figures may be served;
- `dashboard_compute_ms`: every panel computed afresh, what the first view after a change (or
  `flask dashboard refresh`) pays; `dashboard_slowest_panel_ms` is its slowest panel.

Runs alternate the two, so a busy machine weighs on both alike.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from network.dashboard import panels


def time_panels(scope: panels.Scope, language: str = "es") -> dict[str, float]:
    """Milliseconds to compute each panel afresh, by slug (nothing kept is read)."""
    spent = {}
    for slug, panel in panels.PANELS.items():
        begun = time.perf_counter()
        panel(scope, language)
        spent[slug] = (time.perf_counter() - begun) * 1000
    return spent


def time_dashboard(app: Any, runs: int = 5) -> dict[str, float]:
    """Median and slowest time of the page's panels as served, and of all computed afresh."""
    with app.test_request_context():
        scope = panels.Scope(period="all")
        panels.build_all(scope, "es")  # keeps the figures, as the first view does
        served: list[float] = []
        computed: list[float] = []
        per_panel: dict[str, list[float]] = {slug: [] for slug in panels.PANELS}
        for _ in range(runs):
            started = time.perf_counter()
            panels.build_all(panels.Scope(period="all"), "es")
            served.append((time.perf_counter() - started) * 1000)
            spent = time_panels(panels.Scope(period="all"))
            computed.append(sum(spent.values()))
            for slug, ms in spent.items():
                per_panel[slug].append(ms)
        slowest = max(per_panel, key=lambda slug: statistics.median(per_panel[slug]))
        return {
            "dashboard_ms": statistics.median(served),
            "dashboard_max_ms": max(served),
            "dashboard_compute_ms": statistics.median(computed),
            "dashboard_slowest_panel_ms": statistics.median(per_panel[slowest]),
        }
