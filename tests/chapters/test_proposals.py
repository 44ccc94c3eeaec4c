"""Members propose chapters; IME approves or declines them, and deactivates and reactivates
chapters. Every decision is audited, and a proposal stays out of sight of everyone else."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from chapters.models import CcimeTerm, Chapter, ChapterMembership, ChapterStatus
from network.audit import AuditEntry
from network.extensions import db
from network.members.csvio import import_members
from network.security import Role
from tests.conftest import _saved, bearer, login

EN = {"Accept-Language": "en"}

PROPOSAL = {
    "name": "Nueva York",
    "city": "New York",
    "country": "US",
    "timezone": "America/New_York",
    "proposal_note": "Twelve of us meet monthly already; we want to mentor students in Puebla.",
}


def _chapter(app, slug: str) -> Chapter:
    with app.app_context():
        chapter = db.session.scalar(select(Chapter).where(Chapter.slug == slug))
        db.session.expunge(chapter)
        return chapter


def _audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        for entry in entries:
            db.session.expunge(entry)
        return entries


def _coordinator_ids(app, chapter: Chapter) -> set[int]:
    with app.app_context():
        return {
            m.user_id
            for m in db.session.scalars(
                select(ChapterMembership).where(ChapterMembership.chapter_id == chapter.id)
            )
            if m.is_coordinator and m.is_approved
        }


@pytest.fixture
def proposer(make_user):
    return make_user(full_name="Carmen Ruiz", email="carmen@ejemplo.mx", preferred_language="en")


@pytest.fixture
def ime(make_user):
    return make_user(
        full_name="Elena Ortiz", email="elena@ime.gob.mx", role=Role.IME, preferred_language="en"
    )


@pytest.fixture
def proposal(app, network, proposer) -> Chapter:
    """A proposal waiting for IME, as the form makes it."""
    return _saved(
        app,
        Chapter(
            slug="nueva-york",
            name="Nueva York",
            city="New York",
            country="US",
            timezone="America/New_York",
            region_id=network.madrid.region_id,
            status=ChapterStatus.PROPOSED,
            is_active=False,
            proposed_by_id=proposer.id,
            proposal_note="Twelve of us meet monthly already.",
        ),
    )


@pytest.fixture
def token(app, network):
    return bearer(app, network.member)["Authorization"].removeprefix("Bearer ")


def test_member_proposes_a_chapter_and_follows_its_status(app, network, proposer):
    client = login(app.test_client(), proposer)
    assert "Propose a new chapter" in client.get("/regions").get_data(as_text=True)
    form = {**PROPOSAL, "region": str(network.madrid.region_id)}

    missing = client.post("/chapters/propose", data={**form, "proposal_note": " ", "region": ""})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 200
    assert body.count("This field is required.") == 2  # the reason and the region
    assert 'value="Nueva York"' in body and 'value="New York"' in body, "nothing typed is lost"
    taken = client.post("/chapters/propose", data={**form, "name": "  madrid "})
    assert "A chapter with this name already exists" in taken.get_data(as_text=True)
    bad_zone = client.post("/chapters/propose", data={**form, "timezone": "Mars/Olympus"})
    assert "Not a valid choice" in bad_zone.get_data(as_text=True)

    sent = client.post("/chapters/propose", data=form, follow_redirects=True)
    page = sent.get_data(as_text=True)
    assert "IME will review your proposal of Nueva York" in page
    assert "Waiting for IME's review" in page
    chapter = _chapter(app, "nueva-york")
    assert chapter.status == ChapterStatus.PROPOSED and not chapter.is_active
    assert (
        chapter.proposed_by_id == proposer.id and chapter.proposal_note == PROPOSAL["proposal_note"]
    )
    assert [e.subject_id for e in _audit(app, "chapter.proposed")] == [chapter.id]

    # The same name again is refused while it waits; a name with the same address gets another.
    assert "already exists" in client.post("/chapters/propose", data=form).get_data(as_text=True)
    client.post("/chapters/propose", data={**form, "name": "Nueva York!"})
    assert _chapter(app, "nueva-york-2").name == "Nueva York!"


def test_only_member_accounts_propose(app, network):
    assert app.test_client().get("/chapters/propose").status_code == 302
    for user in (network.org_user, network.ime):
        assert login(app.test_client(), user).get("/chapters/propose").status_code == 403


def test_unconfirmed_member_is_told_to_confirm(app, network, make_user):
    unconfirmed = make_user(email_confirmed_at=None, preferred_language="en")
    client = login(app.test_client(), unconfirmed)
    page = client.post(
        "/chapters/propose", data={**PROPOSAL, "region": str(network.madrid.region_id)}
    )
    assert "Please confirm your e-mail address first." in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Chapter).where(Chapter.slug == "nueva-york")) is None


def test_a_proposal_is_seen_only_by_ime_and_its_proposer(
    app, network, ime, proposer, proposal, token
):
    for user in (None, network.member, network.coordinator, network.org_user):
        client = login(app.test_client(), user)
        assert client.get("/chapters/nueva-york").status_code == 404
        assert "Nueva York" not in client.get("/regions").get_data(as_text=True)
    anonymous = app.test_client()
    assert 'data-figure="chapters">2<' in anonymous.get("/").get_data(as_text=True)
    api = anonymous.get("/api/v1/chapters", headers={"Authorization": f"Bearer {token}"})
    assert [c["slug"] for c in api.get_json()["items"]] == ["madrid", "paris"]
    member = login(app.test_client(), network.member)
    assert member.post("/chapters/nueva-york/join").status_code == 404

    own = login(app.test_client(), proposer)
    page = own.get("/chapters/nueva-york")
    assert page.status_code == 200
    assert "a proposal waiting for IME's review" in page.get_data(as_text=True)
    assert own.post("/chapters/nueva-york/join").status_code == 404, "not joinable yet"

    ime = login(app.test_client(), ime)
    assert ime.get("/chapters/nueva-york").status_code == 200
    queue = ime.get("/admin/chapters/proposals").get_data(as_text=True)
    assert "Nueva York" in queue and "Carmen Ruiz" in queue
    assert "Twelve of us meet monthly already." in queue
    assert "Nueva York" not in ime.get("/admin/").get_data(as_text=True).split("chapters-title")[1]


def test_ime_approves_a_proposal(app, network, ime, proposer, proposal, outbox, token):
    admin = ime
    ime = login(app.test_client(), admin)
    index = ime.get("/admin/").get_data(as_text=True)
    assert '>1<span class="visually-hidden"> waiting</span>' in index

    ime.post(f"/admin/chapters/proposals/{proposal.id}/approve")

    chapter = _chapter(app, "nueva-york")
    assert chapter.status == ChapterStatus.APPROVED and chapter.is_active
    assert chapter.decided_at is not None
    assert _coordinator_ids(app, chapter) == {proposer.id}
    mails = [m for m in outbox() if m.recipient == "carmen@ejemplo.mx"]
    assert len(mails) == 1, "one e-mail: approved, and you coordinate it"
    assert "approved the chapter you proposed, Nueva York" in mails[0].body
    assert "You are its coordinator" in mails[0].body
    [entry] = _audit(app, "chapter.approved")
    assert entry.subject_type == "chapter" and entry.subject_id == chapter.id
    assert entry.actor_id == admin.id

    anonymous = app.test_client()
    assert "Nueva York" in anonymous.get("/regions").get_data(as_text=True)
    assert anonymous.get("/chapters/nueva-york").status_code == 200
    api = anonymous.get("/api/v1/chapters", headers={"Authorization": f"Bearer {token}"})
    assert "nueva-york" in [c["slug"] for c in api.get_json()["items"]]
    assert "No proposal is waiting." in ime.get("/admin/chapters/proposals").get_data(as_text=True)
    # A second click (another tab) finds nothing to decide.
    assert ime.post(f"/admin/chapters/proposals/{proposal.id}/approve").status_code == 404


def test_declining_needs_a_reason_which_is_sent(app, network, ime, proposer, proposal, outbox):
    ime = login(app.test_client(), ime)
    url = f"/admin/chapters/proposals/{proposal.id}/decline"
    page = ime.post(url, data={"reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Give the reason for the member who proposed the chapter." in page
    short = ime.post(url, data={"reason": "no"}, follow_redirects=True).get_data(as_text=True)
    assert "Say why, so that the member understands." in short
    assert _chapter(app, "nueva-york").status == ChapterStatus.PROPOSED
    assert outbox() == []

    reason = "There is already a chapter in New York: join Nueva York Metro instead."
    ime.post(url, data={"reason": reason})
    chapter = _chapter(app, "nueva-york")
    assert chapter.status == ChapterStatus.DECLINED and chapter.decision_reason == reason
    [mail] = outbox()
    assert mail.recipient == "carmen@ejemplo.mx" and reason in mail.body
    [entry] = _audit(app, "chapter.declined")
    assert entry.subject_id == chapter.id and entry.detail == reason

    own = login(app.test_client(), proposer)
    mine = own.get("/chapters/propose").get_data(as_text=True)
    assert "Declined" in mine and reason in mine
    assert login(app.test_client(), network.member).get("/chapters/nueva-york").status_code == 404
    assert _coordinator_ids(app, chapter) == set()


def test_deactivating_hides_a_chapter_and_reactivating_restores_it(app, network, ime, token):
    ime = login(app.test_client(), ime)
    anonymous = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    ime.post("/admin/chapters/madrid/deactivate")
    assert not _chapter(app, "madrid").is_active
    assert "Madrid" not in anonymous.get("/regions").get_data(as_text=True)
    assert 'data-figure="chapters">1<' in anonymous.get("/").get_data(as_text=True)
    items = anonymous.get("/api/v1/chapters", headers=headers).get_json()["items"]
    assert [c["slug"] for c in items] == ["paris"]
    page = anonymous.get("/chapters/madrid", headers=EN).get_data(as_text=True)
    assert "This chapter is not active at the moment." in page
    assert _coordinator_ids(app, network.madrid) == {network.coordinator.id}, "data is kept"
    admin_page = ime.get("/admin/").get_data(as_text=True)
    assert "/admin/chapters/madrid/reactivate" in admin_page
    again = ime.post("/admin/chapters/madrid/deactivate", follow_redirects=True)
    assert "The chapter is already inactive." in again.get_data(as_text=True)

    ime.post("/admin/chapters/madrid/reactivate")
    assert _chapter(app, "madrid").is_active
    assert "Madrid" in anonymous.get("/regions").get_data(as_text=True)
    items = anonymous.get("/api/v1/chapters", headers=headers).get_json()["items"]
    assert [c["slug"] for c in items] == ["madrid", "paris"]
    assert [e.action for e in _audit(app, "chapter.deactivated")] == ["chapter.deactivated"]
    assert [e.subject_id for e in _audit(app, "chapter.reactivated")] == [network.madrid.id]


ADMIN_ROUTES = [
    ("GET", "/admin/chapters/proposals", 200),
    ("POST", "/admin/chapters/proposals/{id}/approve", 302),
    ("POST", "/admin/chapters/proposals/{id}/decline", 302),
    ("POST", "/admin/chapters/madrid/deactivate", 302),
    ("POST", "/admin/chapters/paris/reactivate", 302),
    ("GET", "/admin/ccime", 200),
    ("POST", "/admin/ccime", 200),
    ("POST", "/admin/ccime/{term}/end", 302),
    ("POST", "/admin/ccime/{term}/delete", 302),
]


@pytest.mark.parametrize(("method", "path", "ime_status"), ADMIN_ROUTES)
@pytest.mark.parametrize("role", ["anonymous", "member", "coordinator", "org_user", "ime"])
def test_only_ime_reaches_the_moderation_pages(
    app, network, proposal, make_member, method, path, ime_status, role
):
    member = make_member()
    term = _saved(
        app, CcimeTerm(user_id=member.id, starts_on=date(2020, 1, 1), ends_on=date(2030, 1, 1))
    )
    client = login(app.test_client(), getattr(network, role, None))
    url = path.format(id=proposal.id, term=term.id)
    response = client.open(url, method=method, data={"reason": "Not in this city yet."})
    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    elif role == "ime":
        assert response.status_code == ime_status
    else:
        assert response.status_code == 403


def test_a_member_import_cannot_join_a_proposal(app, network, proposal):
    with app.test_request_context():
        report = import_members("email,full_name,chapters\nrosa@ejemplo.mx,Rosa Vega,nueva-york\n")
        db.session.rollback()
    # A request in the default language, as on the admin page: the report speaks Spanish.
    assert [(p.column, p.message) for p in report.problems] == [
        ("chapters", "capítulo desconocido «nueva-york»")
    ]
