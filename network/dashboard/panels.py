"""IME's dashboard: each panel is one table (drawn as a chart, downloadable as CSV, returned by
the API), built from query functions in the domains that own the figures.

A panel is computed for a *scope*: a period (the last 3, 12 or 24 months, or all time) and,
for a coordinator, their chapter. Stock figures (members by region, ...) count the members who
joined during the period, so "12 months" answers "where did we grow this year"; "all time"
gives the whole network.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import abort
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from chapters import queries as chapter_queries
from chapters.models import Chapter, Node, Region
from network.dashboard import charts, figures, queries
from network.db import db, utcnow
from network.events import queries as event_queries
from network.geo import country_name
from network.members import queries as member_queries
from network.members.models import Concept, Sector
from network.needs import queries as need_queries
from network.needs.models import NEED_STATUS_LABELS, PUBLISHED_STATUSES, NeedStatus
from network.security import dashboard_chapter_ids, require
from network.visibility import Viewer

PERIODS: dict[str, tuple[Any, int | None]] = {
    "3m": (_l("Last 3 months"), 3),
    "12m": (_l("Last 12 months"), 12),
    "24m": (_l("Last 24 months"), 24),
    "all": (_l("All time"), None),
}
DEFAULT_PERIOD = "12m"
FRESH_MONTHS = 12
GAP_COUNTRIES = 8  # countries with the most experts get a column each; the rest are grouped


IME_VIEWER = Viewer(is_signed_in=True, is_ime=True)


@dataclass(frozen=True)
class Scope:
    """What a dashboard shows: a period, and one chapter (always, for a coordinator)."""

    period: str = DEFAULT_PERIOD
    chapter: Chapter | None = None
    by: str = "sector"  # the gap table's rows: "sector" or "concept"
    now: datetime = field(default_factory=utcnow)
    # Whose eyes: members' fields are counted only where they show them to this viewer.
    viewer: Viewer = IME_VIEWER

    @property
    def since(self) -> datetime | None:
        """The first day of the period's first calendar month: "12 months" is this month and
        the eleven before, whole, so that monthly series and totals agree."""
        months = PERIODS[self.period][1]
        if months is None:
            return None
        index = self.now.year * 12 + self.now.month - 1 - (months - 1)
        return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)

    @property
    def chapter_id(self) -> int | None:
        return self.chapter.id if self.chapter else None

    def months(self, seen: set[str]) -> list[str]:
        """Every calendar month of the period, oldest first ("all time" starts at the first
        month with data), so a month without activity shows as zero rather than missing."""
        end = (self.now.year, self.now.month)
        since = self.since
        if since is not None:
            start = (since.year, since.month)
        elif seen:
            first = min(seen)
            start = (int(first[:4]), int(first[5:7]))
        else:
            start = end
        months = []
        year, month = start
        while (year, month) <= end:
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    kind: str = "int"  # "text", "int", "percent" (a share from 0 to 1), "days", "heat"


@dataclass
class Panel:
    slug: str
    title: Any
    description: Any
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart: Markup = field(default_factory=Markup)
    summary: list[tuple[Any, str]] = field(default_factory=list)
    heat: bool = False  # the table is its own chart: cells shaded by value
    # When its figures were computed, for a panel kept between views (network.dashboard.figures);
    # None when computed for this view alone.
    as_of: datetime | None = None

    def to_payload(self) -> dict[str, Any]:
        """Everything the page, the CSV and the API read, as JSON, in the language it was built in."""
        return {
            "title": str(self.title),
            "description": str(self.description),
            "columns": [[c.key, str(c.label), c.kind] for c in self.columns],
            "rows": self.rows,
            "chart": str(self.chart),
            "summary": [[str(label), value] for label, value in self.summary],
            "heat": self.heat,
        }

    @classmethod
    def from_payload(cls, slug: str, payload: dict[str, Any], as_of: datetime) -> Panel:
        """The panel `to_payload` kept. The chart is markup this module drew (charts.py escapes
        every label), stored by this module only."""
        return cls(
            slug,
            payload["title"],
            payload["description"],
            [Column(key, label, kind) for key, label, kind in payload["columns"]],
            payload["rows"],
            Markup(payload["chart"]),
            [(label, value) for label, value in payload["summary"]],
            payload["heat"],
            as_of,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "panel": self.slug,
            "title": str(self.title),
            "columns": [
                {"key": c.key, "label": str(c.label), "kind": c.kind} for c in self.columns
            ],
            "rows": self.rows,
            "summary": [{"label": str(label), "value": value} for label, value in self.summary],
        }

    def csv_rows(self) -> list[list[Any]]:
        """The table as printed: a header of labels, then one line a row."""
        return [[str(c.label) for c in self.columns]] + [
            [_plain(row.get(c.key), c.kind) for c in self.columns] for row in self.rows
        ]


def _plain(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "percent":
        return f"{100 * value:.1f}"
    if kind == "days":
        return f"{value:.1f}"
    return value


def format_cell(value: Any, kind: str) -> str:
    """How a table cell reads on the page: the CSV's plain value, with a dash for nothing, a
    percent sign and thousands separators."""
    if value is None:
        return "—"
    if kind == "percent":
        return f"{_plain(value, kind)} %"
    if isinstance(value, int) and kind != "days":
        return f"{value:,}"
    return str(_plain(value, kind))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _bars(
    panel_title: Any, rows: list[dict[str, Any]], label: str, value: str, kind: str = "int"
) -> Markup:
    items = [(str(row[label]), float(row[value] or 0)) for row in rows]
    return charts.bar_chart(
        items,
        label=str(panel_title),
        formatter=lambda v: format_cell(v if kind != "int" else int(v), kind),
    )


def _sectors(language: str) -> list[Sector]:
    return sorted(db.session.scalars(db.select(Sector)), key=lambda s: s.label(language))


NOT_SHOWN = _l("Not given or not shown")


def _count_panel(
    slug: str,
    title: Any,
    description: Any,
    label: tuple[str, Any],
    count: tuple[str, Any],
    pairs: Iterable[tuple[str, int]],
    *,
    ranked: bool = True,
) -> Panel:
    """The common shape: a label column and a count, drawn as bars. `ranked` puts the largest
    first (ties by label); otherwise the given order (regions, statuses) is kept."""
    rows = [{label[0]: name, count[0]: n} for name, n in pairs]
    if ranked:
        rows.sort(key=lambda row: (-row[count[0]], row[label[0]]))
    return Panel(
        slug,
        title,
        description,
        [Column(label[0], label[1], "text"), Column(count[0], count[1])],
        rows,
        _bars(title, rows[:25], label[0], count[0]),
    )


# ---------------------------------------------------------------- members


def members_by_region(scope: Scope, language: str) -> Panel:
    counts = chapter_queries.count_members_by_region(since=scope.since, chapter_id=scope.chapter_id)
    regions = sorted(db.session.scalars(db.select(Region)), key=lambda r: r.position)
    return _count_panel(
        "members-by-region",
        _l("Members by region"),
        _l("Members of the region's active chapters (a member of two chapters counts once)."),
        ("region", _l("Region")),
        ("members", _l("Members")),
        [(r.name(language), counts.get(r.slug, 0)) for r in regions],
        ranked=False,
    )


def members_by_country(scope: Scope, language: str) -> Panel:
    counts = queries.count_members_by_country(
        since=scope.since, chapter_id=scope.chapter_id, viewer=scope.viewer
    )
    rows = sorted(
        (
            {
                "country": country_name(code, language) if code else str(NOT_SHOWN),
                "code": code or "",
                "members": n,
            }
            for code, n in counts.items()
        ),
        key=lambda row: (-row["members"], row["country"]),
    )
    title = _l("Members by country of residence")
    return Panel(
        "members-by-country",
        title,
        _l(
            "Where members live, as their profiles say (a country kept private is not counted in it)."
        ),
        [
            Column("country", _l("Country"), "text"),
            Column("code", _l("Code"), "text"),
            Column("members", _l("Members")),
        ],
        rows,
        _bars(title, rows[:25], "country", "members"),
    )


def members_by_sector(scope: Scope, language: str) -> Panel:
    counts = queries.count_members_by_sector(
        since=scope.since, chapter_id=scope.chapter_id, viewer=scope.viewer
    )
    return _count_panel(
        "members-by-sector",
        _l("Members by sector of expertise"),
        _l("Members holding at least one concept of the sector; a member may count in several."),
        ("sector", _l("Sector")),
        ("members", _l("Members")),
        [(s.label(language), counts.get(s.slug, 0)) for s in _sectors(language)],
    )


def top_concepts(scope: Scope, language: str) -> Panel:
    pairs = queries.top_concepts(
        20, since=scope.since, chapter_id=scope.chapter_id, viewer=scope.viewer
    )
    rows = [
        {"concept": c.label(language), "sector": c.sector.label(language), "members": n}
        for c, n in pairs
    ]
    title = _l("Top 20 concepts")
    return Panel(
        "top-concepts",
        title,
        _l("The expertise members hold most often."),
        [
            Column("concept", _l("Concept"), "text"),
            Column("sector", _l("Sector"), "text"),
            Column("members", _l("Members")),
        ],
        rows,
        _bars(title, rows, "concept", "members"),
    )


def openness(scope: Scope, language: str) -> Panel:
    figures = queries.count_openness(
        since=scope.since, chapter_id=scope.chapter_id, viewer=scope.viewer
    )
    rows = [
        {
            "what": str(_l("Open to mentoring")),
            "members": figures.mentoring,
            "share": _share(figures.mentoring, figures.members),
        },
        {
            "what": str(_l("Open to organisations' requests")),
            "members": figures.requests,
            "share": _share(figures.requests, figures.members),
        },
    ]
    title = _l("Openness to mentoring and to requests")
    return Panel(
        "openness",
        title,
        _l("Share of members who say they are open (and show it to IME at least)."),
        [
            Column("what", _l("Open to"), "text"),
            Column("members", _l("Members")),
            Column("share", _l("Share of members"), "percent"),
        ],
        rows,
        _bars(title, rows, "what", "share", "percent"),
        summary=[(_l("Members"), format_cell(figures.members, "int"))],
    )


def growth(scope: Scope, language: str) -> Panel:
    joined = queries.count_new_members_by_month(since=scope.since, chapter_id=scope.chapter_id)
    confirmed = queries.count_confirmations_by_month(since=scope.since, chapter_id=scope.chapter_id)
    months = scope.months(set(joined) | set(confirmed))
    rows = [
        {"month": m, "new_members": joined.get(m, 0), "confirmed": confirmed.get(m, 0)}
        for m in months
    ]
    title = _l("Growth per month")
    return Panel(
        "growth",
        title,
        _l("New member accounts, and profiles by the month of their latest confirmation."),
        [
            Column("month", _l("Month"), "text"),
            Column("new_members", _l("New members")),
            Column("confirmed", _l("Profiles confirmed")),
        ],
        rows,
        charts.column_chart(
            months,
            [
                (str(_l("New members")), [r["new_members"] for r in rows]),
                (str(_l("Profiles confirmed")), [r["confirmed"] for r in rows]),
            ],
            label=str(title),
        ),
    )


def freshness(scope: Scope, language: str) -> Panel:
    cutoff = scope.now - timedelta(days=365)
    facts = chapter_queries.profile_freshness_by_chapter(cutoff, chapter_id=scope.chapter_id)
    rows = sorted(
        (
            {
                "chapter": f.chapter.name,
                "members": f.members,
                "confirmed": f.confirmed,
                "share": _share(f.confirmed, f.members),
            }
            for f in facts
        ),
        key=lambda row: (row["share"] if row["share"] is not None else 2, row["chapter"]),
    )
    title = _l("Profile freshness per chapter")
    return Panel(
        "freshness",
        title,
        _l(
            "Share of each chapter's members who confirmed their profile within the last 12 months; the stalest chapters first."
        ),
        [
            Column("chapter", _l("Chapter"), "text"),
            Column("members", _l("Members")),
            Column("confirmed", _l("Confirmed within 12 months")),
            Column("share", _l("Share confirmed"), "percent"),
        ],
        rows,
        _bars(title, rows, "chapter", "share", "percent"),
    )


# ---------------------------------------------------------------- chapters' activity


def events_per_month(scope: Scope, language: str) -> Panel:
    counts = event_queries.count_events_by_month(since=scope.since, chapter_id=scope.chapter_id)
    months = scope.months(set(counts))
    rows = [{"month": m, "events": counts.get(m, 0)} for m in months]
    title = _l("Events per month")
    return Panel(
        "events-per-month",
        title,
        _l("Published events by the month they started in."),
        [Column("month", _l("Month"), "text"), Column("events", _l("Events"))],
        rows,
        charts.column_chart(
            months, [(str(_l("Events")), [r["events"] for r in rows])], label=str(title)
        ),
    )


def chapter_activity(scope: Scope, language: str) -> Panel:
    facts = event_queries.chapter_activity(since=scope.since, chapter_id=scope.chapter_id)
    rows = sorted(
        (
            {
                "chapter": a.chapter.name,
                "events": a.events,
                "registrations": a.registrations,
                "attended": a.attended,
                "attendance": a.attendance_rate,
                "promotions": a.promotions,
            }
            for a in facts
        ),
        key=lambda row: (-row["events"], row["chapter"]),
    )
    title = _l("Chapter activity")
    return Panel(
        "chapter-activity",
        title,
        _l(
            "Events that have started, their confirmed registrations, check-ins (attendance rate = checked in ÷ registered) and seats given from the waitlist."
        ),
        [
            Column("chapter", _l("Chapter"), "text"),
            Column("events", _l("Events")),
            Column("registrations", _l("Registrations")),
            Column("attended", _l("Attended")),
            Column("attendance", _l("Attendance rate"), "percent"),
            Column("promotions", _l("Waitlist promotions")),
        ],
        rows,
        _bars(title, rows[:25], "chapter", "events"),
    )


# ---------------------------------------------------------------- needs


def _need_statuses(scope: Scope) -> tuple[NeedStatus, ...] | None:
    """IME sees every status; a chapter's view keeps to what is published."""
    return PUBLISHED_STATUSES if scope.chapter else None


