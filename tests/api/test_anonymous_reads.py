"""Public data without a token: the API's reads answer an anonymous caller with what the public
pages show an anonymous visitor (the same visibility rule), and nothing more; writes and private
reads still want a token, and a bad token is refused rather than taken for anonymity."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from chapters.models import Node
from network.visibility import PROFILE_FIELDS, Tier
from tests.conftest import _saved, bearer
from tests.members.test_privacy import CANARY_PROFILE

# Each field's API key, and a text that shows it both on the profile page and in the API's JSON.
PROBES = {
    "email": "canary.member@ejemplo.mx",
    "phone": "+52 55 9911 2233",
    "headline": "Canaryheadline",
    "bio": "Canarybio",
    "city": "Canarycity",
    "timezone": "Atlantic/Reykjavik",
    "position": "Canaryposition",
    "links": "canary-site.example.org",
    "expertise": "canarytagxyz",
    "chapters": "Canarychapter",
}


@pytest.fixture
def canary(app, make_member, make_chapter, add_membership, vocabulary):
    """A member who filled every field, shown at the tier a test chooses (`canary(tier)`)."""
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

    def make(tier: Tier, *, name_public: bool = True):
        visibility = {f"{field}_visibility": str(tier) for field in PROFILE_FIELDS}
        subject = make_member(
            {**CANARY_PROFILE, **visibility, "name_public": name_public},
            email="canary.member@ejemplo.mx",
            full_name="Canario Público",
        )
        add_membership(subject, home)
        return subject

    return make


@pytest.mark.parametrize("tier", list(Tier))
def test_an_anonymous_caller_gets_the_public_fields_and_no_others(app, canary, tier):
    """A field shown to members, organisations, coordinators, IME or only oneself never reaches
    an anonymous caller, in the detail or the list; a public one does, as on the public page."""
    subject = canary(tier)
    client = app.test_client()
    detail = client.get(f"/api/v1/members/{subject.id}")
    listed = client.get("/api/v1/members")
    page = client.get(f"/members/{subject.id}", headers={"Accept-Language": "en"})
    assert detail.status_code == listed.status_code == page.status_code == 200
    [item] = listed.get_json()["items"]
    assert item == detail.get_json(), "the list shows what the detail shows"
    shown = tier == Tier.PUBLIC
    for key in PROFILE_FIELDS:
        assert (key in item) is shown, f"{key} at {tier}"
    for key, probe in PROBES.items():
        assert (probe in detail.get_data(as_text=True)) is shown, f"{key} at {tier}"
        assert (probe in listed.get_data(as_text=True)) is shown, f"{key} at {tier}"
        assert (probe in page.get_data(as_text=True)) is shown, f"the page agrees: {key}"
    by_country = client.get("/api/v1/members?country=IS").get_json()
    assert (by_country["total"] == 1) is shown, "no filtering through a hidden field"
    by_concept = client.get("/api/v1/members?concept=hydrology").get_json()
    assert (by_concept["total"] == 1) is shown


def test_a_profile_whose_name_is_not_public_is_404_without_a_token(app, network, canary):
    subject = canary(Tier.PUBLIC, name_public=False)
    client = app.test_client()
    assert client.get(f"/members/{subject.id}").status_code == 404, "as the page"
    response = client.get(f"/api/v1/members/{subject.id}")
    assert response.status_code == 404 and response.is_json
    assert "Canario" not in response.get_data(as_text=True)
    assert client.get("/api/v1/members").get_json()["total"] == 0
    member = bearer(app, network.member)
    assert client.get(f"/api/v1/members/{subject.id}", headers=member).status_code == 200
    assert client.get("/api/v1/members", headers=member).get_json()["total"] == 1


def test_chapters_without_a_token_are_the_public_list(app, network):
    client = app.test_client()
    anonymous = client.get("/api/v1/chapters")
    assert anonymous.status_code == 200
    assert (
        anonymous.get_json()
        == client.get("/api/v1/chapters", headers=bearer(app, network.member)).get_json()
    )
    assert [c["slug"] for c in anonymous.get_json()["items"]] == ["madrid", "paris"]
    assert client.get("/api/v1/chapters?region=atlantis").status_code == 400


@pytest.mark.parametrize(
    "path", ["/api/v1/chapters", "/api/v1/members", "/api/v1/members/{member}", "/api/v1/events"]
)
@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_a_bad_token_is_refused_not_taken_for_anonymity(app, network, path, header):
    url = path.replace("{member}", str(network.member.id))
    response = app.test_client().get(url, headers={"Authorization": header})
    assert response.status_code == 401 and response.is_json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/me"),
        ("PATCH", "/api/v1/me/profile"),
        ("GET", "/api/v1/dashboard/growth"),
        ("POST", "/api/v1/events"),
        ("GET", "/api/v1/needs/1/candidates"),
        ("POST", "/api/v1/needs"),
        ("GET", "/api/v1/contact-requests/1"),
    ],
)
def test_writes_and_private_reads_still_want_a_token(app, network, method, path):
    response = app.test_client().open(path, method=method, json={})
    assert response.status_code == 401 and response.is_json, path


PUBLIC_READS = {"chapters", "members", "member", "events", "event", "needs", "need", "stats"}


def test_the_document_marks_public_reads_as_needing_no_token(app, network):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    validate(spec)
    optional = set()
    for methods in spec["paths"].values():
        for method, entry in methods.items():
            if entry.get("security") == [{}, {"bearerAuth": []}]:
                assert method == "get", entry["operationId"]
                optional.add(entry["operationId"])
            else:
                assert entry.get("security") in (None, []), entry["operationId"]
    assert PUBLIC_READS | {"search_endpoint"} == optional
    assert spec["security"] == [{"bearerAuth": []}], "everything else wants a token"
