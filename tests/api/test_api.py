"""The JSON API: bearer tokens, JSON errors, the chapter list and the generated OpenAPI document."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.conftest import login


@pytest.fixture
def token(app, network, client):
    login(client, network.member)
    page = client.post("/account/tokens", data={"token-name": "tests"}).get_data(as_text=True)
    client.post("/logout")
    return page.split('data-testid="new-token">')[1].split("<")[0]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_me_describes_the_token_owner(app, network, add_membership, token):
    add_membership(network.member, network.madrid)
    body = app.test_client().get("/api/v1/me", headers=_auth(token)).get_json()
    assert body["email"] == "ana@ejemplo.mx"
    assert body["full_name"] == "Ana López Núñez"
    assert body["role"] == "member"
    assert body["organisation"] is None
    assert body["chapters"] == [{"slug": "madrid", "name": "Madrid", "role": "member"}]
    assert "password_hash" not in body and "auth_stamp" not in body


def test_api_never_sets_a_session_cookie(app, token):
    response = app.test_client().get("/api/v1/me", headers=_auth(token))
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]


def test_chapters_list_with_counts_filter_and_pages(app, network, add_membership, make_user, token):
    add_membership(network.member, network.madrid)
    add_membership(make_user(), network.madrid)
    client = app.test_client()
    body = client.get("/api/v1/chapters", headers=_auth(token)).get_json()
    assert body["total"] == 2
    madrid = next(c for c in body["items"] if c["slug"] == "madrid")
    assert madrid == {
        "slug": "madrid",
        "name": "Madrid",
        "country": "ES",
        "city": "Madrid",
        "region": "europe",
        "timezone": "Europe/Madrid",
        "member_count": 3,
    }
    page = client.get("/api/v1/chapters?per_page=1&page=2", headers=_auth(token)).get_json()
    assert [c["slug"] for c in page["items"]] == ["paris"] and page["pages"] == 2
    assert (
        client.get("/api/v1/chapters?region=europe", headers=_auth(token)).get_json()["total"] == 2
    )


@pytest.mark.parametrize(
    "query, fragment",
    [("per_page=abc", "whole number"), ("per_page=500", "between 1 and 100"),
     ("page=0", "between"), ("region=atlantis", "Unknown region")],
)  # fmt: skip
def test_malformed_requests_get_a_json_400(app, token, query, fragment):
    response = app.test_client().get(f"/api/v1/chapters?{query}", headers=_auth(token))
    assert response.status_code == 400
    assert response.is_json
    assert fragment in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YTpi"}]
)
def test_missing_or_bad_tokens_get_a_json_401(client, network, headers):
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"]["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_is_not_enough(client, network):
    login(client, network.member)
    assert client.get("/api/v1/me").status_code == 401


def test_unknown_api_paths_and_methods_answer_json(client, token):
    missing = client.get("/api/v1/nothing-here", headers=_auth(token))
    assert missing.status_code == 404 and missing.is_json
    wrong_method = client.post("/api/v1/chapters", headers=_auth(token))
    assert wrong_method.status_code == 405 and wrong_method.is_json


def test_openapi_document_is_valid_and_generated_from_the_routes(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    api_routes = {
        re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert set(spec["paths"]) == api_routes
    me = spec["components"]["schemas"]["MeOut"]
    assert set(me["properties"]) == {
        "id", "full_name", "email", "role", "preferred_language", "organisation", "chapters",
    }  # fmt: skip
    chapter_params = {p["name"] for p in spec["paths"]["/api/v1/chapters"]["get"]["parameters"]}
    assert chapter_params == {"region", "page", "per_page"}
    assert spec["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