def needs_by_status(scope: Scope, language: str) -> Panel:
    statuses = _need_statuses(scope)
    counts = need_queries.count_needs_by_status(since=scope.since, statuses=statuses)
    return _count_panel(
        "needs-by-status",
        _l("Needs by status"),
        _l("Needs created or opened during the period, by where they are now."),
        ("status", _l("Status")),
        ("needs", _l("Needs")),
        [
            (str(NEED_STATUS_LABELS[s]), counts.get(str(s), 0))
            for s in (statuses or tuple(NeedStatus))
        ],
        ranked=False,
    )


def needs_by_sector(scope: Scope, language: str) -> Panel:
    counts = need_queries.count_needs_by_sector(since=scope.since, statuses=_need_statuses(scope))
    return _count_panel(
        "needs-by-sector",
        _l("Needs by sector"),
        _l("Needs posted (opened) during the period."),
        ("sector", _l("Sector")),
        ("needs", _l("Needs")),
        [(s.label(language), counts.get(s.slug, 0)) for s in _sectors(language)],
    )


def needs_by_state(scope: Scope, language: str) -> Panel:
    counts = need_queries.count_needs_by_node(since=scope.since, statuses=_need_statuses(scope))
    nodes = {n.code: n.name for n in db.session.scalars(db.select(Node))}
    return _count_panel(
        "needs-by-state",
        _l("Needs by state (node)"),
        _l("Needs posted during the period, by the Mexican state they serve."),
        ("state", _l("State")),
        ("needs", _l("Needs")),
        [(nodes.get(code, code) if code else str(_l("National")), n) for code, n in counts.items()],
    )


