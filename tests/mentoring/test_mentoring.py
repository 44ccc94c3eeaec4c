"""Mentoring: requests with a goal and a duration, capacity never exceeded, full mentors shown
as full and left out of "See mentors", either side ends with an outcome."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from network.auth.models import User
from network.errors import Conflict
from network.extensions import db
from network.members.models import Profile
from network.members.queries import build_viewer
from network.members.services import delete_account
from network.mentoring.models import MentoringStatus, Mentorship
from network.mentoring.services import answer_mentoring, end_mentoring, request_mentoring
from network.signals import account_suspended, member_deleted
from search.queries import search
from tests.conftest import PASSWORD, login

MENTOR = {"open_to_mentor": "yes", "mentor_capacity": "1", "headline": "Mentora en hidrología"}
GOAL = {"goal": "Quiero preparar mi doctorado en hidrología.", "duration_weeks": "12"}


@pytest.fixture
def people(make_member):
    return {
        "mentor": make_member(MENTOR, full_name="Carmen Mentora", email="carmen@ejemplo.mx"),
        "ana": make_member({}, full_name="Ana Aprendiz", email="ana.a@ejemplo.mx"),
        "beto": make_member({}, full_name="Beto Aprendiz", email="beto@ejemplo.mx"),
    }


def _mentorships(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [
            (m.mentee_id, m.status)
            for m in db.session.scalars(select(Mentorship).order_by(Mentorship.id))
        ]


def _mentor_ids(app, viewer: User) -> list[int]:
    with app.test_request_context():
        result = search(
            "",
            build_viewer(db.session.get(User, viewer.id)),
            kind="members",
            filters={"mentoring": "yes"},
        )
        return [hit.obj_id for hit in result.hits]


def test_a_member_asks_the_mentor_accepts_and_a_full_mentor_cannot_be_asked(app, people, outbox):
    mentor, ana, beto = people["mentor"], people["ana"], people["beto"]
    assert mentor.id in _mentor_ids(app, ana)
    page = login(app.test_client(), ana).get(f"/members/{mentor.id}").text
    assert "Pedir mentoría" in page
    ask = login(app.test_client(), ana).post(f"/mentoring/ask/{mentor.id}", data=GOAL)
    assert ask.status_code == 302
    assert any(m.recipient == "carmen@ejemplo.mx" and "doctorado" in m.body for m in outbox())
    mentor_client = login(app.test_client(), mentor)
    assert "Quiero preparar mi doctorado" in mentor_client.get("/mentoring").text
    mentorship_id = _mentorship_id(app)
    mentor_client.post(f"/mentoring/{mentorship_id}/answer", data={"decision": "accept"})
    assert _mentorships(app) == [(ana.id, MentoringStatus.ACTIVE)]

    # One place, taken: the profile says so, search leaves her out, a request is refused.
    page = login(app.test_client(), beto).get(f"/members/{mentor.id}").text
    assert 'data-testid="mentor-full"' in page and "Pedir mentoría" not in page
    assert mentor.id not in _mentor_ids(app, beto)
    refused = login(app.test_client(), beto).post(f"/mentoring/ask/{mentor.id}", data=GOAL)
    assert refused.status_code == 200 and len(_mentorships(app)) == 1

    # Ending frees the place.
    login(app.test_client(), ana).post(
        f"/mentoring/{mentorship_id}/end", data={"outcome": "Aprobé el examen de admisión."}
    )
    with app.app_context():
        ended = db.session.get(Mentorship, mentorship_id)
        assert ended.status == MentoringStatus.ENDED and ended.outcome.startswith("Aprobé")
        assert (
            db.session.scalar(select(Profile.active_mentees).where(Profile.user_id == mentor.id))
            == 0
        )
    assert mentor.id in _mentor_ids(app, beto)
    assert any(m.recipient == "carmen@ejemplo.mx" and "Aprobé" in m.body for m in outbox())


def _mentorship_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Mentorship.id).order_by(Mentorship.id.desc()))


def test_capacity_holds_when_two_pending_requests_are_accepted(app, people):
    mentor, ana, beto = people["mentor"], people["ana"], people["beto"]
    with app.test_request_context():
        first = request_mentoring(db.session.get(User, ana.id), mentor.id, GOAL["goal"], 12)
        second = request_mentoring(db.session.get(User, beto.id), mentor.id, GOAL["goal"], 12)
        db.session.commit()
        answer_mentoring(db.session.get(User, mentor.id), first, True)
        db.session.commit()
        with pytest.raises(Conflict):
            answer_mentoring(db.session.get(User, mentor.id), second, True)
        db.session.rollback()
        answer_mentoring(db.session.get(User, mentor.id), second, False, "Ahora no puedo.")
        db.session.commit()
    assert _mentorships(app) == [
        (ana.id, MentoringStatus.ACTIVE),
        (beto.id, MentoringStatus.DECLINED),
    ]


def test_bad_requests_are_explained_and_others_cannot_act(app, people, make_member):
    mentor, ana, beto = people["mentor"], people["ana"], people["beto"]
    client = login(app.test_client(), ana)
    short = client.post(
        f"/mentoring/ask/{mentor.id}", data={"goal": "ayuda", "duration_weeks": "12"}
    )
    assert short.status_code == 200 and _mentorships(app) == []
    assert client.post(f"/mentoring/ask/{ana.id}", data=GOAL).status_code == 200  # not herself
    assert _mentorships(app) == []
    client.post(f"/mentoring/ask/{mentor.id}", data=GOAL)
    twice = client.post(f"/mentoring/ask/{mentor.id}", data=GOAL)
    assert twice.status_code == 200 and len(_mentorships(app)) == 1
    mentorship_id = _mentorship_id(app)
    stranger = login(app.test_client(), beto)
    assert (
        stranger.post(f"/mentoring/{mentorship_id}/answer", data={"decision": "accept"}).status_code
        == 404
    )
    assert stranger.post(f"/mentoring/{mentorship_id}/cancel").status_code == 404
    assert (
        client.post(f"/mentoring/{mentorship_id}/answer", data={"decision": "accept"}).status_code
        == 403
    )
    client.post(f"/mentoring/{mentorship_id}/cancel")
    assert _mentorships(app) == [(ana.id, MentoringStatus.CANCELLED)]
    hidden = make_member(
        {**MENTOR, "mentoring_visibility": "coordinators"}, email="oculta@ejemplo.mx"
    )
    assert "Pedir mentoría" not in client.get(f"/members/{hidden.id}").text
    assert client.post(f"/mentoring/ask/{hidden.id}", data=GOAL).status_code == 200
    assert len(_mentorships(app)) == 1


@pytest.mark.parametrize("path, method", [("/mentoring", "GET"), ("/mentoring/ask/1", "GET")])
def test_only_members_use_mentoring(app, network, path, method):
    assert app.test_client().open(path, method=method).status_code == 302
    assert login(app.test_client(), network.org_user).open(path, method=method).status_code == 403
    assert login(app.test_client(), network.ime).open(path, method=method).status_code == 403


def test_a_deleted_mentee_frees_the_place_and_ending_twice_changes_nothing(app, people):
    mentor, ana, beto = people["mentor"], people["ana"], people["beto"]
    with app.test_request_context():
        first = request_mentoring(db.session.get(User, ana.id), mentor.id, GOAL["goal"], 12)
        db.session.commit()
        answer_mentoring(db.session.get(User, mentor.id), first, True)
        db.session.commit()
        delete_account(db.session.get(User, ana.id), PASSWORD)
        db.session.commit()
        assert (
            db.session.scalar(select(Profile.active_mentees).where(Profile.user_id == mentor.id))
            == 0
        )
    assert mentor.id in _mentor_ids(app, beto)  # back in "See mentors"
    with app.test_request_context():
        second = request_mentoring(db.session.get(User, beto.id), mentor.id, GOAL["goal"], 12)
        db.session.commit()
        answer_mentoring(db.session.get(User, mentor.id), second, True)
        db.session.commit()
        mentorship_id = second.id
    with app.test_request_context():
        stale = db.session.get(Mentorship, mentorship_id)  # as a second click would hold it
        end_mentoring(
            db.session.get(User, beto.id), db.session.get(Mentorship, mentorship_id), "Listo."
        )
        db.session.commit()
        # What a second click, loaded before the first one committed, still believes.
        set_committed_value(stale, "status", MentoringStatus.ACTIVE)
        with pytest.raises(Conflict):
            end_mentoring(db.session.get(User, mentor.id), stale, "Terminado por mí.")
        db.session.rollback()
        assert (
            db.session.scalar(select(Profile.active_mentees).where(Profile.user_id == mentor.id))
            == 0
        )


def _active_mentees(mentor: User) -> int:
    return db.session.scalar(select(Profile.active_mentees).where(Profile.user_id == mentor.id))


def test_a_mentee_leaving_frees_the_mentors_place_through_the_signal(app, people):
    """Mentoring hears member_deleted itself, before the account's row goes: the mentorship
    ends and the mentor's count follows; heard twice, nothing more changes."""
    mentor, ana = people["mentor"], people["ana"]
    with app.test_request_context():
        first = request_mentoring(db.session.get(User, ana.id), mentor.id, GOAL["goal"], 12)
        answer_mentoring(db.session.get(User, mentor.id), first, True)
        db.session.commit()
        assert _active_mentees(mentor) == 1
        for _ in range(2):
            member_deleted.send(db.session.get(User, ana.id))
        db.session.commit()
        assert _active_mentees(mentor) == 0
    assert _mentorships(app) == [(ana.id, MentoringStatus.ENDED)]


def test_suspension_cancels_unanswered_requests_from_and_to_the_person(app, people, make_member):
    """Nobody waits on a suspended person: the signal cancels their pending requests either
    way; an answered mentorship is not touched."""
    mentor, ana, beto = people["mentor"], people["ana"], people["beto"]
    other = make_member({**MENTOR, "mentor_capacity": "2"}, email="otra@ejemplo.mx")
    with app.test_request_context():
        request_mentoring(db.session.get(User, ana.id), mentor.id, GOAL["goal"], 12)
        request_mentoring(db.session.get(User, beto.id), mentor.id, GOAL["goal"], 12)
        declined = request_mentoring(db.session.get(User, ana.id), other.id, GOAL["goal"], 12)
        answer_mentoring(db.session.get(User, other.id), declined, False)
        request_mentoring(db.session.get(User, beto.id), other.id, GOAL["goal"], 12)
        db.session.commit()
        account_suspended.send(db.session.get(User, mentor.id), admin=None)
        db.session.commit()
    assert _mentorships(app) == [
        (ana.id, MentoringStatus.CANCELLED),
        (beto.id, MentoringStatus.CANCELLED),
        (ana.id, MentoringStatus.DECLINED),
        (beto.id, MentoringStatus.PENDING),
    ]
