"""Seat rules: capacity, first-come-first-served waitlist, promotion, data minimisation, closing.

Refusals are matched in both languages: the message is translated where it is read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from freezegun import freeze_time
from sqlalchemy import func, select

from chapters.models import Chapter
from network.auth.models import User
from network.errors import Conflict, ValidationError
from network.events import services
from network.events.models import (
    Event,
    EventStatus,
    Registration,
    RegistrationAnswer,
    RegistrationStatus,
)
from network.extensions import db
from network.security import can_manage_event
from tests.events.conftest import local_in


def _do(app: Flask, fn: Callable[..., Any], event: Event, *users: User, **kwargs: Any) -> Any:
    """Run a service the way a view does: fresh rows, then commit."""
    with app.test_request_context():
        rows = [db.session.get(User, u.id) for u in users]
        result = fn(*rows, db.session.get(Event, event.id), **kwargs)
        db.session.commit()
        if isinstance(result, Registration):
            result = (result.status, services.waitlist_position(result), result.user_id)
        return result


def _statuses(app: Flask, event: Event) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id)
            .order_by(Registration.queue_number)
        )
        return [(r.user_id, str(r.status)) for r in rows]


def test_seats_then_waitlist_in_arrival_order(app, make_event, make_members):
    event = make_event(capacity=2)
    people = make_members(4)
    results = [_do(app, services.register, event, p) for p in people]
    assert [(status, position) for status, position, _ in results] == [
        ("confirmed", None),
        ("confirmed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]


def test_cancelling_a_seat_promotes_the_head_of_the_waitlist_and_writes_to_them(
    app, make_event, make_members, outbox
):
    event = make_event(capacity=1)
    first, second, third = make_members(3)
    for person in (first, second, third):
        _do(app, services.register, event, person)
    promoted = _do(app, services.cancel_registration, event, first)
    assert promoted == ("confirmed", None, second.id)
    assert dict(_statuses(app, event)) == {
        first.id: "cancelled",
        second.id: "confirmed",
        third.id: "waitlisted",
    }
    mail = [m for m in outbox() if m.kind == "event_promoted"]
    assert [m.recipient for m in mail] == [second.email]
    assert "Agua y ciudades" in mail[0].body
    # The one left waiting moves up to the head of the queue.
    with app.app_context():
        row = db.session.scalar(select(Registration).where(Registration.user_id == third.id))
        assert services.waitlist_position(row) == 1


def test_a_waitlisted_person_leaving_promotes_nobody(app, make_event, make_members, outbox):
    event = make_event(capacity=1)
    first, second, third = make_members(3)
    for person in (first, second, third):
        _do(app, services.register, event, person)
    assert _do(app, services.cancel_registration, event, second) is None
    assert dict(_statuses(app, event))[third.id] == "waitlisted"
    assert not [m for m in outbox() if m.kind == "event_promoted"]


def test_raising_the_capacity_promotes_in_order(app, network, make_event, make_members):
    event = make_event(capacity=1)
    people = make_members(4)
    for person in people:
        _do(app, services.register, event, person)
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        editor = db.session.get(User, network.coordinator.id)
        data = _data_of(row, capacity=3)
        services.update_event(editor, row, data)
        db.session.commit()
    assert [s for _, s in _statuses(app, event)] == [
        "confirmed",
        "confirmed",
        "confirmed",
        "waitlisted",
    ]


def _data_of(event: Event, **changes: Any) -> services.EventData:
    values: dict[str, Any] = dict(
        title=event.title,
        description=event.description,
        hosts=list(event.hosts),
        starts_local=event.local_start.replace(tzinfo=None),
        ends_local=event.local_end.replace(tzinfo=None),
        timezone=event.timezone,
        format=event.format,
        visibility=event.visibility,
        status=event.status,
        venue=event.venue,
        address=event.address,
        online_url=event.online_url,
        capacity=event.capacity,
    )
    values.update(changes)
    return services.EventData(**values)


def test_registering_twice_is_refused(app, make_event, make_members):
    event = make_event()
    (person,) = make_members(1)
    _do(app, services.register, event, person)
    with pytest.raises(Conflict, match=r"already registered|Ya estás inscrito"):
        _do(app, services.register, event, person)


def test_cancelled_then_registering_again_goes_to_the_back_of_the_queue(
    app, make_event, make_members
):
    event = make_event(capacity=1)
    first, second = make_members(2)
    _do(app, services.register, event, first)
    _do(app, services.register, event, second)
    _do(app, services.cancel_registration, event, first)  # second is promoted
    assert _do(app, services.register, event, first)[:2] == ("waitlisted", 1)


def test_answers_are_kept_only_for_confirmed_seats(app, make_event, make_members):
    event = make_event(capacity=1, questions=["¿Alguna necesidad alimentaria?"])
    seated, waiting = make_members(2)
    with app.app_context():
        question_id = db.session.get(Event, event.id).questions[0].id
    _do(app, services.register, event, seated, answers={question_id: "vegetariana"})
    _do(app, services.register, event, waiting, answers={question_id: "sin gluten"})
    with app.app_context():
        stored = db.session.scalars(select(RegistrationAnswer.answer)).all()
    assert stored == ["vegetariana"]  # the waiting person's answer was never stored
    # Asking a waiting person directly is refused too.
    with app.test_request_context(), pytest.raises(Conflict):
        row = db.session.scalar(select(Registration).where(Registration.user_id == waiting.id))
        services.save_answers(row, {question_id: "sin gluten"})
    # Promoted, they answer then; the seat's previous holder's answers leave with them.
    _do(app, services.cancel_registration, event, seated)
    with app.test_request_context():
        row = db.session.scalar(select(Registration).where(Registration.user_id == waiting.id))
        services.save_answers(row, {question_id: "sin gluten"})
        db.session.commit()
        assert db.session.scalars(select(RegistrationAnswer.answer)).all() == ["sin gluten"]


def test_registration_closes_at_the_closing_time_and_at_the_start(app, make_event, make_members):
    event = make_event()
    (person,) = make_members(1)
    with app.app_context():
        row = db.session.get(Event, event.id)
        starts = row.starts_at
    with (
        freeze_time(starts + timedelta(minutes=1)),
        pytest.raises(Conflict, match=r"started|ya empezó"),
    ):
        _do(app, services.register, event, person)
    closing = make_event(closes_local=local_in(5))
    with app.app_context():
        closes = db.session.get(Event, closing.id).registration_closes_at
    with (
        freeze_time(closes + timedelta(seconds=1)),
        pytest.raises(Conflict, match=r"closed|está cerrada"),
    ):
        _do(app, services.register, closing, person)
    opening = make_event(opens_local=local_in(3))
    with pytest.raises(Conflict, match=r"not opened|aún no está abierta"):
        _do(app, services.register, opening, person)


def test_only_member_accounts_register(app, network, make_event):
    event = make_event()
    for account in (network.org_user, network.ime):
        with pytest.raises(Conflict, match=r"member accounts|cuentas de miembros"):
            _do(app, services.register, event, account)


def test_cancelling_the_event_closes_registration_and_tells_everybody(
    app, network, make_event, make_members, outbox
):
    event = make_event(capacity=1)
    seated, waiting = make_members(2)
    _do(app, services.register, event, seated)
    _do(app, services.register, event, waiting)
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        sequence = row.sequence
        services.update_event(
            db.session.get(User, network.coordinator.id),
            row,
            _data_of(row, status=EventStatus.CANCELLED),
        )
        db.session.commit()
        assert row.sequence == sequence + 1
    notices = sorted(m.recipient for m in outbox() if m.kind == "event_cancelled")
    assert notices == sorted([seated.email, waiting.email])
    (late,) = make_members(1)
    with pytest.raises(Conflict, match=r"cancelled|se canceló"):
        _do(app, services.register, event, late)


def test_co_hosts_edit_but_only_add_or_remove_their_own_chapters(app, network, make_event):
    event = make_event(hosts=[network.madrid])
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        paris_coordinator = db.session.get(User, network.other_coordinator.id)
        paris = db.session.get(Chapter, network.paris.id)
        madrid = db.session.get(Chapter, network.madrid.id)
        # Paris's coordinator may not take over Madrid's event by adding Paris.
        with pytest.raises(ValidationError, match=r"Only the hosts|Solo la coordinación"):
            services.update_event(paris_coordinator, row, _data_of(row, hosts=[madrid, paris]))
        # IME makes it a co-hosted event; then Paris's coordinator may edit it...
        services.update_event(
            db.session.get(User, network.ime.id), row, _data_of(row, hosts=[madrid, paris])
        )
        db.session.commit()
        assert can_manage_event(paris_coordinator, row)
        services.update_event(paris_coordinator, row, _data_of(row, title="Agua y ciudades, 2ª"))
        db.session.commit()
        assert row.title == "Agua y ciudades, 2ª"
        # ...but may not remove Madrid, which is not theirs.
        with pytest.raises(
            ValidationError, match=r"chapters you coordinate|capítulos que coordinas"
        ):
            services.update_event(paris_coordinator, row, _data_of(row, hosts=[paris]))


def test_hosting_needs_coordination_of_every_chapter(app, network, make_event):
    with pytest.raises(ValidationError, match=r"coordinate|que coordinas"):
        make_event(author=network.coordinator, hosts=[network.madrid, network.paris])
    with pytest.raises(ValidationError, match=r"coordinate|que coordinas"):
        make_event(author=network.member)
    assert make_event(author=network.ime, hosts=[network.madrid, network.paris]).id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_local": local_in(10, 17)}, "ends_at"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"online_url": ""}, "online_url"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"venue": "", "address": ""}, "venue"),
        ({"capacity": 0}, "capacity"),
        # Two days after the start, not one: these values are computed when the tests are
        # collected, and a run that crosses midnight UTC moves the event's start a day later.
        ({"closes_local": local_in(12)}, "registration_closes_at"),
        ({"title": "   "}, "title"),
        ({"starts_local": local_in(-1), "ends_local": local_in(-1, 20)}, "starts_at"),
        # 02:30 on 28 March 2027 never happens in Madrid: the clocks jump from 02:00 to 03:00.
        (
            {"starts_local": datetime(2027, 3, 28, 2, 30), "ends_local": datetime(2027, 3, 28, 5)},
            "starts_at",
        ),
    ],
)
def test_bad_event_data_is_refused_with_the_field_named(app, make_event, changes, field):
    with pytest.raises(ValidationError) as refused:
        make_event(**changes)
    assert refused.value.field == field


def test_reminders_go_once_to_confirmed_attendees_within_a_day(
    app, make_event, make_members, outbox
):
    soon = make_event(
        starts_local=local_in(0.5, 23),
        ends_local=local_in(0.5, 23) + timedelta(minutes=50),
        capacity=1,
    )
    later = make_event(title="Más adelante")
    seated, waiting = make_members(2)
    _do(app, services.register, soon, seated)
    _do(app, services.register, soon, waiting)
    _do(app, services.register, later, seated)
    with app.app_context():
        starts = db.session.get(Event, soon.id).starts_at
    with app.test_request_context(), freeze_time(starts - timedelta(hours=20)):
        assert services.send_reminders() == 1
        db.session.commit()
        assert services.send_reminders() == 0
    reminders = [m for m in outbox() if m.kind == "event_reminder"]
    assert [m.recipient for m in reminders] == [seated.email]


def test_check_in_by_code(app, network, make_event, make_members):
    event = make_event()
    (person,) = make_members(1)
    _do(app, services.register, event, person)
    with app.test_request_context():
        row = db.session.scalar(select(Registration).where(Registration.user_id == person.id))
        code = row.checkin_code
        with pytest.raises(ValidationError):
            services.check_in(db.session.get(Event, event.id), "ZZZZZZ")
        services.check_in(db.session.get(Event, event.id), f" {code.lower()[:3]}-{code[3:]} ")
        db.session.commit()
        assert row.attended_at is not None


def test_local_times_keep_their_wall_clock_across_daylight_saving():
    # Europe/Madrid moves to summer time on 28 March 2027: 18:00 is 17:00 UTC before, 16:00 after.
    before = services.to_utc(datetime(2027, 3, 26, 18), "Europe/Madrid")
    after = services.to_utc(datetime(2027, 3, 30, 18), "Europe/Madrid")
    assert (before.hour, after.hour) == (17, 16)
    # An overnight event across the change lasts one hour less than the clock difference.
    start = services.to_utc(datetime(2027, 3, 27, 22), "Europe/Madrid")
    end = services.to_utc(datetime(2027, 3, 28, 4), "Europe/Madrid")
    assert end - start == timedelta(hours=5)
    assert start.tzinfo is not None and start.astimezone(UTC) == datetime(
        2027, 3, 27, 21, tzinfo=UTC
    )


def test_no_duplicate_rows_per_person(app, make_event, make_members):
    event = make_event(capacity=1)
    (person,) = make_members(1)
    for _ in range(3):
        _do(app, services.register, event, person)
        _do(app, services.cancel_registration, event, person)
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 1
        row = db.session.scalar(select(Registration))
        assert row.status == RegistrationStatus.CANCELLED


def test_the_hourly_reminder_job_links_to_the_configured_site(
    app, make_event, make_members, outbox, runner
):
    """Cron has no request: links come from BASE_URL."""
    soon = make_event(
        starts_local=local_in(0.5, 23), ends_local=local_in(0.5, 23) + timedelta(minutes=50)
    )
    (seated,) = make_members(1)
    _do(app, services.register, soon, seated)
    app.config.update(BASE_URL="https://red.example.org")
    with app.app_context():
        starts = db.session.get(Event, soon.id).starts_at
    with freeze_time(starts - timedelta(hours=20)):
        result = runner.invoke(args=["events", "send-reminders"])
    assert result.exit_code == 0, result.output
    (reminder,) = [m for m in outbox() if m.kind == "event_reminder"]
    assert f"https://red.example.org/events/{soon.id}" in reminder.body