def contact_requests(scope: Scope, language: str) -> Panel:
    figures = need_queries.contact_figures(since=scope.since, chapter_id=scope.chapter_id)
    days = need_queries.days_to_first_acceptance(
        since=scope.since, chapter_id=scope.chapter_id, statuses=_need_statuses(scope)
    )
    rows = [
        {"outcome": str(_l("Accepted")), "requests": figures.accepted},
        {"outcome": str(_l("Declined")), "requests": figures.declined},
        {"outcome": str(_l("Lapsed unanswered")), "requests": figures.lapsed},
        {"outcome": str(_l("Waiting for an answer")), "requests": figures.pending},
    ]
    for row in rows:
        row["share"] = _share(row["requests"], figures.sent)
    rate = figures.acceptance_rate
    title = _l("Contact requests")
    return Panel(
        "contact-requests",
        title,
        _l(
            "Requests organisations sent to experts during the period, by answer. The acceptance rate counts accepted among the settled ones (answered or lapsed)."
        ),
        [
            Column("outcome", _l("Answer"), "text"),
            Column("requests", _l("Requests")),
            Column("share", _l("Share of requests"), "percent"),
        ],
        rows,
        _bars(title, rows, "outcome", "requests"),
        summary=[
            (_l("Requests sent"), format_cell(figures.sent, "int")),
            (_l("Acceptance rate"), format_cell(rate, "percent")),
            (
                _l("Median days from posting to the first accepted contact"),
                format_cell(statistics.median(days) if days else None, "days"),
            ),
        ],
    )


