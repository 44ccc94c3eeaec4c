"""IME suspends and reinstates accounts: the person is locked out and disappears from every list,
is told why, and everything comes back on reinstatement; every decision is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.audit import AuditEntry
from network.auth.models import User
from network.auth.services import suspend_account
from network.errors import Forbidden, ValidationError
from network.extensions import db
from network.mentoring.models import MentoringStatus, Mentorship
from network.needs.models import ContactRequest, ContactStatus, Need
from network.needs.ranking import rank_candidates
from network.security import Role
from network.visibility import Viewer
from search.queries import search
from tests.conftest import PASSWORD, bearer, link_in, login
from tests.needs import conftest as needs_fixtures

# The needs fixtures, found by pytest among this module's names (see tests/search).
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
sonora = needs_fixtures.sonora
world = needs_fixtures.world

EN = {"Accept-Language": "en"}
SIGNED_IN = Viewer(user_id=-5, is_signed_in=True)
REASON = "Repeated unsolicited advertising sent to other members."


@pytest.fixture
def ime(make_user) -> User:
    return make_user(
        full_name="Sofía Admin", email="admin@ime.gob.mx", role=Role.IME, preferred_language="en"
    )


@pytest.fixture
def tomas(make_member, vocabulary) -> User:
    """A listed member with expertise, open to mentoring, visible to every signed-in member."""
    return make_member(
        {
            "headline": "Hydrologist",
            "expertise": "hydrology",
            "open_to_mentor": "yes",
            "expertise_visibility": "members",
            "mentoring_visibility": "members",
        },
        full_name="Tomás Hidalgo Reyes",
        email="tomas@ejemplo.mx",
        preferred_language="en",
    )


def _found(app, text: str) -> list[int]:
    with app.test_request_context():
        return [hit.obj_id for hit in search(text, SIGNED_IN, kind="members").hits]


def _entries(app) -> list[tuple[str, str, int, str]]:
    with app.app_context():
        return [
            (e.action, e.subject_type, e.subject_id, e.detail)
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def _user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _sign_in(app, email: str, password: str = PASSWORD):
    return app.test_client().post("/login", data={"email": email, "password": password}, headers=EN)


def test_suspension_locks_the_person_out_and_hides_them_until_reinstated(
    app, network, ime, tomas, outbox
):
    session = login(app.test_client(), tomas)
    assert session.get("/account").status_code == 200
    headers = bearer(app, tomas)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    member = login(app.test_client(), network.member)
    assert "Tomás Hidalgo Reyes" in member.get("/members").text
    assert member.get(f"/members/{tomas.id}").status_code == 200
    assert _found(app, "hidalgo") == [tomas.id]
    assert _found(app, "hydrology") == [tomas.id]

    admin = login(app.test_client(), ime)
    response = admin.post(f"/admin/accounts/{tomas.id}/suspend", data={"reason": REASON})
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).text
    assert "Tomás Hidalgo Reyes is suspended" in page and REASON in page

    # Locked out: the open session ended, the token is refused, and signing in says why.
    assert session.get("/account").headers["Location"].startswith("/login")
    refused = api.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401 and refused.is_json
    suspended = _sign_in(app, "tomas@ejemplo.mx")
    assert suspended.status_code == 403 and "This account is suspended" in suspended.text
    wrong = _sign_in(app, "tomas@ejemplo.mx", "not the password at all")
    assert wrong.status_code == 401
    assert "The e-mail address or the password is not correct." in wrong.text
    assert "suspended" not in wrong.text

    # Gone from the directory, the profile page (IME may still open it), the API and search.
    assert "Tomás Hidalgo Reyes" not in member.get("/members").text
    assert member.get(f"/members/{tomas.id}").status_code == 404
    assert admin.get(f"/members/{tomas.id}").status_code == 200
    member_api = bearer(app, network.member)
    assert api.get(f"/api/v1/members/{tomas.id}", headers=member_api).status_code == 404
    listing = api.get("/api/v1/members", headers=member_api).get_json()
    assert tomas.id not in [m["id"] for m in listing["items"]]
    assert _found(app, "hidalgo") == [] and _found(app, "hydrology") == []
    assert member.get(f"/mentoring/ask/{tomas.id}").status_code == 404

    mail = [m for m in outbox() if m.recipient == "tomas@ejemplo.mx"]
    assert [m.kind for m in mail] == ["account_suspended"]
    assert REASON in mail[0].body and "admin@ime.gob.mx" in mail[0].body
    assert _entries(app)[-1] == ("account.suspended", "user", tomas.id, REASON)

    # Reinstated: the same password and token work, and the member is listed and found again.
    response = admin.post(f"/admin/accounts/{tomas.id}/reinstate")
    assert response.status_code == 302
    assert "Tomás Hidalgo Reyes is reinstated" in admin.get(response.headers["Location"]).text
    assert _user(app, tomas.id).suspended_at is None
    assert _sign_in(app, "tomas@ejemplo.mx").status_code == 302
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    assert "Tomás Hidalgo Reyes" in member.get("/members").text
    assert member.get(f"/members/{tomas.id}").status_code == 200
    assert _found(app, "hidalgo") == [tomas.id]
    assert [m.kind for m in outbox() if m.recipient == "tomas@ejemplo.mx"] == [
        "account_suspended",
        "account_reinstated",
    ]
    assert _entries(app)[-1] == ("account.reinstated", "user", tomas.id, "")


def test_a_suspended_expert_is_no_candidate_for_needs(app, world, ime):
    def candidates() -> set[int]:
        with app.test_request_context():
            need = db.session.get(Need, world.need_id)
            return {c.member_id for c in rank_candidates(need).candidates}

    assert candidates() == {world.elena.id, world.marco.id}
    admin = login(app.test_client(), ime)
    admin.post(f"/admin/accounts/{world.elena.id}/suspend", data={"reason": REASON})
    assert candidates() == {world.marco.id}
    organisation = login(app.test_client(), world.org_user)
    page = organisation.get(f"/needs/{world.need_id}/candidates").text
    assert "Marco Díaz" in page and "Elena Ruiz Castro" not in page
    admin.post(f"/admin/accounts/{world.elena.id}/reinstate")
    assert candidates() == {world.elena.id, world.marco.id}


def test_a_suspended_member_leaves_the_chapter_member_list(
    app, network, ime, make_user, add_membership
):
    pedro = make_user(full_name="Pedro Castañeda", email="pedro@ejemplo.mx")
    add_membership(pedro, network.madrid)
    coordinator = login(app.test_client(), network.coordinator)
    assert "Pedro Castañeda" in coordinator.get("/chapters/madrid/members").text
    login(app.test_client(), ime).post(
        f"/admin/accounts/{pedro.id}/suspend", data={"reason": REASON}
    )
    assert "Pedro Castañeda" not in coordinator.get("/chapters/madrid/members").text


def test_a_password_reset_gives_a_suspended_person_no_way_in(app, ime, tomas, outbox):
    client = app.test_client()
    client.post("/reset", data={"email": "tomas@ejemplo.mx"})
    [link_mail] = [m for m in outbox() if m.kind == "reset_password"]
    login(app.test_client(), ime).post(
        f"/admin/accounts/{tomas.id}/suspend", data={"reason": REASON}
    )
    # The link asked for before the suspension is dead, and no new link is sent.
    link = link_in(link_mail.body)
    response = client.post(
        link,
        data={
            "password": "a new long password 2026",
            "password_confirm": "a new long password 2026",
        },
    )
    assert response.headers["Location"].startswith("/reset")
    client.post("/reset", data={"email": "tomas@ejemplo.mx"})
    assert len([m for m in outbox() if m.kind == "reset_password"]) == 1
    assert _sign_in(app, "tomas@ejemplo.mx", "a new long password 2026").status_code == 401


def test_the_reason_is_required_and_nothing_typed_is_lost(app, ime, tomas, outbox):
    admin = login(app.test_client(), ime)
    response = admin.post(f"/admin/accounts/{tomas.id}/suspend", data={"reason": "   "})
    assert response.status_code == 422 and "This field is required." in response.text
    assert 'id="reason-again" name="reason"' in response.text
    too_long = "x" * 2001
    response = admin.post(f"/admin/accounts/{tomas.id}/suspend", data={"reason": too_long})
    assert response.status_code == 422 and too_long in response.text
    assert _user(app, tomas.id).suspended_at is None
    assert not [m for m in outbox() if m.kind == "account_suspended"]
    assert not [e for e in _entries(app) if e[0].startswith("account.")]


def test_the_service_refuses_a_blank_reason_for_the_api_and_cli_too(app, ime, tomas):
    with app.test_request_context(headers=EN):
        admin, user = db.session.get(User, ime.id), db.session.get(User, tomas.id)
        with pytest.raises(ValidationError) as refused:
            suspend_account(admin, user, " \n ")
        assert refused.value.field == "reason"
        assert "Give the reason for the suspension" in str(refused.value.message)
        with pytest.raises(Forbidden):
            suspend_account(user, admin, REASON)
        assert user.suspended_at is None and admin.suspended_at is None


def test_an_administrator_cannot_suspend_themself_or_suspend_twice(app, ime, tomas):
    admin = login(app.test_client(), ime)
    response = admin.post(f"/admin/accounts/{ime.id}/suspend", data={"reason": REASON})
    assert response.status_code == 422
    assert "You cannot suspend your own account." in response.text
    assert _user(app, ime.id).suspended_at is None
    assert (
        admin.post(f"/admin/accounts/{tomas.id}/suspend", data={"reason": REASON}).status_code
        == 302
    )
    again = admin.post(f"/admin/accounts/{tomas.id}/suspend", data={"reason": "Another reason"})
    assert again.status_code == 422 and "already suspended" in again.text
    assert _user(app, tomas.id).suspension_reason == REASON
    # Reinstating an active account is refused as clearly.
    admin.post(f"/admin/accounts/{tomas.id}/reinstate")
    refused = admin.post(f"/admin/accounts/{tomas.id}/reinstate", follow_redirects=True)
    assert "Tomás Hidalgo Reyes is not suspended." in refused.text
    assert [e[0] for e in _entries(app)] == ["account.suspended", "account.reinstated"]


def test_the_accounts_page_finds_by_name_or_address_and_lists_the_suspended(app, ime, make_user):
    for n in range(30):
        make_user(full_name=f"Miembro {n:02d}", email=f"miembro{n:02d}@ejemplo.mx")
    carla = make_user(full_name="Carla Núñez", email="carla@otra.mx")
    admin = login(app.test_client(), ime)
    first = admin.get("/admin/accounts")
    assert first.status_code == 200 and "32 accounts" in first.text
    assert "Miembro 23" in first.text and "Miembro 24" not in first.text  # 25 a page, by name
    assert "Miembro 24" in admin.get("/admin/accounts?page=2").text
    by_address = admin.get("/admin/accounts?q=Carla@Otra.MX").text
    assert "Carla Núñez" in by_address and "Miembro" not in by_address
    # A part of an address finds nothing: members may hide theirs, even from IME.
    assert "Carla Núñez" not in admin.get("/admin/accounts?q=otra.mx").text
    assert "carla@otra.mx" not in first.text  # her profile-less account shows no address
    assert "Carla Núñez" in admin.get("/admin/accounts?q=carla+n").text
    assert "No account matches." in admin.get("/admin/accounts?q=100%25").text
    admin.post(f"/admin/accounts/{carla.id}/suspend?q=otra", data={"reason": REASON})
    page = admin.get("/admin/accounts").text
    suspended = page.split('data-testid="suspended"')[1].split("</table>")[0]
    assert "Carla Núñez" in suspended and REASON in suspended and "Reinstate" in suspended


@pytest.mark.parametrize("who", ["anonymous", "member", "coordinator", "org_user"])
def test_only_ime_manages_accounts(app, network, tomas, who):
    client = app.test_client()
    if who != "anonymous":
        login(client, getattr(network, who))
    requests = [
        client.get("/admin/accounts"),
        client.post(f"/admin/accounts/{tomas.id}/suspend", data={"reason": REASON}),
        client.post(f"/admin/accounts/{tomas.id}/reinstate"),
    ]
    for response in requests:
        if who == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            assert response.status_code == 403
    assert _user(app, tomas.id).suspended_at is None


def test_suspension_settles_what_waited_on_the_person(app, world):
    with app.app_context():
        contact = ContactRequest(
            need_id=world.need_id,
            organisation_id=world.organisation.id,
            member_id=world.elena.id,
            message="¿Nos ayudas?",
        )
        asked = Mentorship(
            mentor_id=world.elena.id, mentee_id=world.marco.id, goal="Aprender", duration_weeks=8
        )
        db.session.add_all([contact, asked])
        db.session.commit()
        contact_id, asked_id = contact.id, asked.id
    with app.test_request_context():
        suspend_account(
            db.session.get(User, world.ime.id), db.session.get(User, world.elena.id), REASON
        )
        db.session.commit()
    with app.app_context():
        # The organisation is no longer kept waiting, and the request stops counting in caps.
        assert db.session.get(ContactRequest, contact_id).status == ContactStatus.LAPSED
        assert db.session.get(Mentorship, asked_id).status == MentoringStatus.CANCELLED
