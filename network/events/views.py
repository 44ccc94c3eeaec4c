"""Event pages: lists, the event page with registration, hosts' tools and calendar files."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from chapters import queries as chapter_queries
from chapters.models import Chapter
from network.csvsafe import csv_text
from network.errors import ValidationError
from network.events import bp, queries, services
from network.events.calendar import build_calendar
from network.events.forms import FORMAT_LABELS, CheckInForm, EventForm
from network.events.models import Event, EventFormat, EventStatus, EventVisibility, Registration
from network.extensions import db
from network.forms import ActionForm, apply_error, page_arg
from network.geo import current_language, language_name, place_of, viewer_zone
from network.members.profile_input import split_list
from network.members.vocabulary import resolve_expertise
from network.security import (
    can_host_events_for,
    can_manage_event,
    can_see_event,
    can_see_online_link,
    is_ime_admin,
    is_member_account,
    login_required,
    require,
)
from network.urls import external_url
from network.visibility import Tier, viewer_for

# ---------------------------------------------------------------- time zones


def when(moment: datetime, zone: str, fmt: str = "full") -> str:
    """A UTC instant as wall-clock time in `zone`, in the viewer's language."""
    pattern = {"full": "EEEE d MMMM y, HH:mm", "short": "EEE d MMM y, HH:mm", "time": "HH:mm"}
    return format_datetime(
        moment, pattern.get(fmt, fmt), tzinfo=ZoneInfo(zone), locale=str(get_locale() or "es")
    )


def event_place(event: Event) -> str:
    """Where the event's clock is: its city when it has one (Montréal reads better than the
    zone's Toronto), else the zone's own city."""
    return event.city or place_of(event.timezone)


def zone_differs(event: Event, zone: str | None, moment: datetime | None = None) -> bool:
    """Whether the viewer's clock reads differently from the event's at the event's start."""
    if not zone or zone == event.timezone:
        return False
    moment = moment or event.starts_at
    return moment.astimezone(ZoneInfo(zone)).utcoffset() != event.local_start.utcoffset()


@bp.app_context_processor
def _time_helpers() -> dict[str, Any]:
    return {
        "when": when,
        "place_of": place_of,
        "event_place": event_place,
        "format_labels": FORMAT_LABELS,
        "language_name": language_name,
    }


# ---------------------------------------------------------------- lists


@bp.route("/events")
def index() -> str:
    filters = queries.EventFilters(
        **{
            name: request.args.get(name, "")[:80]
            for name in ("region", "country", "chapter", "format", "topic", "language")
        },
        when="past" if request.args.get("when") == "past" else "upcoming",
    )
    page = page_arg()
    pagination = queries.list_events(
        current_user, filters, page, current_app.config["EVENTS_PAGE_SIZE"]
    )
    return render_template(
        "events/index.html",
        pagination=pagination,
        filters=filters,
        choices=queries.filter_choices(),
        regions=chapter_queries.list_regions(),
        zone=viewer_zone(),
        language=current_language(),
    )


@bp.route("/events/mine")
@login_required
def mine() -> str:
    token = queries.get_feed_token(current_user)
    return render_template(
        "events/mine.html",
        registrations=queries.list_my_registrations(current_user),
        feed_url=external_url("events.personal_feed", token=token) if token else None,
        action_form=ActionForm(),
        zone=viewer_zone(),
        now=services.utcnow(),
    )


@bp.route("/events/mine/feed", methods=["POST"])
@login_required
def feed() -> Response:
    require(is_member_account(current_user))
    if ActionForm().validate_on_submit():
        if request.form.get("action") == "revoke":
            services.revoke_feed(current_user)
            flash(_("A new address was made; the old one no longer works."), "success")
        else:
            services.feed_token(current_user)
            flash(_("Your personal calendar address is ready."), "success")
        db.session.commit()
    return redirect(url_for("events.mine") + "#feed")


# ---------------------------------------------------------------- one event