def outcomes(scope: Scope, language: str) -> Panel:
    by_sector = need_queries.outcomes_by_sector(since=scope.since, chapter_id=scope.chapter_id)
    experts = need_queries.count_contributing_experts(
        since=scope.since, chapter_id=scope.chapter_id
    )
    rows = sorted(
        (
            {
                "sector": s.label(language),
                "needs_completed": by_sector[s.slug][0],
                "days": by_sector[s.slug][1],
            }
            for s in _sectors(language)
            if s.slug in by_sector
        ),
        key=lambda row: (-row["days"], row["sector"]),
    )
    title = _l("Outcomes")
    return Panel(
        "outcomes",
        title,
        _l(
            "Needs completed during the period and the days of work recorded in their outcomes, by sector."
        ),
        [
            Column("sector", _l("Sector"), "text"),
            Column("needs_completed", _l("Needs completed")),
            Column("days", _l("Days contributed")),
        ],
        rows,
        _bars(title, rows, "sector", "days"),
        summary=[
            (_l("Needs completed"), format_cell(sum(n for n, _d in by_sector.values()), "int")),
            (_l("Days contributed"), format_cell(sum(d for _n, d in by_sector.values()), "int")),
            (_l("Experts who contributed"), format_cell(experts, "int")),
        ],
    )


