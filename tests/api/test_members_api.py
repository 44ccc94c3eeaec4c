"""Members in the API: visible fields only, filters, and editing one's own profile."""

from __future__ import annotations

import pytest

from network.auth.services import create_api_token
from network.extensions import db


def _headers(app, user) -> dict[str, str]:
    from network.auth.models import User

    with app.test_request_context():
        _token, plain = create_api_token(db.session.get(User, user.id), "t")
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_member_list_and_filters(app, network, make_member, vocabulary):
    make_member({"country": "US", "expertise": "hydrology"}, full_name="Ana Agua")
    make_member({"country": "ES", "expertise": "wind-power"}, full_name="Beto Viento")
    client, headers = app.test_client(), _headers(app, network.member)
    body = client.get("/api/v1/members", headers=headers).get_json()
    assert [m["full_name"] for m in body["items"]] == ["Ana Agua", "Beto Viento"]
    us = client.get("/api/v1/members?country=us&concept=hydrology", headers=headers).get_json()
    assert [m["full_name"] for m in us["items"]] == ["Ana Agua"]
    assert "email" not in us["items"][0], "private by default"
    for bad in ("country=XX", "concept=nada", "page=0"):
        response = client.get(f"/api/v1/members?{bad}", headers=headers)
        assert response.status_code == 400 and response.is_json, bad


def test_unknown_or_invisible_member_is_404(app, network, make_member):
    client, headers = app.test_client(), _headers(app, network.member)
    assert client.get("/api/v1/members/99999", headers=headers).status_code == 404
    org_user_id = network.org_user.id  # not a member: no profile
    assert client.get(f"/api/v1/members/{org_user_id}", headers=headers).status_code == 404


def test_patch_my_profile_validates_like_the_form(app, network, make_member, vocabulary):
    ana = make_member(full_name="Ana Agua")
    client, headers = app.test_client(), _headers(app, ana)
    ok = client.patch(
        "/api/v1/me/profile",
        headers=headers,
        json={
            "headline": "Hidróloga",
            "expertise": ["hydrology", "karst"],
            "languages": "es:native;en:C1",
            "open_to_mentor": True,
            "mentor_capacity": 3,
            "city_visibility": "private",
            "city": "Tucson",
        },
    )
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert body["headline"] == "Hidróloga" and body["city"] == "Tucson", "one sees all of one's own"
    assert [c["slug"] for c in body["expertise"]] == ["hydrology"] and body["free_tags"] == [
        "karst"
    ]
    assert body["mentoring"] == {"open": True, "capacity": 3, "full": False}

    bad = client.patch(
        "/api/v1/me/profile",
        headers=headers,
        json={
            "country": "ZZ",
            "orcid": "1234",
            "days_per_year": 999,
            "headline_visibility": "friends",
        },
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.get_json()["error"]["fields"]}
    assert fields == {"country", "orcid", "days_per_year", "headline_visibility"}
    still = client.get(f"/api/v1/members/{ana.id}", headers=headers).get_json()
    assert still["headline"] == "Hidróloga", "nothing was half-saved"

    assert (
        client.patch("/api/v1/me/profile", headers=headers, json={"shoe_size": 9}).status_code
        == 400
    )
    assert client.patch("/api/v1/me/profile", headers=headers, data="not json").status_code == 400
    other = app.test_client().get(
        f"/api/v1/members/{ana.id}", headers=_headers(app, network.member)
    )
    assert "city" not in other.get_json(), "hidden from others"


def test_organisation_users_cannot_patch_a_profile(app, network):
    response = app.test_client().patch(
        "/api/v1/me/profile", headers=_headers(app, network.org_user), json={"headline": "x"}
    )
    assert response.status_code == 403 and response.is_json


def test_openapi_describes_member_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/members/{member_id}" in spec["paths"]
    assert "requestBody" in spec["paths"]["/api/v1/me/profile"]["patch"]
    member = spec["components"]["schemas"]["MemberOut"]
    assert set(member["required"]) == {"id", "full_name", "confirmed_at"}


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"full_name": 5}, 400, "'full_name' must be a string"),
        ({"full_name": None}, 400, "'full_name' must be a string"),
        ({"open_to_mentor": "yes"}, 400, "'open_to_mentor' must be true or false"),
        ({"open_to_requests": None}, 400, "'open_to_requests' must be true or false"),
        ({"days_per_year": "30"}, 400, "'days_per_year' must be a whole number or null"),
        ({"expertise": {"slug": "hydrology"}}, 400, "'expertise' must be a string or a list"),
        ({"city_visibility": ""}, 422, "city_visibility: Choose one of: public"),
        ({"city_visibility": "friends"}, 422, "city_visibility"),
    ],
)
def test_profile_fields_have_the_json_types_the_document_states(
    app, network, make_member, body, status, fragment
):
    """Schemathesis sent values of other types (a number for the name, null for a yes-or-no,
    "" for a visibility) and the profile took them or refused them unlike the document said."""
    ana = make_member(full_name="Ana Agua")
    headers = {**_headers(app, ana), "Accept-Language": "en"}
    response = app.test_client().patch("/api/v1/me/profile", headers=headers, json=body)
    assert response.status_code == status and response.is_json
    assert fragment in response.get_json()["error"]["message"]


def test_profile_lists_may_be_arrays_and_null_leaves_a_visibility_alone(
    app, network, make_member, vocabulary
):
    ana = make_member({"city": "Tucson", "city_visibility": "private"}, full_name="Ana Agua")
    response = app.test_client().patch(
        "/api/v1/me/profile",
        headers=_headers(app, ana),
        json={"languages": ["es:native", "en:C1"], "modes": ["mentoring"], "city_visibility": None},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [language["code"] for language in body["languages"]] == ["es", "en"]
    assert [mode["mode"] for mode in body["modes"]] == ["mentoring"]
    other = app.test_client().get(
        f"/api/v1/members/{ana.id}", headers=_headers(app, network.member)
    )
    assert "city" not in other.get_json(), "still private"
