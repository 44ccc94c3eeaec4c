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
    [
        ("per_page=abc", "whole number"),
        ("per_page=500", "between 1 and 100"),
        ("page=0", "between"),
        ("region=atlantis", "Unknown region"),
    ],
)
def test_malformed_requests_get_a_json_400(app, token, query, fragment):
    headers = {**_auth(token), "Accept-Language": "en"}
    response = app.test_client().get(f"/api/v1/chapters?{query}", headers=headers)
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
        "id",
        "full_name",
        "email",
        "role",
        "preferred_language",
        "organisation",
        "chapters",
    }
    chapter_params = {p["name"] for p in spec["paths"]["/api/v1/chapters"]["get"]["parameters"]}
    assert chapter_params == {"region", "page", "per_page"}
    assert spec["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


# ---------------------------------------------------------------- what schemathesis found


@pytest.mark.parametrize("method", ["get", "patch", "post", "delete"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/events/2147483648", "/api/v1/needs/99999999999999999999", "/events/2147483648"],
)
def test_an_id_beyond_32_bits_is_a_404_whatever_the_method(client, method, path):
    """Was a 405 naming the wrong methods for PATCH and DELETE: werkzeug checks a converter's
    `max` after it has picked a rule by method, so the bound now lives in the URL's pattern."""
    response = getattr(client, method)(path)
    assert response.status_code == 404, response.headers.get("Allow")


def test_the_id_pattern_matches_exactly_the_numbers_up_to_its_bound():
    from network import _digits_up_to

    for limit in (0, 1, 9, 10, 19, 100, 305, 2024, 2**31 - 1):
        pattern = re.compile(_digits_up_to(limit))
        numbers = {*range(min(limit + 50, 3000)), limit - 1, limit, limit + 1, limit * 10 + 9}
        for n in numbers - {-1}:
            assert bool(pattern.fullmatch(str(n))) == (n <= limit), (limit, n)


def test_the_document_states_what_the_api_checks(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    for path, methods in paths.items():
        for entry in methods.values():
            for param in entry.get("parameters", ()):
                if param["in"] == "path" and param["schema"]["type"] == "integer":
                    assert (param["schema"]["minimum"], param["schema"]["maximum"]) == (
                        0,
                        2**31 - 1,
                    ), path
            body = entry.get("requestBody")
            if body:
                name = body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
                assert schemas[name]["additionalProperties"] is False, "unknown fields are a 400"
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            if prop.get("nullable") and "enum" in prop:
                assert None in prop["enum"], f"{name}.{field}: OpenAPI 3.0 checks enum on null"
    assert "404" in paths["/api/v1/members/{member_id}"]["get"]["responses"]
    assert "403" in paths["/api/v1/me/profile"]["patch"]["responses"]
    for answer in ("accept", "decline"):
        operation = paths[f"/api/v1/contact-requests/{{request_id}}/{answer}"]["post"]
        assert operation["requestBody"]["required"] is False, "the body is optional"
    assert "NUL" in paths["/api/v1/me"]["get"]["responses"]["400"]["description"]
    profile = schemas["ProfileUpdateIn"]["properties"]
    assert profile["open_to_mentor"] == {"type": "boolean"}, "null is refused, so not nullable"
    assert not profile["full_name"].get("nullable")
    assert "city_visibility" in profile and profile["city"]["maxLength"] == 120
    assert schemas["EventIn"]["properties"]["title"]["maxLength"] == 200
    assert schemas["ContactRequestIn"]["properties"]["message"]["minLength"] == 10
    panel = paths["/api/v1/dashboard/{slug}"]["get"]["parameters"][0]
    assert "members-by-region" in panel["schema"]["enum"]


def test_every_listed_query_value_is_checked(app, network, client):
    """A query parameter the document lists values for answers 400 to any other value (the
    dashboard used to fall back to its default, search ignored an unknown 'format')."""
    from tests.conftest import bearer

    spec = client.get("/api/v1/openapi.json").get_json()
    ime = bearer(app, network.ime)
    checked = []
    for path, methods in spec["paths"].items():
        for entry in methods.values():
            for param in entry.get("parameters", ()):
                if param["in"] == "query" and "enum" in param["schema"]:
                    url = path.replace("{slug}", "growth") + f"?{param['name']}=bogus&q=agua"
                    response = client.get(url, headers=ime)
                    assert response.status_code == 400 and response.is_json, url
                    assert param["name"] in response.get_json()["error"]["message"], url
                    checked.append(f"{entry['operationId']}.{param['name']}")
    assert sorted(checked) == [
        "dashboard_panel.by",
        "dashboard_panel.period",
        "needs.status",
        "search_endpoint.format",
        "search_endpoint.kind",
        "search_endpoint.remote",
        "search_endpoint.status",
        "search_endpoint.when",
    ]