# ---------------------------------------------------------------- supply against demand


def gap(scope: Scope, language: str) -> Panel:
    """Experts available (open to requests, showing their expertise) by country of residence,
    against the needs posted, per sector or per concept asked for: rows with needs and few
    experts come first, so the table answers "which needs does the diaspora not cover yet?"."""
    statuses = (NeedStatus.OPEN, NeedStatus.IN_PROGRESS)  # not covered *yet*: still open
    if scope.by == "concept":
        demand = need_queries.count_needs_by_required_concept(since=scope.since, statuses=statuses)
        supply_raw = queries.count_experts_by_concept_and_country(
            list(demand), chapter_id=scope.chapter_id, viewer=scope.viewer
        )
        concepts = {
            c.id: c
            for c in db.session.scalars(db.select(Concept).where(Concept.id.in_(list(demand))))
        }
        keys = [(cid, concepts[cid].label(language)) for cid in demand if cid in concepts]
        supply: dict[tuple[Any, str | None], int] = supply_raw  # type: ignore[assignment]
        label_column = Column("row", _l("Concept asked for"), "text")
    else:
        demand_by_slug = need_queries.count_needs_by_sector(since=scope.since, statuses=statuses)
        supply = queries.count_experts_by_sector_and_country(
            chapter_id=scope.chapter_id, viewer=scope.viewer
        )  # type: ignore[assignment]
        keys = [(s.slug, s.label(language)) for s in _sectors(language)]
        demand = demand_by_slug  # type: ignore[assignment]
        label_column = Column("row", _l("Sector"), "text")
    by_country: dict[str | None, int] = {}
    for (_key, country), n in supply.items():
        by_country[country] = by_country.get(country, 0) + n
    countries = [
        c
        for c, _n in sorted(
            ((c, n) for c, n in by_country.items() if c), key=lambda item: (-item[1], item[0])
        )
    ][:GAP_COUNTRIES]
    rows = []
    for key, name in keys:
        cells = {c: supply.get((key, c), 0) for c in countries}
        total = sum(n for (k, _c), n in supply.items() if k == key)
        needs = demand.get(key, 0)
        row: dict[str, Any] = {
            "row": name,
            "needs": needs,
            "experts": total,
            "per_need": round(total / needs, 1) if needs else None,
        }
        row.update({f"country_{c}": cells[c] for c in countries})
        row["elsewhere"] = total - sum(cells.values())
        if needs or total:
            rows.append(row)
    rows.sort(
        key=lambda r: (
            0 if r["needs"] else 1,
            r["per_need"] if r["per_need"] is not None else 0,
            -r["needs"],
            r["row"],
        )
    )
    title = _l("Supply and demand: experts available against needs posted")
    return Panel(
        "gap",
        title,
        _l(
            "Experts organisations can reach (open to requests, showing it and their expertise), by country of residence, against the needs posted during the period that are still open or in progress. Rows with needs and the fewest experts per need come first; “not covered” marks needs no available expert holds."
        ),
        [
            label_column,
            Column("needs", _l("Needs posted")),
            Column("experts", _l("Experts available")),
            Column("per_need", _l("Experts per need"), "text"),
            *[Column(f"country_{c}", country_name(c, language), "heat") for c in countries],
            Column("elsewhere", _l("Elsewhere or not shown")),
        ],
        rows,
        heat=True,
    )


