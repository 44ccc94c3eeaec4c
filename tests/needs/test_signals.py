"""What needs does when another domain announces something (network.signals), and what it
announces itself: each reaction is driven by sending the signal, with nothing calling needs."""

from __future__ import annotations

from network.auth.models import User
from network.extensions import db
from network.members.models import Concept
from network.needs.models import ContactRequest, ContactStatus, Need, NeedStatus
from network.needs.services import change_status, request_contact
from network.signals import account_suspended, concept_merged, need_closed

MESSAGE = "Nos gustaría conversar sobre la cuenca."


def test_suspension_lapses_the_unanswered_requests_to_the_person(app, world):
    """Nobody waits on a suspended expert; requests to others stay pending."""
    with app.test_request_context():
        org_user, need = (
            db.session.get(User, world.org_user.id),
            db.session.get(Need, world.need_id),
        )
        to_elena = request_contact(org_user, need, world.elena.id, MESSAGE).id
        to_marco = request_contact(org_user, need, world.marco.id, MESSAGE).id
        db.session.commit()
        account_suspended.send(db.session.get(User, world.elena.id), admin=None)
        db.session.commit()
        assert db.session.get(ContactRequest, to_elena).status == ContactStatus.LAPSED
        assert db.session.get(ContactRequest, to_marco).status == ContactStatus.PENDING


def test_a_merged_concept_is_replaced_in_needs_and_required_wins(app, world, make_need, vocabulary):
    """Hydrology merged into solar photovoltaics: a need requiring hydrology (and having solar
    as nice to have) now requires solar, once; a need with hydrology as nice to have has solar
    there. Heard twice, nothing more changes."""
    other = make_need(world.org_user, required=["water-treatment"], nice=["hydrology"])
    with app.test_request_context():
        source = db.session.get(Concept, vocabulary["hydrology"])
        target = db.session.get(Concept, vocabulary["solar-photovoltaics"])
        for _ in range(2):
            concept_merged.send(source, target=target, admin=None)
        db.session.commit()
        first, second = db.session.get(Need, world.need_id), db.session.get(Need, other)
        assert [c.slug for c in first.required_concepts] == [
            "solar-photovoltaics",
            "water-treatment",
        ]
        assert first.nice_concepts == []
        assert [c.slug for c in second.required_concepts] == ["water-treatment"]
        assert [c.slug for c in second.nice_concepts] == ["solar-photovoltaics"]


def test_a_need_announces_that_it_closed_once_when_it_finishes(app, world):
    """need_closed goes out when a need is completed or closed, not on its other moves."""
    heard: list[int] = []

    def listen(need: Need, **_: object) -> None:
        heard.append(need.id)

    with need_closed.connected_to(listen), app.test_request_context():
        org_user = db.session.get(User, world.org_user.id)
        need = db.session.get(Need, world.need_id)
        change_status(org_user, need, NeedStatus.IN_PROGRESS)
        assert heard == []
        change_status(org_user, need, NeedStatus.COMPLETED)
        change_status(org_user, need, NeedStatus.COMPLETED)  # no move: nothing announced
        assert heard == [world.need_id]