def _load_visible(event_id: int) -> Event:
    event = queries.get_event(event_id)
    if not can_see_event(current_user, event):
        if event.status == EventStatus.DRAFT or current_user.is_authenticated:
            abort(404 if event.status == EventStatus.DRAFT else 403)
        return current_app.login_manager.unauthorized()  # members-only: sign in first
    return event


@bp.route("/events/<int:event_id>")
def detail(event_id: int) -> Any:
    event = _load_visible(event_id)
    if isinstance(event, Response):
        return event
    registration = queries.get_registration(current_user, event)
    zone = viewer_zone()
    seats = queries.count_seats(event)
    answers = {a.question_id: a.answer for a in registration.answers} if registration else {}
    return render_template(
        "events/detail.html",
        event=event,
        registration=registration,
        position=services.waitlist_position(registration) if registration else None,
        seats=seats,
        closed_reason=services.registration_closed_reason(event),
        show_link=can_see_online_link(current_user, event, registration),
        can_manage=can_manage_event(current_user, event),
        can_register=is_member_account(current_user),
        zone=zone,
        zone_differs=zone_differs(event, zone),
        answers=answers,
        action_form=ActionForm(),
        is_past=event.ends_at < services.utcnow(),
    )


def _answers_from_form(event: Event) -> dict[int, str]:
    return {q.id: request.form.get(f"question-{q.id}", "")[:500] for q in event.questions}


@bp.route("/events/<int:event_id>/register", methods=["POST"])
@login_required
def register(event_id: int) -> Response:
    event = _load_visible(event_id)
    if isinstance(event, Response):
        return event
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        registration = services.register(current_user, event, _answers_from_form(event))
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.message), "warning")
    else:
        db.session.commit()
        if registration.is_confirmed:
            flash(_("You are registered. See you there!"), "success")
        else:
            flash(
                _(
                    "The event is full: you are on the waitlist at position %(n)d. We will write to you if a seat frees up.",
                    n=services.waitlist_position(registration) or 0,
                ),
                "info",
            )
    return redirect(url_for("events.detail", event_id=event_id))


@bp.route("/events/<int:event_id>/cancel-registration", methods=["POST"])
@login_required
def cancel_registration(event_id: int) -> Response:
    event = queries.get_event(event_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.cancel_registration(current_user, event)
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.message), "warning")
    else:
        db.session.commit()
        flash(_("Your registration is cancelled."), "info")
    return redirect(url_for("events.detail", event_id=event_id))


@bp.route("/events/<int:event_id>/answers", methods=["POST"])
@login_required
def answers(event_id: int) -> Response:
    event = queries.get_event(event_id)
    registration = queries.get_registration(current_user, event)
    if registration is None or not ActionForm().validate_on_submit():
        abort(400 if registration else 404)
    try:
        services.save_answers(registration, _answers_from_form(event))
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.message), "warning")
    else:
        db.session.commit()
        flash(_("Thank you, your answers were sent to the organisers."), "success")
    return redirect(url_for("events.detail", event_id=event_id))


# ---------------------------------------------------------------- creating and editing


def _hostable_chapters(event: Event | None = None) -> list[Chapter]:
    """Chapters the user may pick as hosts, plus the event's current hosts (kept as they are)."""
    chapters = chapter_queries.list_chapters()
    allowed = [c for c in chapters if can_host_events_for(current_user, c)]
    current = list(event.hosts) if event else []
    return sorted({c.id: c for c in [*allowed, *current]}.values(), key=lambda c: c.name)