def scope_for(user: Any, args: Any) -> tuple[Scope, list[Chapter]]:
    """The scope the request asks for, within what the user may see: IME any chapter or the
    whole network; a coordinator one of their chapters (the first by name when none is asked).
    Unknown values fall back to the defaults rather than failing."""
    allowed = dashboard_chapter_ids(user)
    require(allowed is None or bool(allowed))
    query = db.select(Chapter).where(Chapter.is_active.is_(True)).order_by(Chapter.name)
    if allowed is not None:
        query = query.where(Chapter.id.in_(sorted(allowed)))
    choices = list(db.session.scalars(query))
    wanted = str(args.get("chapter", "")).strip()
    chapter = next((c for c in choices if c.slug == wanted), None)
    if chapter is None and allowed is not None:
        if not choices:
            abort(403)
        chapter = choices[0]
    period = str(args.get("period", ""))
    by = str(args.get("by", ""))
    return (
        Scope(
            viewer=member_queries.build_viewer(user),
            period=period if period in PERIODS else DEFAULT_PERIOD,
            chapter=chapter,
            by=by if by in ("sector", "concept") else "sector",
        ),
        choices,
    )


PANELS: dict[str, Callable[[Scope, str], Panel]] = {
    "members-by-region": members_by_region,
    "members-by-country": members_by_country,
    "members-by-sector": members_by_sector,
    "top-concepts": top_concepts,
    "openness": openness,
    "growth": growth,
    "freshness": freshness,
    "events-per-month": events_per_month,
    "chapter-activity": chapter_activity,
    "needs-by-status": needs_by_status,
    "needs-by-sector": needs_by_sector,
    "needs-by-state": needs_by_state,
    "contact-requests": contact_requests,
    "outcomes": outcomes,
    "gap": gap,
}

