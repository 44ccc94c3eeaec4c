"""Charts drawn on the server as inline SVG: no script, no CDN, nothing fetched at run time.

Each chart is a picture of the table printed under it, which is its text alternative: the SVG
carries role="img" and a label naming the panel, and screen readers go on to the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 640
BAR_HEIGHT = 18
ROW_GAP = 6
LABEL_WIDTH = 210
VALUE_WIDTH = 70
# Bootstrap's primary and success shades, dark enough against white for text beside them.
COLOURS = ("#0b5ed7", "#146c43", "#b02a37")
TEXT = "#212529"


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg(height: float, label: str, body: list[str], width: int = WIDTH) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height:.0f}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'
        + "".join(body)
        + "</svg>"
    )


def bar_chart(
    items: Sequence[tuple[str, float]], *, label: str, formatter: Callable[[float], str] = str
) -> Markup:
    """Horizontal bars, one a row, longest value full width; labels left, values right."""
    if not items:
        return Markup("")
    top = max((value for _name, value in items), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body: list[str] = []
    for index, (name, value) in enumerate(items):
        y = index * (BAR_HEIGHT + ROW_GAP)
        width = max(span * value / top, 1 if value else 0)
        text = escape(formatter(value))
        body.append(
            f"<g><title>{escape(name)}: {text}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end" fill="{TEXT}">'
            f"{escape(_short(name))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{COLOURS[0]}" rx="2"></rect>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 13}" fill="{TEXT}">{text}</text></g>'
        )
    return _svg(len(items) * (BAR_HEIGHT + ROW_GAP), label, body)


def column_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, label: str
) -> Markup:
    """Grouped vertical columns over time (months), with a legend; every few labels are drawn
    so that 36 months stay legible. Drawn wider than bars: it spans the page."""
    if not labels or not series:
        return Markup("")
    full = 2 * WIDTH
    plot_top, plot_height, left, legend = 24, 160, 40, 16
    top = max((max(values, default=0) for _name, values in series), default=0) or 1
    step = (full - left - 8) / len(labels)
    width = max(step / (len(series) + 0.5), 1)
    body = [
        f'<text x="{left - 6}" y="{plot_top + 4}" text-anchor="end" fill="{TEXT}">{top:g}</text>',
        f'<text x="{left - 6}" y="{plot_top + plot_height}" text-anchor="end" fill="{TEXT}">0</text>',
        f'<line x1="{left}" y1="{plot_top + plot_height}" x2="{full - 8}" '
        f'y2="{plot_top + plot_height}" stroke="{TEXT}" stroke-width="1"></line>',
    ]
    x = left
    for position, (name, _values) in enumerate(series):
        body.append(
            f'<rect x="{x}" y="2" width="12" height="12" fill="{COLOURS[position % 3]}"></rect>'
            f'<text x="{x + 16}" y="12" fill="{TEXT}">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    every = max(1, round(len(labels) / 12))
    for index, month in enumerate(labels):
        x0 = left + index * step
        for position, (name, values) in enumerate(series):
            value = values[index]
            height = plot_height * value / top
            body.append(
                f'<rect x="{x0 + position * width:.1f}" y="{plot_top + plot_height - height:.1f}" '
                f'width="{width:.1f}" height="{height:.1f}" fill="{COLOURS[position % 3]}">'
                f"<title>{escape(month)} · {escape(name)}: {value:g}</title></rect>"
            )
        if index % every == 0:
            body.append(
                f'<text x="{x0:.1f}" y="{plot_top + plot_height + legend}" fill="{TEXT}">'
                f"{escape(month)}</text>"
            )
    return _svg(plot_top + plot_height + legend + 6, label, body, width=full)


def heat_level(value: int, top: int) -> int:
    """0 for nothing, then 1 to 4 by quarter of the largest cell (which is always 4): the heat
    table's shade class."""
    if value <= 0 or top <= 0:
        return 0
    return min(4, math.ceil(4 * value / top))
