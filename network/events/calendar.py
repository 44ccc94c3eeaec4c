"""iCalendar files and feeds: VTIMEZONE + TZID so calendars show the organisers' wall-clock time,
stable UIDs so updates replace the copy a calendar holds, SEQUENCE bumped on change, and
STATUS:CANCELLED so a cancelled event disappears from subscribers' calendars."""

from __future__ import annotations

import calendar as gregorian
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard
from icalendar import Event as ICalEvent

from network.db import utcnow
from network.events.models import Event
from network.urls import external_url

PRODID = "-//Red Global MX//Eventos//ES"
# A zone's current rule continues past the scanned years as an open-ended RRULE.
_SCAN_UNTIL_YEAR = 2038
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class _Transition:
    """One change of a zone's offset or name: the UTC instant and the observance it starts."""

    at: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str
    is_dst: bool

    @property
    def local(self) -> datetime:
        """The wall-clock time of the change in the time it replaces, as VTIMEZONE wants it."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    @property
    def positions(self) -> frozenset[int]:
        """The yearly rules that name this day: "the weekday on or after day d" for each d of the
        week ending here (d = 1, 8, 15, 22 are the first to fourth), and -1 for the month's last."""
        day = self.local.day
        last = day + 7 > gregorian.monthrange(self.local.year, self.local.month)[1]
        return frozenset(range(max(1, day - 6), day + 1)) | ({-1} if last else frozenset())

    @property
    def rule_key(self) -> tuple:
        local = self.local
        return (
            self.offset_from,
            self.offset_to,
            self.name,
            self.is_dst,
            local.month,
            local.weekday(),
            local.time(),
        )


def _state(zone: ZoneInfo, instant: datetime) -> tuple[timedelta, bool, str]:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(0), bool(local.dst()), local.tzname() or ""


@lru_cache(maxsize=64)
def _transitions(tzid: str, since: date, until_year: int) -> tuple[_Transition, ...]:
    """Every change of the zone between `since` and the end of `until_year - 1`, found by stepping a
    day at a time and halving the step to the second (zoneinfo does not expose its table)."""
    zone = ZoneInfo(tzid)
    moment = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = datetime(until_year, 1, 1, tzinfo=UTC)
    found: list[_Transition] = []
    state = _state(zone, moment)
    while moment < end:
        step = moment + timedelta(days=1)
        new_state = _state(zone, step)
        if new_state != state:
            low, high = moment, step
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            found.append(_Transition(high, state[0], new_state[0], new_state[2], new_state[1]))
            state = new_state
        moment = step
    return tuple(found)


def _runs(transitions: Iterable[_Transition]) -> list[tuple[list[_Transition], frozenset[int]]]:
    """Group the changes into runs a yearly rule describes: the same month, weekday, wall-clock time
    and offsets in consecutive years, on a weekday position all of them share."""
    runs: list[tuple[list[_Transition], frozenset[int]]] = []
    open_runs: dict[tuple, int] = {}
    for transition in transitions:
        index = open_runs.get(transition.rule_key)
        if index is not None:
            members, positions = runs[index]
            shared = positions & transition.positions
            if members[-1].local.year == transition.local.year - 1 and shared:
                members.append(transition)
                runs[index] = (members, shared)
                continue
        open_runs[transition.rule_key] = len(runs)
        runs.append(([transition], transition.positions))
    return runs


def _byday(weekday: str, positions: frozenset[int]) -> dict[str, object]:
    """The RRULE parts for a run's day: "2SU", "-1SU", or "SU" on days 2-8 ("Sun>=2" in the tz
    database, as in Chile or Israel), preferring the forms every client knows."""
    ordinal = sorted(position for position in positions if position in (1, 8, 15, 22))
    if ordinal:
        return {"byday": f"{ordinal[0] // 7 + 1}{weekday}"}
    if -1 in positions:
        return {"byday": f"-1{weekday}"}
    first = min(positions)
    return {"byday": weekday, "bymonthday": list(range(first, first + 7))}