MEMBER_PANELS = [
    "members-by-region",
    "members-by-country",
    "members-by-sector",
    "top-concepts",
    "openness",
    "growth",
    "freshness",
]

# (title, panels, what a chapter's view of the group counts, when it is not only the chapter)
GROUPS: list[tuple[Any, list[str], Any]] = [
    (_l("Members"), MEMBER_PANELS, None),
    (_l("Chapters' activity"), ["events-per-month", "chapter-activity"], None),
    (
        _l("Needs"),
        ["needs-by-status", "needs-by-sector", "needs-by-state", "contact-requests", "outcomes"],
        _l(
            "Needs by status, sector and state are the whole network's published needs; contact requests and outcomes are those of the chapter's members."
        ),
    ),
    (
        _l("Supply and demand"),
        ["gap"],
        _l("The experts are the chapter's members; the needs are the whole network's."),
    ),
]


# The panels that read every member: kept between views of the whole network (figures.py).
# The others count events and needs, a few milliseconds each, and stay live.
STORED = frozenset([*MEMBER_PANELS, "gap"])


def _stored_key(slug: str, scope: Scope, language: str) -> str | None:
    """Where a panel is kept, by everything its figures and words depend on; None for a panel
    computed live: a chapter's view, or a viewer other than IME, whose counts depend on which
    members they coordinate or are."""
    if slug not in STORED or scope.chapter is not None or not scope.viewer.is_ime:
        return None
    since = scope.since
    tiers = ",".join(sorted(scope.viewer.tiers_for(-1)))
    return "|".join(
        (
            slug,
            scope.period,
            since.date().isoformat() if since else "all",
            scope.by if slug == "gap" else "-",
            language,
            tiers,
        )
    )


def build_all(
    scope: Scope, language: str, slugs: Iterable[str] = PANELS, *, fresh: bool = False
) -> dict[str, Panel]:
    """The panels asked for: kept ones when they may still be served (never with `fresh`, as
    `flask dashboard refresh` asks), the others computed, and kept when they are kept at all.
    One query finds every kept panel of the page."""
    slugs = list(slugs)
    keys = {slug: key for slug in slugs if (key := _stored_key(slug, scope, language))}
    stored = figures.load(keys.values()) if keys else None
    # IME without what concerns particular members (their own profile, their chapters' members),
    # which changes no figure of the whole network (see figures.py) and must not be kept.
    shared = replace(scope, viewer=IME_VIEWER)
    now = utcnow()
    built: dict[str, Panel] = {}
    computed: list[dict[str, Any]] = []
    for slug in slugs:
        key = keys.get(slug)
        if key is None or stored is None:
            built[slug] = PANELS[slug](scope, language)
            continue
        kept = None if fresh else stored.usable(key, now)
        if kept is not None:
            built[slug] = Panel.from_payload(slug, kept.payload, kept.started_at)
            continue
        started = utcnow()
        panel = built[slug] = PANELS[slug](shared, language)
        panel.as_of = started
        computed.append(
            {
                "key": key,
                "started_at": started,
                "generation": stored.generation,
                "payload": panel.to_payload(),
            }
        )
    figures.store(computed)
    return built


def build(slug: str, scope: Scope, language: str) -> Panel:
    """One panel (the CSV and the API), kept or computed as on the page."""
    return build_all(scope, language, [slug])[slug]


def as_of(built: dict[str, Panel]) -> datetime | None:
    """When the oldest kept panel of a page was computed: what the page says its figures are."""
    return min((p.as_of for p in built.values() if p.as_of is not None), default=None)


def heat_top(panel: Panel) -> int:
    """The largest heat cell, which the darkest shade stands for."""
    keys = [c.key for c in panel.columns if c.kind == "heat"]
    return max((row[k] for row in panel.rows for k in keys), default=0)