def _form_data(form: EventForm, chapters: list[Chapter]) -> services.EventData:
    concepts, unknown = resolve_expertise(split_list(form.topics.data))
    if unknown:
        raise ValidationError(
            "topics", _("Not an expertise concept: %(items)s", items="; ".join(unknown))
        )
    chosen = set(form.chapters.data or [])
    return services.EventData(
        title=form.title.data or "",
        description=form.description.data or "",
        hosts=[c for c in chapters if c.id in chosen],
        starts_local=form.starts_at.data,
        ends_local=form.ends_at.data,
        timezone=form.timezone.data,
        format=EventFormat(form.format.data),
        visibility=EventVisibility(form.visibility.data),
        status=EventStatus(form.status.data),
        language=form.language.data,
        venue=form.venue.data or "",
        address=form.address.data or "",
        city=form.city.data or "",
        online_url=form.online_url.data or "",
        capacity=form.capacity.data,
        opens_local=form.registration_opens_at.data,
        closes_local=form.registration_closes_at.data,
        topics=concepts,
        questions=(form.questions.data or "").splitlines(),
    )


def _save(form: EventForm, event: Event | None, chapters: list[Chapter]) -> Response | None:
    """Create the event (`event` None) or update it from a valid form: the way to its page, or
    None with the refusal shown on the form (nothing of it kept)."""
    try:
        data = _form_data(form, chapters)
        if event is None:
            event = services.create_event(current_user, data)
            done = _("The event has been created.")
        else:
            services.update_event(current_user, event, data)
            done = _("The event has been updated.")
    except ValidationError as error:
        db.session.rollback()
        apply_error(form, error)
        return None
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("events.detail", event_id=event.id))


def _edit_page(form: EventForm, event: Event | None) -> str:
    labels = {c.slug: c.label(current_language()) for c in (event.topics if event else [])}
    return render_template(
        "events/edit.html",
        form=form,
        event=event,
        concept_labels=json.dumps(labels, ensure_ascii=False),
    )


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def create() -> str | Response:
    chapters = _hostable_chapters()
    require(bool(chapters))
    form = EventForm()
    form.set_chapter_choices(chapters)
    if request.method == "GET":
        chosen = request.args.get("chapter")
        first = next(
            (c for c in chapters if c.slug == chosen),
            chapters[0] if not is_ime_admin(current_user) else None,
        )
        if first is not None:
            form.chapters.data = [first.id]
            form.timezone.data = first.timezone
            form.city.data = first.city
        form.language.data = current_language()
    if form.validate_on_submit() and (saved := _save(form, None, chapters)):
        return saved
    return _edit_page(form, None)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int) -> str | Response:
    event = queries.get_event(event_id)
    require(can_manage_event(current_user, event))
    chapters = _hostable_chapters(event)
    form = EventForm(obj=event if request.method == "GET" else None)
    form.set_chapter_choices(chapters)
    if request.method == "GET":
        form.chapters.data = [c.id for c in event.hosts]
        form.starts_at.data = event.local_start.replace(tzinfo=None)
        form.ends_at.data = event.local_end.replace(tzinfo=None)
        zone = event.zone
        for name in ("registration_opens_at", "registration_closes_at"):
            value = getattr(event, name)
            getattr(form, name).data = (
                value.astimezone(zone).replace(tzinfo=None) if value else None
            )
        form.topics.data = "; ".join(c.slug for c in event.topics)
        form.questions.data = "\n".join(q.label for q in event.questions)
    if form.validate_on_submit() and (saved := _save(form, event, chapters)):
        return saved
    return _edit_page(form, event)


# ---------------------------------------------------------------- hosts' tools


@bp.route("/events/<int:event_id>/attendees", methods=["GET", "POST"])
@login_required
def attendees(event_id: int) -> str | Response:
    event = queries.get_event(event_id)
    require(can_manage_event(current_user, event))
    form = CheckInForm()
    if form.validate_on_submit():
        try:
            registration = services.check_in(event, form.code.data or "")
        except ValidationError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is checked in.", name=registration.user.full_name), "success")
            return redirect(url_for("events.attendees", event_id=event.id))
    rows = queries.list_attendees(event)
    return render_template(
        "events/attendees.html",
        event=event,
        rows=rows,
        form=form,
        action_form=ActionForm(),
        seats=queries.count_seats(event),
        shared=_shared_fields(event, rows),
    )


