"""CCIME representatives: IME marks members with their term; the chapter page and the member's
profile show it while it lasts, with the name only where the viewer may see it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from chapters.models import CcimeTerm
from network.audit import AuditEntry
from network.auth.models import User
from network.db import utcnow
from network.extensions import db
from network.security import Role
from tests.conftest import _saved, login

EN = {"Accept-Language": "en"}


@pytest.fixture
def ime(make_user):
    return make_user(
        full_name="Elena Ortiz", email="elena@ime.gob.mx", role=Role.IME, preferred_language="en"
    )


@pytest.fixture
def representative(make_member):
    return make_member(
        {"name_public": "yes"},
        full_name="Rosa Medina",
        email="rosa@ejemplo.mx",
        preferred_language="en",
    )


def _terms(app) -> list[CcimeTerm]:
    with app.app_context():
        terms = list(db.session.scalars(select(CcimeTerm).order_by(CcimeTerm.id)))
        for term in terms:
            db.session.expunge(term)
        return terms


def _actions(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        return [
            (e.action, e.subject_type, e.subject_id)
            for e in db.session.scalars(
                select(AuditEntry).where(AuditEntry.action.startswith("ccime."))
            )
        ]


def _term(app, user, chapter=None, *, starts_on, ends_on) -> CcimeTerm:
    return _saved(
        app,
        CcimeTerm(
            user_id=user.id,
            chapter_id=chapter.id if chapter else None,
            starts_on=starts_on,
            ends_on=ends_on,
        ),
    )


def test_ime_adds_a_term_shown_on_the_chapter_page_and_profile(app, network, ime, representative):
    today = utcnow().date()
    start, end = today - timedelta(days=365), today + timedelta(days=800)
    admin = login(app.test_client(), ime)
    response = admin.post(
        "/admin/ccime",
        data={
            "email": "rosa@ejemplo.mx",
            "chapter": "madrid",
            "starts_on": start.isoformat(),
            "ends_on": end.isoformat(),
        },
    )
    assert response.status_code == 302
    [term] = _terms(app)
    assert (term.user_id, term.chapter_id, term.starts_on, term.ends_on) == (
        representative.id,
        network.madrid.id,
        start,
        end,
    )
    assert _actions(app) == [("ccime.term_added", "user", representative.id)]

    label = f"Representative to the CCIME, {start.year}\u2013{end.year}"  # en dash
    chapter_page = app.test_client().get("/chapters/madrid", headers=EN).get_data(as_text=True)
    assert "Rosa Medina" in chapter_page and label in chapter_page
    profile = app.test_client().get(f"/members/{representative.id}", headers=EN)
    assert label in profile.get_data(as_text=True)
    assert label not in app.test_client().get("/chapters/paris", headers=EN).get_data(as_text=True)
    listing = admin.get("/admin/ccime").get_data(as_text=True)
    assert "Rosa Medina" in listing and "Current and upcoming terms" in listing


def test_a_term_that_ended_is_not_shown(app, network, representative):
    today = utcnow().date()
    _term(
        app,
        representative,
        network.madrid,
        starts_on=date(2019, 1, 1),
        ends_on=today - timedelta(days=1),
    )
    _term(
        app,
        representative,
        network.madrid,
        starts_on=today + timedelta(days=1),
        ends_on=today + timedelta(days=900),
    )
    chapter_page = app.test_client().get("/chapters/madrid", headers=EN).get_data(as_text=True)
    assert "Representative to the CCIME" not in chapter_page
    profile = app.test_client().get(f"/members/{representative.id}", headers=EN)
    assert "Representative to the CCIME" not in profile.get_data(as_text=True)


def test_a_suspended_representative_leaves_the_chapter_page(app, network, representative):
    today = utcnow().date()
    _term(
        app,
        representative,
        network.madrid,
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=900),
    )
    assert "Rosa Medina" in app.test_client().get("/chapters/madrid", headers=EN).text
    with app.app_context():
        db.session.get(User, representative.id).suspended_at = utcnow()
        db.session.commit()
    assert "Rosa Medina" not in app.test_client().get("/chapters/madrid", headers=EN).text


def test_a_hidden_name_is_not_shown_on_the_chapter_page(app, network, make_member):
    hidden = make_member(full_name="Tomás Quiroga", preferred_language="en")  # name not public
    _term(app, hidden, network.madrid, starts_on=date(2020, 1, 1), ends_on=date(2099, 1, 1))
    anonymous = app.test_client().get("/chapters/madrid", headers=EN).get_data(as_text=True)
    assert "Tomás Quiroga" not in anonymous
    assert f"/members/{hidden.id}" not in anonymous
    assert "Sign in to see every representative's name." in anonymous
    signed_in = login(app.test_client(), network.member).get("/chapters/madrid")
    assert "Tomás Quiroga" in signed_in.get_data(as_text=True)


def test_bad_terms_are_refused_and_explained(app, network, ime, representative, make_user):
    admin = login(app.test_client(), ime)
    form = {
        "email": "rosa@ejemplo.mx",
        "chapter": "",
        "starts_on": "2025-06-01",
        "ends_on": "2025-05-31",
    }
    page = admin.post("/admin/ccime", data=form).get_data(as_text=True)
    assert "The end of the term must be after its start." in page
    assert 'value="rosa@ejemplo.mx"' in page and 'value="2025-06-01"' in page, "nothing is lost"

    unknown = admin.post(
        "/admin/ccime", data={**form, "email": "nadie@ejemplo.mx", "ends_on": "2028-06-01"}
    )
    assert "No account uses this e-mail address." in unknown.get_data(as_text=True)
    make_user(email="sinperfil@ejemplo.mx")
    no_profile = admin.post(
        "/admin/ccime", data={**form, "email": "sinperfil@ejemplo.mx", "ends_on": "2028-06-01"}
    )
    assert "This person has no member profile." in no_profile.get_data(as_text=True)
    not_a_date = admin.post("/admin/ccime", data={**form, "starts_on": "someday"})
    assert not_a_date.status_code == 200 and "is-invalid" in not_a_date.get_data(as_text=True)

    admin.post("/admin/ccime", data={**form, "ends_on": "2028-06-01"})
    overlap = admin.post(
        "/admin/ccime", data={**form, "starts_on": "2027-01-01", "ends_on": "2030-01-01"}
    )
    assert "already has a term that overlaps" in overlap.get_data(as_text=True)
    assert len(_terms(app)) == 1


def test_ime_ends_a_term_early_or_deletes_a_mistaken_one(app, network, ime, representative):
    today = utcnow().date()
    current = _term(
        app,
        representative,
        network.madrid,
        starts_on=date(2020, 1, 1),
        ends_on=today + timedelta(days=400),
    )
    admin = login(app.test_client(), ime)
    admin.post(f"/admin/ccime/{current.id}/end")
    [term] = _terms(app)
    assert term.ends_on == today
    again = admin.post(f"/admin/ccime/{current.id}/end", follow_redirects=True)
    assert "This term already ends today." in again.get_data(as_text=True)

    admin.post(f"/admin/ccime/{current.id}/delete")
    assert _terms(app) == []
    assert [action for action, _, _ in _actions(app)] == ["ccime.term_ended", "ccime.term_deleted"]
    profile = app.test_client().get(f"/members/{representative.id}", headers=EN)
    assert "Representative to the CCIME" not in profile.get_data(as_text=True)
