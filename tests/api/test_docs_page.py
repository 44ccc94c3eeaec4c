"""/api/docs: the OpenAPI document rendered for people, generated so it cannot drift from the API."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from network.api.docs import describe
from tests.conftest import login

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def docs(client: FlaskClient) -> str:
    response = client.get("/api/docs", headers=ENGLISH)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _operation(docs: str, anchor: str) -> str:
    """The HTML of one operation's article, found by its heading anchor."""
    start = docs.index(f'<article aria-labelledby="{anchor}"')
    return docs[start : docs.index("</article>", start)]


def test_the_page_is_public_and_links_the_raw_document(docs):
    assert "<h1>API reference</h1>" in docs
    assert 'href="/api/v1/openapi.json"' in docs
    assert "http://localhost/api/v1" in docs  # the base URL
    assert 'href="/account#tokens-title"' in docs  # where tokens are made
    assert '"fields": [' in html.unescape(docs)  # the 422 error shape


def test_every_operation_of_the_openapi_document_is_on_the_page(client, docs):
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = [(m, p) for p, item in spec["paths"].items() for m in item]
    assert len(operations) > 10
    for method, path in operations:
        anchor = re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")
        heading = re.search(rf'<h3 id="{anchor}"[^>]*>(.*?)</h3>', docs, re.S)
        assert heading, (method, path)
        assert method.upper() in heading.group(1) and path in heading.group(1)
        assert f'href="#{anchor}"' in docs  # listed in the contents


def test_operations_are_grouped_by_path_prefix_in_the_contents(docs):
    contents = docs[docs.index('id="toc-title"') : docs.index("</nav>", docs.index("toc-title"))]
    assert 'href="#group-events"' in contents and 'href="#group-needs"' in contents
    assert contents.index('href="#group-events"') < contents.index('href="#post-api-v1-events"')


def test_request_body_fields_of_post_endpoints_are_listed(docs):
    need = _operation(docs, "post-api-v1-needs")
    for field in ("title", "sector", "required_concepts", "effort_days"):
        assert f"<code>{field}</code>" in need
    assert "Request body" in need and "#schema-needin" in need
    event = _operation(docs, "post-api-v1-events")
    assert "<code>starts_at</code>" in event
    assert "<code>in_person</code>" in event  # an enum's allowed values
    assert "Token required" in event


def test_parameters_responses_security_and_an_example(docs):
    events = _operation(docs, "get-api-v1-events")
    assert "<code>per_page</code>" in events and "from 1 to 100" in events
    assert "Token optional" in events
    assert "page of" in events and 'href="#schema-eventout"' in events
    detail = _operation(docs, "get-api-v1-events-event-id")
    assert "<code>404</code>" in detail and "No such resource" in detail
    curl = html.unescape(re.search(r"<pre[^>]*><code>(curl.*?)</code>", detail, re.S).group(1))
    assert "'http://localhost/api/v1/events/1'" in curl
    assert "Authorization: Bearer $API_TOKEN" in curl
    spec = _operation(docs, "get-api-v1-openapi-json")
    assert "No token" in spec and "Authorization" not in spec


def test_example_bodies_hold_the_required_fields(docs):
    curl = html.unescape(_operation(docs, "post-api-v1-needs-need-id-contact-requests"))
    assert '-d \'{"member_id": 1, "message": "string"}\'' in curl
    assert "/api/v1/needs/1/contact-requests" in curl


def test_the_schemas_section_expands_inline_objects_and_links_named_ones(docs):
    schemas = docs[docs.index('id="schemas"') :]
    assert '<h3 id="schema-error"' in schemas
    assert "<code>error.fields[].message</code>" in schemas  # inline, nested in an array
    assert "integer or string" in schemas  # CountOut.members, a oneOf


def test_the_page_needs_nothing_from_other_hosts(docs):
    external = re.findall(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", docs, re.I)
    assert external == []
    assert "<script" not in docs.split("</main>")[0].split("<main")[1]


def test_the_page_renders_in_spanish_too(client):
    response = client.get("/api/docs", headers={"Accept-Language": "es"})
    assert response.status_code == 200 and '<html lang="es">' in response.get_data(as_text=True)


def test_footer_and_token_page_link_to_the_docs(app: Flask, client: FlaskClient, network):
    home = client.get("/", headers=ENGLISH).get_data(as_text=True)
    footer = home[home.index("<footer") :]
    assert 'href="/api/docs"' in footer
    account = login(client, network.member).get("/account").get_data(as_text=True)
    tokens = account[account.index('id="tokens-title"') :]
    assert 'href="/api/docs"' in tokens


def test_describe_resolves_refs_one_of_and_tags(app: Flask):
    """A hand-written spec: what a future endpoint may use that today's spec does not (tags,
    nested named objects in a request body)."""
    spec = {
        "openapi": "3.0.3",
        "servers": [{"url": "/"}],
        "tags": [{"name": "dashboard", "description": "Panels for IME."}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/dashboard/{panel}": {
                "post": {
                    "tags": ["dashboard"],
                    "summary": "Refresh a panel.",
                    "parameters": [
                        {
                            "name": "panel",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["members", "events"]},
                        },
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/In"}}
                        }
                    },
                    "responses": {"200": {"description": "OK"}},
                }
            }
        },
        "components": {
            "schemas": {
                "In": {
                    "type": "object",
                    "required": ["range"],
                    "properties": {
                        "range": {"$ref": "#/components/schemas/Range"},
                        "size": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    },
                },
                "Range": {
                    "type": "object",
                    "required": ["start"],
                    "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
                },
            }
        },
    }
    with app.test_request_context(headers=ENGLISH):
        sections, schemas = describe(spec, "https://red.example")
    (section,) = sections
    assert section.title == "dashboard" and "Panels for IME." in section.description
    (endpoint,) = section.endpoints
    fields = {f.name: f for f in endpoint.body_fields}
    assert list(fields) == ["range", "range.start", "range.end", "size"]
    assert fields["range"].required and fields["range.start"].required
    assert not fields["range.end"].required
    assert "".join(text for text, _anchor in fields["size"].type) == "integer or string"
    assert endpoint.auth == "required"
    assert "'https://red.example/api/v1/dashboard/members'" in endpoint.curl
    assert '{"range": {"start": "string"}}' in endpoint.curl
    assert [s.name for s in schemas] == ["In", "Range"]
    assert [f.name for f in schemas[0].fields] == ["range", "size"]  # Range is linked, not inlined


def test_allowed_values_leave_out_the_null_of_a_nullable_enum(app: Flask, client: FlaskClient):
    """A nullable enum lists null among its values in the document (OpenAPI 3.0 checks `enum`
    on null too); the page names the tiers only."""
    spec = client.get("/api/v1/openapi.json").get_json()
    with app.test_request_context(headers=ENGLISH):
        sections, _schemas = describe(spec, "https://red.example")
    endpoints = [e for section in sections for e in section.endpoints]
    profile = next(e for e in endpoints if e.method == "PATCH" and e.path.endswith("/me/profile"))
    fields = {f.name: f for f in profile.body_fields}
    assert fields["city_visibility"].allowed == (
        "public",
        "members",
        "organisations",
        "coordinators",
        "ime",
        "private",
    )


def test_the_page_follows_the_language_switcher_like_every_page(client):
    """The docs are a page, not the JSON API: the switcher's choice wins over the browser's."""
    client.post("/language", data={"language": "en", "next": "/api/docs"})
    response = client.get("/api/docs", headers={"Accept-Language": "es"})
    assert '<html lang="en">' in response.get_data(as_text=True)
