"""Every way a seat is freed gives it to the head of the waitlist, in queue order, with the usual
e-mail: cancelling, deleting the account, IME's suspension, a raised or removed capacity, and any
edit of an upcoming event. Otherwise the next person to register would jump the queue."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from network.auth.models import User
from network.events import services
from network.events.models import Event, Registration, RegistrationStatus
from network.extensions import db
from network.members.models import Concept
from network.signals import account_suspended, concept_merged, member_deleted
from tests.conftest import PASSWORD, login
from tests.events.test_services import _data_of, _do, _statuses


@pytest.fixture
def full_event(app: Flask, make_event, make_members) -> tuple[Event, list[User]]:
    """Two seats, both taken, and two people waiting (in this order)."""
    event = make_event(capacity=2)
    people = make_members(4)
    for person in people:
        _do(app, services.register, event, person)
    assert [s for _, s in _statuses(app, event)] == ["confirmed"] * 2 + ["waitlisted"] * 2
    return event, people


def _promoted_mail(outbox: Any) -> list[str]:
    return [m.recipient for m in outbox() if m.kind == "event_promoted"]


def _newcomer_waits(app: Flask, event: Event, make_user) -> None:
    """Someone registering after the seat was freed gets no seat: they queue behind the one
    still waiting."""
    newcomer = make_user(full_name="Recién Llegada")
    status, position, _ = _do(app, services.register, event, newcomer)
    assert (status, position) == ("waitlisted", 2)


def test_deleting_an_account_gives_its_seat_to_the_head_of_the_waitlist(
    app, client, full_event, outbox, make_user
):
    event, (first, _second, third, fourth) = full_event
    login(client, first)
    response = client.post("/members/me/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, first.id) is None
    statuses = dict(_statuses(app, event))
    assert first.id not in statuses
    assert (statuses[third.id], statuses[fourth.id]) == ("confirmed", "waitlisted")
    assert _promoted_mail(outbox) == [third.email]
    _newcomer_waits(app, event, make_user)


def test_suspending_an_account_gives_its_seats_to_the_waitlists(
    app, client, network, full_event, make_event, outbox, make_user
):
    event, (first, second, third, fourth) = full_event
    # A second event where the suspended person waits: they leave that queue too.
    other = make_event(capacity=1, title="Energía solar")
    for person in (second, first, fourth):
        _do(app, services.register, other, person)
    login(client, network.ime)
    response = client.post(f"/admin/accounts/{first.id}/suspend", data={"reason": "Spam."})
    assert response.status_code == 302
    assert dict(_statuses(app, event)) == {
        first.id: "cancelled",
        second.id: "confirmed",
        third.id: "confirmed",
        fourth.id: "waitlisted",
    }
    assert dict(_statuses(app, other)) == {
        second.id: "confirmed",
        first.id: "cancelled",
        fourth.id: "waitlisted",
    }
    assert _promoted_mail(outbox) == [third.email]
    _newcomer_waits(app, event, make_user)


def test_cancelling_gives_the_seat_to_the_head_of_the_waitlist(
    app, client, full_event, outbox, make_user
):
    event, (first, _second, third, fourth) = full_event
    login(client, first)
    assert client.post(f"/events/{event.id}/cancel-registration").status_code == 302
    statuses = dict(_statuses(app, event))
    assert (statuses[third.id], statuses[fourth.id]) == ("confirmed", "waitlisted")
    assert _promoted_mail(outbox) == [third.email]
    _newcomer_waits(app, event, make_user)


def _edit(app: Flask, event: Event, editor: User, **changes: Any) -> None:
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        services.update_event(db.session.get(User, editor.id), row, _data_of(row, **changes))
        db.session.commit()


def test_removing_the_capacity_seats_everybody_waiting_in_order(app, network, full_event, outbox):
    event, (_first, _second, third, fourth) = full_event
    _edit(app, event, network.coordinator, capacity=None)
    assert [s for _, s in _statuses(app, event)] == ["confirmed"] * 4
    assert _promoted_mail(outbox) == [third.email, fourth.email]


def test_raising_the_capacity_by_one_seats_the_head_of_the_queue(app, network, full_event, outbox):
    event, (_first, _second, third, fourth) = full_event
    _edit(app, event, network.coordinator, capacity=3)
    statuses = dict(_statuses(app, event))
    assert (statuses[third.id], statuses[fourth.id]) == ("confirmed", "waitlisted")
    assert _promoted_mail(outbox) == [third.email]


def test_any_edit_fills_a_seat_left_free_with_people_waiting(
    app, network, full_event, outbox, make_user
):
    """A seat freed without promotion (as deleting an account did before this rule) is filled
    from the queue by the next edit of the event, here of its title only."""
    event, (first, _second, third, _fourth) = full_event
    with app.app_context():
        db.session.execute(
            update(Registration)
            .where(Registration.event_id == event.id, Registration.user_id == first.id)
            .values(status=RegistrationStatus.CANCELLED)
        )
        db.session.commit()
    _edit(app, event, network.coordinator, title="Agua y ciudades (sala nueva)")
    with app.app_context():
        confirmed = db.session.scalars(
            select(Registration.user_id).where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        ).all()
    assert third.id in confirmed
    assert _promoted_mail(outbox) == [third.email]
    _newcomer_waits(app, event, make_user)


@pytest.mark.parametrize("signal", [account_suspended, member_deleted], ids=lambda s: s.name)
def test_a_person_leaving_gives_their_seats_to_the_waitlist_through_the_signal(
    app, network, full_event, outbox, signal
):
    """Events hears the signal itself (nothing calls it): the leaving person's seat goes to the
    head of the queue, once, however often the signal is heard."""
    event, (first, _second, third, fourth) = full_event
    with app.test_request_context():
        person = db.session.get(User, first.id)
        signal.send(person, admin=db.session.get(User, network.ime.id))
        signal.send(person, admin=db.session.get(User, network.ime.id))
        db.session.commit()
    statuses = dict(_statuses(app, event))
    assert (statuses[first.id], statuses[third.id], statuses[fourth.id]) == (
        "cancelled",
        "confirmed",
        "waitlisted",
    )
    assert _promoted_mail(outbox) == [third.email]


def test_a_merged_concept_is_replaced_among_the_events_topics(app, make_event, vocabulary):
    """Merging hydrology into water treatment: an event about both lists water treatment once,
    an event about hydrology alone is about water treatment; hearing it twice changes nothing."""
    with app.app_context():
        both = [db.session.get(Concept, vocabulary[s]) for s in ("hydrology", "water-treatment")]
        db.session.expunge_all()
    about_both = make_event(topics=both)
    about_one = make_event(topics=both[:1], title="Cuencas")
    with app.test_request_context():
        source = db.session.get(Concept, vocabulary["hydrology"])
        target = db.session.get(Concept, vocabulary["water-treatment"])
        for _ in range(2):
            concept_merged.send(source, target=target, admin=None)
        db.session.commit()
        for event in (about_both, about_one):
            topics = db.session.get(Event, event.id).topics
            assert [c.slug for c in topics] == ["water-treatment"]
