"""The privacy matrix: every field, at every tier, seen by every kind of viewer, in the profile
page, the directory, the API and the export. A canary in each field must appear exactly where the
tier allows, and nowhere else."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from chapters.models import Chapter, ChapterMembership, ChapterRole, Node
from network.auth.models import User
from network.auth.services import create_api_token
from network.extensions import db
from network.organisations.models import Organisation, OrganisationKind
from network.security import Role
from network.visibility import PROFILE_FIELDS, Tier
from tests.conftest import _saved, login

VIEWERS = (
    "anonymous",
    "member",
    "own_coordinator",
    "other_coordinator",
    "verified_org",
    "unverified_org",
    "ime",
)
ALLOWED = {
    Tier.PUBLIC: set(VIEWERS),
    Tier.MEMBERS: set(VIEWERS) - {"anonymous"},
    Tier.ORGANISATIONS: {"verified_org", "ime"},
    Tier.COORDINATORS: {"own_coordinator", "ime"},
    Tier.IME: {"ime"},
    Tier.PRIVATE: set(),
}

CANARY_PROFILE = {
    "phone": "+52 55 9911 2233",
    "headline": "Canaryheadline hydrologist",
    "bio": "Canarybio about aquifers.",
    "country": "IS",
    "city": "Canarycity",
    "state_of_origin": "MX-ZAC",
    "timezone": "Atlantic/Reykjavik",
    "languages": "is:B1",
    "position": "Canaryposition",
    "employer": "Canaryemployer",
    "education": [
        {"degree": "PhD", "field": "Hydrology", "institution": "Canaryinstitute", "year": 2011}
    ],
    "website": "https://canary-site.example.org",
    "expertise": "hydrology; canarytagxyz",
    "modes": "investment",
    "days_per_year": 237,
    "open_to_mentor": True,
    "mentor_capacity": 7,
    "open_to_requests": True,
    "name_public": True,
}

# What shows each field on the (English) profile page, and the API key that carries it.
PAGE_PROBE = {
    "email": "canary.member@ejemplo.mx",
    "phone": "+52 55 9911 2233",
    "headline": "Canaryheadline",
    "bio": "Canarybio",
    "country": "Iceland",
    "city": "Canarycity",
    "state_of_origin": "Zacatecas",
    "timezone": "Atlantic/Reykjavik",
    "languages": "Icelandic",
    "position": "Canaryposition",
    "education": "Canaryinstitute",
    "links": "canary-site.example.org",
    "expertise": "canarytagxyz",
    "modes": "Investment and business links",
    "days_per_year": "Availability (days per year)",
    "mentoring": "up to 7 mentees",
    "open_to_requests": "Open to requests from verified organisations",
    "chapters": "Canarychapter",
}
API_KEY = {name: name for name in PROFILE_FIELDS}
EXPORT_COLUMN = {
    "email": "email",
    "phone": "phone",
    "headline": "headline",
    "bio": "bio",
    "country": "country",
    "city": "city",
    "state_of_origin": "state_of_origin",
    "timezone": "timezone",
    "languages": "languages",
    "expertise": "expertise",
    "modes": "modes",
    "days_per_year": "days_per_year",
    "mentoring": "open_to_mentor",
    "open_to_requests": "open_to_requests",
    "chapters": "chapters",
}


@pytest.fixture
def cast(app, make_user, make_member, make_chapter, vocabulary, add_membership):
    """The member under test (every field filled with a canary) and one account per viewer."""
    _saved(
        app,
        Node(
            code="MX-ZAC",
            inegi_code="32",
            name="Zacatecas",
            capital="Zacatecas",
            timezone="America/Mexico_City",
        ),
    )
    home = make_chapter(slug="canary-chapter", name="Canarychapter")
    other = make_chapter(slug="other", name="Other chapter")
    subject = make_member(
        dict(CANARY_PROFILE), email="canary.member@ejemplo.mx", full_name="Canario Público"
    )
    add_membership(subject, home)
    verified = _saved(
        app,
        Organisation(
            slug="v", name="V", kind=OrganisationKind.MINISTRY, verified_at=subject.created_at
        ),
    )
    unverified = _saved(app, Organisation(slug="u", name="U", kind=OrganisationKind.NGO))
    people = {
        "member": make_user(preferred_language="en"),
        "own_coordinator": make_user(preferred_language="en"),
        "other_coordinator": make_user(preferred_language="en"),
        "verified_org": make_user(
            preferred_language="en", role=Role.ORGANISATION, organisation_id=verified.id
        ),
        "unverified_org": make_user(
            preferred_language="en", role=Role.ORGANISATION, organisation_id=unverified.id
        ),
        "ime": make_user(preferred_language="en", role=Role.IME),
    }
    add_membership(people["own_coordinator"], home, role=ChapterRole.COORDINATOR)
    add_membership(people["other_coordinator"], other, role=ChapterRole.COORDINATOR)
    return subject, people


def _set_all_tiers(app, subject: User, tier: Tier) -> None:
    with app.app_context():
        profile = db.session.get(User, subject.id).profile
        for name in PROFILE_FIELDS:
            profile.set_visibility(name, tier)
        db.session.commit()


def _client(app, people, viewer):
    client = app.test_client()
    if viewer == "anonymous":
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client
    return login(client, people[viewer])


def _token(app, user: User) -> str:
    with app.test_request_context():
        _token, plain = create_api_token(db.session.get(User, user.id), "privacy")
        db.session.commit()
    return plain


@pytest.mark.parametrize("tier", list(Tier))
@pytest.mark.parametrize("viewer", VIEWERS)
def test_privacy_matrix(app, cast, tier, viewer):
    subject, people = cast
    _set_all_tiers(app, subject, tier)
    allowed = viewer in ALLOWED[tier]
    client = _client(app, people, viewer)

    page = client.get(f"/members/{subject.id}").get_data(as_text=True)
    assert "Canario Público" in page
    for field, probe in PAGE_PROBE.items():
        assert (probe in page) is allowed, f"profile page, {field} at {tier} for {viewer}"

    directory = client.get("/members").get_data(as_text=True)
    assert "Canario Público" in directory
    for field in ("headline", "city", "expertise"):
        assert (PAGE_PROBE[field] in directory) is allowed, f"directory, {field}"
    for field in ("email", "phone", "bio", "position", "education", "links", "timezone"):
        assert PAGE_PROBE[field] not in directory, f"directory never shows {field}"
    # Filtering by a field the viewer may not see must not single the member out.
    for query in (
        "country=IS",
        "concept=hydrology",
        "state=MX-ZAC",
        "language=is",
        "mode=investment",
        "mentoring=y",
        "chapter=canary-chapter",
    ):
        filtered = client.get(f"/members?{query}").get_data(as_text=True)
        assert ("Canario Público" in filtered) is allowed, f"directory filter {query}"

    if viewer != "anonymous":
        token = _token(app, people[viewer])
        headers = {"Authorization": f"Bearer {token}"}
        body = app.test_client().get(f"/api/v1/members/{subject.id}", headers=headers).get_json()
        for field in PROFILE_FIELDS:
            assert (API_KEY[field] in body) is allowed, f"API, {field} at {tier} for {viewer}"
        raw = app.test_client().get(f"/api/v1/members/{subject.id}", headers=headers)
        for field, probe in PAGE_PROBE.items():
            if field not in {
                "days_per_year",
                "open_to_requests",
                "mentoring",
                "modes",
                "country",
                "languages",
            }:
                assert (probe in raw.get_data(as_text=True)) is allowed, f"API text, {field}"
        listed = app.test_client().get("/api/v1/members?country=IS", headers=headers).get_json()
        assert (listed["total"] == 1) is allowed, "API filter by a hidden country"

    export = client.get("/admin/members/export.csv")
    if viewer != "ime":
        assert export.status_code in {302, 403}
        return
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    [row] = [r for r in rows if r["full_name"] == "Canario Público"]
    for field, column in EXPORT_COLUMN.items():
        assert bool(row[column]) is allowed, f"export, {field} at {tier}"
    text = export.get_data(as_text=True)
    for field in ("email", "phone", "headline", "bio", "city", "expertise"):
        assert (PAGE_PROBE[field] in text) is allowed, f"export text, {field} at {tier}"


def test_the_name_is_public_only_when_the_member_chooses(app, cast):
    subject, people = cast
    with app.app_context():
        db.session.get(User, subject.id).profile.name_public = False
        db.session.commit()
    anonymous = app.test_client()
    assert anonymous.get(f"/members/{subject.id}").status_code == 404
    assert "Canario Público" not in anonymous.get("/members").get_data(as_text=True)
    member = login(app.test_client(), people["member"])
    assert "Canario Público" in member.get(f"/members/{subject.id}").get_data(as_text=True)


def test_deleted_members_disappear_everywhere_at_once(app, cast):
    subject, people = cast
    client = login(app.test_client(), subject)
    client.post(
        "/members/me/delete", data={"password": "una contraseña larga 2026", "confirm": "y"}
    )
    ime = login(app.test_client(), people["ime"])
    assert ime.get(f"/members/{subject.id}").status_code == 404
    assert "Canario" not in ime.get("/members").get_data(as_text=True)
    assert "canary" not in ime.get("/admin/members/export.csv").get_data(as_text=True).lower()
    with app.app_context():
        assert (
            db.session.scalar(select(User).where(User.email == "canary.member@ejemplo.mx")) is None
        )
        assert (
            db.session.scalar(
                select(ChapterMembership.id).where(ChapterMembership.user_id == subject.id)
            )
            is None
        )
        # The chapter itself stays.
        assert (
            db.session.scalar(select(Chapter).where(Chapter.slug == "canary-chapter")) is not None
        )
