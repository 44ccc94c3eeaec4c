"""/events: listing, reading, creating and editing events, and registering for them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from chapters import queries as chapter_queries
from chapters.models import Chapter
from network.api.auth import account_may, api_user, loads, token_optional, token_required
from network.api.blueprint import Blueprint
from network.api.pagination import page_body, page_of
from network.api.schemas.events import (
    CancellationOut,
    EventArgs,
    EventCreatedOut,
    EventIn,
    EventOut,
    EventPatchIn,
    RegistrationOut,
)
from network.errors import ValidationError
from network.events import queries as event_queries
from network.events import services as event_services
from network.events.models import (
    Event,
    EventFormat,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationStatus,
)
from network.extensions import db
from network.geo import is_country
from network.members.profile_input import split_list
from network.members.vocabulary import resolve_expertise
from network.security import (
    can_host_events_for,
    can_manage_event,
    can_see_event,
    can_see_online_link,
    is_ime_admin,
    is_member_account,
)
from network.urls import external_url

bp = Blueprint("events", __name__, description="Events of the network's chapters.")


# ---------------------------------------------------------------- JSON out


def _local_iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment else None


def _event_body(
    event: Event, user: Any, seats: tuple[int, int], registration: Registration | None
) -> dict[str, Any]:
    """One event as the caller may see it. The online link is the door to the room: the key is
    left out, not emptied, for anyone but the hosts and confirmed attendees."""
    zone = event.zone
    active = registration if registration is not None and registration.is_active else None
    body = {
        "id": event.id,
        "title": event.title,
        "description": event.description,
        "chapters": [{"slug": c.slug, "name": c.name} for c in event.hosts],
        "starts_at": event.local_start.isoformat(),
        "ends_at": event.local_end.isoformat(),
        "starts_at_utc": event.starts_at.astimezone(UTC).isoformat(),
        "timezone": event.timezone,
        "format": event.format,
        "venue": event.venue,
        "address": event.address,
        "city": event.city,
        "country": event.country,
        "language": event.language,
        "capacity": event.capacity,
        "seats_taken": seats[0],
        "waitlist_length": seats[1],
        "visibility": event.visibility,
        "status": event.status,
        "topics": [
            {"slug": c.slug, "label_es": c.label_es, "label_en": c.label_en} for c in event.topics
        ],
        "registration_opens_at": _local_iso(event.registration_opens_at, zone),
        "registration_closes_at": _local_iso(event.registration_closes_at, zone),
        "url": external_url("events.detail", event_id=event.id),
        "ics_url": external_url("events.event_ics", event_id=event.id),
    }
    if event.online_url is not None and can_see_online_link(user, event, registration):
        body["online_url"] = event.online_url
    if active:
        position = event_services.waitlist_position(active)
        body["my_registration"] = {"status": active.status, "position": position}
    return body


def _event_bodies(events: list[Event], user: Any) -> list[dict[str, Any]]:
    """Events of one page with their seat counts and the caller's registrations: two queries
    for the page, whatever its size."""
    ids = [e.id for e in events]
    seats: dict[int, tuple[int, int]] = {}
    mine: dict[int, Registration] = {}
    if ids:
        # Belongs in network.events.queries next to count_seats (a batch of it).
        rows = db.session.execute(
            select(
                Registration.event_id,
                func.count(case((Registration.status == RegistrationStatus.CONFIRMED, 1))),
                func.count(case((Registration.status == RegistrationStatus.WAITLISTED, 1))),
            )
            .where(Registration.event_id.in_(ids))
            .group_by(Registration.event_id)
        )
        seats = {event_id: (confirmed, waiting) for event_id, confirmed, waiting in rows}
        if user is not None:
            mine = {
                r.event_id: r
                for r in db.session.scalars(
                    select(Registration).where(
                        Registration.user_id == user.id, Registration.event_id.in_(ids)
                    )
                )
            }
    return [_event_body(e, user, seats.get(e.id, (0, 0)), mine.get(e.id)) for e in events]


# ---------------------------------------------------------------- loading with access rules


def _visible_event(event_id: int, user: Any) -> Event:
    """The event if the caller may see it, with the pages' rules: a draft is as absent as a
    missing event for all but its hosts; members-only events want a member's (or IME's) token."""
    event = event_queries.get_event(event_id)
    if not can_see_event(user, event):
        if event.status == EventStatus.DRAFT:
            abort(404, description=_("No such event."))
        if user is None:
            abort(401, description=_("This event is for members: send a member's API token."))
        abort(403, description=_("This event is for members of the network."))
    return event


# The event of the path, as the caller may see it (network.api.auth.loads).
_event = partial(loads, "event_id", _visible_event, to="event")


# ---------------------------------------------------------------- request in


def _event_values(sent: dict[str, Any], hostable: list[Chapter]) -> dict[str, Any]:
    """Sent API fields -> EventData values. The schema checked their shape and the services
    check the rules; what is looked up here (chapters, topics, a country) is a 422 if unknown."""
    values: dict[str, Any] = {}
    problems: list[tuple[str | None, str]] = []
    for name in ("title", "venue", "address", "city", "online_url", "timezone"):
        if name in sent:
            values[name] = sent[name].strip()
    if "description" in sent:
        values["description"] = sent["description"]
    if "title" in values and not values["title"]:
        problems.append(("title", _("This field is required.")))
    for name, target in (
        ("starts_at", "starts_local"),
        ("ends_at", "ends_local"),
        ("registration_opens_at", "opens_local"),
        ("registration_closes_at", "closes_local"),
    ):
        if name in sent:
            values[target] = sent[name]
    for name, kind in (
        ("format", EventFormat),
        ("visibility", EventVisibility),
        ("status", EventStatus),
    ):
        if name in sent:
            values[name] = kind(sent[name])
    for name in ("language", "capacity", "questions"):
        if name in sent:
            values[name] = sent[name]
    if "country" in sent:
        values["country"] = (sent["country"] or "").strip().upper() or None
        if values["country"] and not is_country(values["country"]):
            problems.append(
                ("country", _("Unknown country code %(value)s.", value=repr(sent["country"][:10])))
            )
    if "chapters" in sent:
        by_slug = {c.slug: c for c in hostable}
        unknown = [slug for slug in sent["chapters"] if slug not in by_slug]
        if unknown:
            problems.append(
                ("chapters", _("Unknown chapter: %(names)s.", names=", ".join(unknown)[:200]))
            )
        values["hosts"] = list(
            {slug: by_slug[slug] for slug in sent["chapters"] if slug in by_slug}.values()
        )
    if "topics" in sent:
        concepts, unknown = resolve_expertise(split_list(sent["topics"]))
        if unknown:
            problems.append(
                (
                    "topics",
                    _("Not an expertise concept: %(names)s.", names="; ".join(unknown)[:200]),
                )
            )
        values["topics"] = concepts
    if problems:
        raise ValidationError.of(problems)
    return values


def _current_event_data(event: Event) -> event_services.EventData:
    """The event as it stands, in the services' terms: the base a partial edit changes."""
    zone = event.zone

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone).replace(tzinfo=None) if moment else None

    return event_services.EventData(
        title=event.title,
        description=event.description,
        hosts=list(event.hosts),
        starts_local=local(event.starts_at),
        ends_local=local(event.ends_at),
        timezone=event.timezone,
        format=event.format,
        visibility=event.visibility,
        status=event.status,
        language=event.language,
        venue=event.venue,
        address=event.address,
        city=event.city,
        country=event.country,
        online_url=event.online_url,
        capacity=event.capacity,
        opens_local=local(event.registration_opens_at),
        closes_local=local(event.registration_closes_at),
    )


