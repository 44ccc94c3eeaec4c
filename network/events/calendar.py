"""iCalendar files and feeds: VTIMEZONE + TZID so calendars show the organisers' wall-clock time,
stable UIDs so updates replace the copy a calendar holds, SEQUENCE bumped on change, and
STATUS:CANCELLED so a cancelled event disappears from subscribers' calendars."""

from __future__ import annotations

from collections.abc import Iterable

from icalendar import Calendar
from icalendar import Event as ICalEvent

from network.db import utcnow
from network.events.models import Event
from network.urls import external_url

PRODID = "-//Red Global MX//Eventos//ES"


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
    place = ", ".join(part for part in [event.venue, event.address, event.city] if part)
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
    for event, with_link in events:
        calendar.add_component(_component(event, with_link=with_link))
    calendar.add_missing_timezones()
    return calendar.to_ical()