def _observance(transition: _Transition) -> TimezoneStandard | TimezoneDaylight:
    component = TimezoneDaylight() if transition.is_dst else TimezoneStandard()
    component.add("dtstart", transition.local)
    component.add("tzoffsetfrom", transition.offset_from)
    component.add("tzoffsetto", transition.offset_to)
    if transition.name:
        component.add("tzname", transition.name)
    return component


def vtimezone(tzid: str, since: date, last: date | None = None) -> Timezone:
    """A VTIMEZONE valid from `since` on (and past `last`, the latest day it must describe), with yearly RRULEs wherever the zone follows a rule.

    Calendar clients built on vobject/dateutil keep only the first value of an RDATE list, so the
    list of every change from 1970 to 2037 that icalendar writes lost daylight saving for them. A
    change that follows no rule is an observance of its own (a DTSTART and no RDATE at all). The
    zone's current rule has no UNTIL, so it holds past 2037 as zoneinfo predicts it does."""
    until_year = max(_SCAN_UNTIL_YEAR, (last or since).year + 2)
    zone = ZoneInfo(tzid)
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    offset, is_dst, name = _state(zone, start)
    base = _Transition(start - offset, offset, offset, name, is_dst)
    component = Timezone()
    component.add("tzid", tzid)
    component.add_component(_observance(base))
    for members, positions in _runs(_transitions(tzid, since, until_year)):
        first, last = members[0], members[-1]
        observance = _observance(first)
        if len(members) > 1:
            rule = {
                "freq": "yearly",
                "bymonth": first.local.month,
                **_byday(_WEEKDAYS[first.local.weekday()], positions),
            }
            if last.local.year < until_year - 1:
                # UTC as RFC 5545 requires; a day later, since dateutil compares it with the
                # local times of the changes and would drop the last one east of Greenwich.
                rule["until"] = last.at + timedelta(days=1)
            observance.add("rrule", rule)
        component.add_component(observance)
    return component


def _folded(text: str) -> str:
    """Lower case without accents, so "San Jose" in an address counts as naming "San José"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _component(event: Event, *, with_link: bool) -> ICalEvent:
    component = ICalEvent()
    component.add("uid", event.uid)
    component.add("dtstamp", utcnow())
    component.add("last-modified", event.updated_at)
    component.add("sequence", event.sequence)
    component.add("summary", event.title)
    component.add("dtstart", event.local_start)
    component.add("dtend", event.local_end)
    page = external_url("events.detail", event_id=event.id)
    component.add("url", page)
    description = event.description.strip()
    if with_link and event.online_url:
        description = f"{description}\n\n{event.online_url}".strip()
    component.add("description", f"{description}\n\n{page}".strip())
    place = ", ".join(part for part in [event.venue, event.address] if part)
    # The address often ends with the city already ("…, San José, CA"); a street named after
    # another town ("Calle Leónidas" for León) does not count, so the match is on whole words.
    if event.city and not re.search(rf"\b{re.escape(_folded(event.city))}\b", _folded(place)):
        place = f"{place}, {event.city}" if place else event.city
    if with_link and event.online_url:
        place = f"{place} · {event.online_url}" if place else event.online_url
    if place:
        component.add("location", place)
    component.add("status", "CANCELLED" if event.is_cancelled else "CONFIRMED")
    if event.hosts:
        component.add("categories", [chapter.name for chapter in event.hosts])
    return component


def build_calendar(events: Iterable[tuple[Event, bool]], name: str) -> bytes:
    """An iCalendar document; each pair is an event and whether its online link may be included
    (only for the person's own confirmed registrations and for hosts)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    events = list(events)
    days: dict[str, list[date]] = {}
    for event, _ in events:
        days.setdefault(event.timezone, []).extend(
            [event.local_start.date(), event.local_end.date()]
        )
    for tzid, dates in sorted(days.items()):
        # From the first of January of the year before, so a zone's state at the start is plain.
        calendar.add_component(vtimezone(tzid, date(min(dates).year - 1, 1, 1), max(dates)))
    for event, with_link in events:
        calendar.add_component(_component(event, with_link=with_link))
    return calendar.to_ical()