def _refuse_foreign_hosts(user: Any, chapters: list[Chapter]) -> None:
    denied = [c.name for c in chapters if not can_host_events_for(user, c)]
    if denied:
        abort(
            403,
            description=_(
                "You can only host events for chapters you coordinate, not %(names)s.",
                names=", ".join(denied)[:200],
            ),
        )


# ---------------------------------------------------------------- events


@bp.route("/events")
@token_optional
@bp.arguments(EventArgs, location="query")
@bp.response(200, page_of(EventOut))
def events(args: dict[str, Any]) -> dict[str, Any]:
    """Published and cancelled events the caller may see.

    Anonymous callers see public events; a member's or IME's token adds members-only events.
    Drafts are never listed: their hosts read them by id.
    """
    user = api_user()
    chapter = args.get("chapter") or ""
    known = {c.slug for c in chapter_queries.list_chapters(include_inactive=True)}
    if chapter and chapter not in known:
        abort(400, description=_("Unknown chapter %(value)s.", value=repr(chapter[:60])))
    when = "upcoming" if args["upcoming"] else "past"
    filters = event_queries.EventFilters(chapter=chapter, when=when)
    pagination = event_queries.list_events(user, filters, args["page"], args["per_page"])
    return page_body(pagination, _event_bodies(list(pagination.items), user))


