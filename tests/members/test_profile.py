"""Editing a profile, previews, freshness, presets, own data and account deletion."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from network.auth.models import User
from network.db import utcnow
from network.extensions import db
from network.members.models import Profile
from network.signals import member_deleted
from network.visibility import Tier
from tests.conftest import PASSWORD, login

FORM = {
    "full_name": "Ana López Núñez",
    "headline": "Hidróloga, Universidad de Arizona",
    "bio": "Trabajo con **acuíferos**.",
    "country": "US",
    "city": "Tucson",
    "timezone": "",
    "state_of_origin": "",
    "languages": "es:native; en:C1",
    "position": "Investigadora",
    "employer": "University of Arizona",
    "expertise": "hydrology; Tratamiento de agua; gestión de sequías",
    "modes": ["remote_advice", "mentoring"],
    "days_per_year": "15",
    "open_to_mentor": "y",
    "mentor_capacity": "2",
    "phone": "",
    "website": "ana.example.org",
    "linkedin": "",
    "orcid": "0000-0002-1825-0097",
    "education-0-degree": "PhD",
    "education-0-field": "Hidrología",
    "education-0-institution": "University of Arizona",
    "education-0-year": "2015",
    **{
        f"{f}_visibility": "members"
        for f in (
            "email",
            "phone",
            "headline",
            "bio",
            "country",
            "city",
            "state_of_origin",
            "timezone",
            "languages",
            "position",
            "education",
            "links",
            "expertise",
            "modes",
            "days_per_year",
            "mentoring",
            "open_to_requests",
            "chapters",
        )
    },
    "email_visibility": "private",
    "city_visibility": "private",
}


def test_member_fills_the_profile_and_sees_it(app, make_user, vocabulary):
    user = make_user()
    client = login(app.test_client(), user)
    assert client.get("/members/me/edit").status_code == 200
    response = client.post("/members/me/edit", data=FORM)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(f"/members/{user.id}").get_data(as_text=True)
    assert "Hidróloga, Universidad de Arizona" in page
    assert "<strong>acuíferos</strong>" in page
    assert "Hidrología" in page and "Tratamiento de agua" in page, "labels in the viewer's language"
    assert "gestión de sequías" in page, "free tags are kept and shown"
    assert "Estados Unidos" in page and "Tucson" in page
    with app.app_context():
        profile = db.session.scalar(select(Profile).where(Profile.user_id == user.id))
        assert profile.timezone == "America/New_York", "time zone defaults from the country"
        assert profile.orcid == "0000-0002-1825-0097"
        assert profile.website == "https://ana.example.org"
        assert profile.city_visibility == Tier.PRIVATE
        assert [lang.code for lang in profile.languages] == ["es", "en"]
        assert profile.mode_names == ["remote_advice", "mentoring"]
    english = client.get(f"/members/{user.id}", headers={"Accept-Language": "en"})
    assert "Hydrology" not in english.get_data(as_text=True), "the member's own setting is Spanish"


def test_bad_values_are_refused_with_clear_messages(app, make_user, vocabulary):
    client = login(app.test_client(), make_user())
    bad = {
        **FORM,
        "orcid": "0000-0002-1825-0098",
        "linkedin": "https://evil.example/in/x",
        "languages": "xx:C1",
        "website": "javascript:alert(1)",
        "days_per_year": "400",
        "education-0-year": "1800",
    }
    response = client.post("/members/me/edit", data=bad)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    for message in ("ORCID", "LinkedIn", "xx", "https://example.org"):
        assert message in body, message
    assert body.count("is-invalid") >= 5


def test_bio_markdown_cannot_inject_script(app, make_member):
    user = make_member(
        {
            "bio": "<script>alert(1)</script> [x](javascript:alert(1))",
            "bio_visibility": "public",
            "name_public": True,
        }
    )
    page = app.test_client().get(f"/members/{user.id}").get_data(as_text=True)
    bio = page.split('class="user-text">')[1].split("</div>")[0]
    assert "<script" not in bio and 'href="javascript:' not in bio


def test_previews_show_what_each_audience_sees(app, make_member):
    user = make_member(
        {
            "city": "Tucson",
            "city_visibility": "organisations",
            "headline": "Hidróloga",
            "headline_visibility": "public",
            "phone": "+52 55 1234 5678",
            "phone_visibility": "coordinators",
            "name_public": True,
        }
    )
    client = login(app.test_client(), user)
    as_public = client.get(f"/members/{user.id}?as=public").get_data(as_text=True)
    assert "Hidróloga" in as_public and "Tucson" not in as_public and "5678" not in as_public
    as_org = client.get(f"/members/{user.id}?as=organisation").get_data(as_text=True)
    assert "Tucson" in as_org and "5678" not in as_org
    as_coordinator = client.get(f"/members/{user.id}?as=coordinator").get_data(as_text=True)
    assert "5678" in as_coordinator and "Tucson" not in as_coordinator
    # Someone else cannot use the preview to see more.
    other = login(app.test_client(), make_member())
    assert "Tucson" not in other.get(f"/members/{user.id}?as=organisation").get_data(as_text=True)


def test_freshness_and_one_click_confirmation(app, make_member):
    user = make_member()
    with app.app_context():
        profile = db.session.get(User, user.id).profile
        profile.confirmed_at = utcnow() - timedelta(days=400)
        db.session.commit()
    client = login(app.test_client(), user)
    page = client.get(f"/members/{user.id}").get_data(as_text=True)
    old_year = (utcnow() - timedelta(days=400)).year
    assert str(old_year) in page.split('data-testid="freshness">')[1].split("<")[0]
    client.post("/members/me/confirm")
    with app.app_context():
        confirmed = db.session.get(User, user.id).profile.confirmed_at
        assert utcnow() - confirmed < timedelta(minutes=1)


def test_nudge_stale_reminds_at_most_monthly(app, make_member, runner, outbox):
    stale, fresh = make_member(email="vieja@ejemplo.mx"), make_member(email="nueva@ejemplo.mx")
    with app.app_context():
        db.session.get(User, stale.id).profile.confirmed_at = utcnow() - timedelta(days=400)
        db.session.get(User, fresh.id).profile.confirmed_at = utcnow() - timedelta(days=40)
        db.session.commit()
    assert "queued 1" in runner.invoke(args=["members", "nudge-stale"]).output
    assert [m.recipient for m in outbox()] == ["vieja@ejemplo.mx"]
    assert "Hola" in outbox()[0].body and "/members/me" in outbox()[0].body
    assert "queued 0" in runner.invoke(args=["members", "nudge-stale"]).output
    # With a one-month threshold only the second member is due: the first was nudged just now.
    assert "queued 1" in runner.invoke(args=["members", "nudge-stale", "--months", "1"]).output
    assert [m.recipient for m in outbox()] == ["vieja@ejemplo.mx", "nueva@ejemplo.mx"]


def test_presets_make_the_profile_public_or_network_only(app, make_member):
    user = make_member({"city": "Tucson", "phone": "+52 55 1234 5678"})
    client = login(app.test_client(), user)
    client.post("/members/me/visibility", data={"preset": "public"})
    anonymous = app.test_client().get(f"/members/{user.id}").get_data(as_text=True)
    assert "Tucson" in anonymous and "5678" not in anonymous, "contact details stay private"
    client.post("/members/me/visibility", data={"preset": "members"})
    assert app.test_client().get(f"/members/{user.id}").status_code == 404


def test_download_my_data_has_everything_including_private_fields(
    app, make_member, network, add_membership
):
    user = make_member({"phone": "+52 55 1234 5678", "city": "Tucson"}, email="yo@ejemplo.mx")
    add_membership(user, network.madrid)
    response = login(app.test_client(), user).get("/members/me/data.json")
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "yo@ejemplo.mx"
    assert data["profile"]["phone"] == "+52 55 1234 5678"
    assert data["visibility"]["phone"] == "private"
    assert data["chapter_memberships"][0]["chapter"] == "madrid"
    assert "password_hash" not in response.get_data(as_text=True)


def test_delete_account_needs_the_password(app, make_member, outbox):
    """The other domains hear of it once, with the right password, while the account's rows
    still exist (their receivers settle seats and mentorships that depend on them)."""
    user = make_member(email="borrar@ejemplo.mx")
    heard: list[tuple[int, bool]] = []

    def deleted(sender):
        heard.append((sender.id, db.session.get(Profile, sender.profile.id) is not None))

    client = login(app.test_client(), user)
    with member_deleted.connected_to(deleted):
        wrong = client.post("/members/me/delete", data={"password": "no es", "confirm": "y"})
        assert wrong.status_code == 422
        unticked = client.post("/members/me/delete", data={"password": PASSWORD})
        assert unticked.status_code == 422
        assert heard == []
        done = client.post("/members/me/delete", data={"password": PASSWORD, "confirm": "y"})
        assert done.status_code == 302
    assert heard == [(user.id, True)]
    with app.app_context():
        assert db.session.get(User, user.id) is None
        assert db.session.scalar(select(Profile).where(Profile.user_id == user.id)) is None
    assert client.get("/account").status_code == 302, "signed out"
    assert all(m.recipient != "borrar@ejemplo.mx" for m in outbox())


def test_organisation_accounts_have_no_profile_to_edit(app, network):
    client = login(app.test_client(), network.org_user)
    assert client.get("/members/me/edit").status_code == 403