@bp.route("/events/<int:event_id>/attendees/<int:registration_id>/attended", methods=["POST"])
@login_required
def mark_attended(event_id: int, registration_id: int) -> Response:
    event = queries.get_event(event_id)
    require(can_manage_event(current_user, event))
    registration = db.first_or_404(
        select(Registration).where(
            Registration.id == registration_id, Registration.event_id == event.id
        )
    )
    if ActionForm().validate_on_submit():
        try:
            services.mark_attended(registration, request.form.get("attended") == "yes")
        except ValidationError as error:
            flash(str(error.message), "warning")
        else:
            db.session.commit()
    return redirect(url_for("events.attendees", event_id=event.id))


def _shared_fields(event: Event, rows: list[Registration]) -> dict[int, dict[str, str]]:
    """What each attendee lets this chapter's coordinators see: e-mail and organisation only
    when their profile's tier allows the hosts' coordinators (the same rule as the profile)."""
    shared: dict[int, dict[str, str]] = {}
    for registration in rows:
        user = registration.user
        profile = user.profile
        viewer = viewer_for(current_user, coordinated_member_ids={user.id})
        held = viewer.tiers_for(user.id)
        values: dict[str, str] = {}
        if profile is not None:
            tiers = profile.visibility
            if Tier(tiers["email"]) in held:
                values["email"] = user.email
            if Tier(tiers["position"]) in held:
                values["organisation"] = profile.employer or ""
        shared[registration.id] = values
    return shared


@bp.route("/events/<int:event_id>/attendees.csv")
@login_required
def attendees_csv(event_id: int) -> Response:
    event = queries.get_event(event_id)
    require(can_manage_event(current_user, event))
    rows = queries.list_attendees(event)
    shared = _shared_fields(event, rows)
    questions = list(event.questions)
    # Names, employers and answers are typed by members: csv_text neutralises them so that a
    # coordinator's spreadsheet shows "=cmd|..." as text instead of running it.
    table: list[list[Any]] = [
        [
            "name",
            "status",
            "position",
            "attended",
            "email",
            "organisation",
            *[q.label for q in questions],
        ]
    ]
    for registration in rows:
        answers = {a.question_id: a.answer for a in registration.answers}
        table.append(
            [
                registration.user.full_name,
                str(registration.status),
                services.waitlist_position(registration) or "",
                "yes" if registration.attended_at else "",
                shared[registration.id].get("email", ""),
                shared[registration.id].get("organisation", ""),
                *[answers.get(q.id, "") for q in questions],
            ]
        )
    return Response(
        csv_text(table),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=event-{event.id}-attendees.csv"},
    )


# ---------------------------------------------------------------- calendars


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@bp.route("/events/<int:event_id>.ics")
def event_ics(event_id: int) -> Any:
    event = _load_visible(event_id)
    if isinstance(event, Response):
        return event
    registration = queries.get_registration(current_user, event)
    with_link = can_see_online_link(current_user, event, registration)
    return _ics(build_calendar([(event, with_link)], event.title), f"event-{event.id}.ics")


@bp.route("/chapters/<slug>/events.ics")
def chapter_feed(slug: str) -> Response:
    chapter = chapter_queries.get_chapter_by_slug(slug)
    events = queries.list_feed_events(chapter)
    name = _("Red Global MX · %(chapter)s", chapter=chapter.name)
    return _ics(build_calendar([(e, False) for e in events], name), f"{chapter.slug}.ics")


@bp.route("/calendar/<token>.ics")
def personal_feed(token: str) -> Response:
    owner = queries.get_feed_owner(token)
    if owner is None:
        abort(404)
    registrations = queries.list_personal_feed(owner)
    events = [(r.event, r.is_confirmed) for r in registrations]
    return _ics(build_calendar(events, "Red Global MX"), "redglobal.ics")