@bp.route("/events/<int:event_id>")
@token_optional
@bp.answers(403, 404)
@_event()
@bp.response(200, EventOut)
def event(event: Event) -> dict[str, Any]:
    """One event, with the caller's registration if they have one.

    Drafts answer 404 to all but their hosts; members-only events answer 401 without a token
    and 403 to accounts that are not members.
    """
    (body,) = _event_bodies([event], api_user())
    return body


@bp.route("/events", methods=["POST"])
@token_required
@bp.answers(403)
@account_may(
    lambda user: is_ime_admin(user) or user.coordinated_chapter_ids,
    _l("Only chapter coordinators and IME create events."),
)
@bp.arguments(EventIn)
@bp.response(201, EventCreatedOut)
def create_event(sent: dict[str, Any]) -> dict[str, Any]:
    """Create an event, as a coordinator of every hosting chapter or as IME.

    Malformed JSON or times answer 400; invalid values 422 with the fields at fault; a chapter
    the token's account does not coordinate 403.
    """
    user = api_user()
    values = _event_values(sent, chapter_queries.list_chapters())
    _refuse_foreign_hosts(user, values["hosts"])
    created = event_services.create_event(user, event_services.EventData(**values))
    db.session.commit()
    return {"id": created.id}


@bp.route("/events/<int:event_id>", methods=["PATCH"])
@token_required
@bp.answers(403, 404)
@_event(
    rule=can_manage_event,
    refusal=_l("Only the hosts' coordinators can edit this event."),
)
@bp.arguments(EventPatchIn)
@bp.response(200, EventOut)
def update_event(sent: dict[str, Any], event: Event) -> dict[str, Any]:
    """Edit an event, as a coordinator of one of its hosts or as IME.

    Send only the fields to change. A host's coordinators may add or remove only chapters they
    coordinate; the other hosts stay.
    """
    user = api_user()
    hostable = {c.id: c for c in [*chapter_queries.list_chapters(), *event.hosts]}
    values = _event_values(sent, list(hostable.values()))
    if "chapters" in sent and "country" not in sent:
        values["country"] = None  # follows the first host, as it does when edited on the page
    data = dataclasses.replace(_current_event_data(event), **values)
    before, after = event.host_ids, {c.id for c in data.hosts}
    _refuse_foreign_hosts(user, [hostable[i] for i in sorted(before ^ after)])
    event_services.update_event(user, event, data)
    db.session.commit()
    (body,) = _event_bodies([event], user)
    return body


# ---------------------------------------------------------------- registrations


@bp.route("/events/<int:event_id>/registrations", methods=["POST"])
@token_required
@bp.answers(403, 404, 409)
@_event(
    rule=lambda user, _event: is_member_account(user),
    refusal=_l("Only member accounts register for events."),
)
@bp.response(201, RegistrationOut)
def register_for_event(event: Event) -> dict[str, Any]:
    """Register the token's member: a seat if one is free, else a place on the waitlist.

    409 when registration is closed (not yet open, past its closing time, the event started or
    was cancelled) or the member is already registered.
    """
    registration = event_services.register(api_user(), event)
    db.session.commit()
    return {
        "status": registration.status,
        "position": event_services.waitlist_position(registration),
    }


@bp.route("/events/<int:event_id>/registrations/me", methods=["DELETE"])
@token_required
@bp.answers(403, 404, 409)
@_event()
@bp.response(200, CancellationOut)
def cancel_my_registration(event: Event) -> dict[str, Any]:
    """Give up the token's member's seat or place on the waitlist.

    A freed seat goes to the head of the waitlist, who is told by e-mail. 404 without a
    registration; 409 once the event has started.
    """
    user = api_user()
    registration = event_queries.get_registration(user, event)
    if registration is None or not registration.is_active:
        abort(404, description=_("You are not registered for this event."))
    promoted = event_services.cancel_registration(user, event)
    promoted_id = promoted.user_id if promoted else None
    db.session.commit()
    return {"status": "cancelled", "promoted": promoted_id}
