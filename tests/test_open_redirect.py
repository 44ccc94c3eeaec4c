"""Open redirects: every view that takes a `next` address goes back only to a path on this site,
through the one check (network.forms.safe_next), whatever a link or a form puts there. The
payloads are the usual list of ways browsers are talked into leaving a site: a tab or a line
break that browsers drop ("/\\t/evil" is "//evil"), backslashes they read as slashes, schemes
without slashes, percent-encoded slashes, leading spaces. None may leave the site, and none may
give a server error (a CR in a Location header did)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from network.extensions import limiter
from network.forms import safe_next
from tests.conftest import PASSWORD, login
from tests.needs import conftest as needs_fixtures

# The needs fixtures, found by pytest among this module's names (see tests/search).
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
sonora = needs_fixtures.sonora
world = needs_fixtures.world

EVIL = "evil.example"
PAYLOADS = [
    f"//{EVIL}",
    f"///{EVIL}",
    f"////{EVIL}",
    f"/\\{EVIL}",
    f"\\\\{EVIL}",
    f"\\/\\/{EVIL}",
    f"/\\/{EVIL}",
    f"/\t/{EVIL}",
    f"/\r/{EVIL}",
    f"/\n/{EVIL}",
    f"/\r\n/{EVIL}",
    f"/\x00/{EVIL}",
    f"/\u2028/{EVIL}",
    f"/\u200b/{EVIL}",
    f"/%09/{EVIL}",
    f"/%0d/{EVIL}",
    f"/%0a/{EVIL}",
    f"/%2F/{EVIL}",
    f"/%2f/{EVIL}",
    f"/%5C{EVIL}",
    f"%2F%2F{EVIL}",
    "/%0d%0aSet-Cookie:%20session=stolen",
    f"http://{EVIL}",
    f"https://{EVIL}/login",
    f"https:{EVIL}",
    f"https:/{EVIL}",
    f"HTTPS://{EVIL}",
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    f"  //{EVIL}",
    f" /{EVIL}",
    f"\t//{EVIL}",
    f"\u3000//{EVIL}",
    EVIL,
    f"{EVIL}/path",
    f"//{EVIL}@example.org",
    "/" + "a" * 3000,
    "",
]
# Same-site addresses a page really sends: kept as they are.
GOOD = [
    "/",
    "/events/3",
    "/chapters/madrid?tab=events",
    "/search?q=energ%C3%ADa+solar&kind=members",
    "/search?q=López",
    "/needs/1/candidates?page=2",
]


@pytest.mark.parametrize("target", PAYLOADS)
def test_the_check_refuses_every_address_that_leaves_the_site(target):
    assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", GOOD)
def test_the_check_keeps_same_site_paths(target):
    assert safe_next(target, "/fallback") == target


def _check_view(post, fallback: str, good: str) -> None:
    """`post(next)` answers a redirect: to `fallback` for every payload, to `good` itself.
    (A form with a NUL character is refused whole with a 400, before any view runs.)"""
    for target in PAYLOADS:
        response = post(target)
        if response.status_code == 400 and "\x00" in target:
            continue
        assert response.status_code == 302, repr(target)
        assert response.headers["Location"] == fallback, repr(target)
    assert post(good).headers["Location"] == good


def test_sign_in(app: Flask, make_user):
    make_user(email="ana@ejemplo.mx")

    def post(target: str):
        limiter.reset()  # many sign-ins to one account: the per-account limit is not under test
        return app.test_client().post(
            "/login", data={"email": "ana@ejemplo.mx", "password": PASSWORD, "next": target}
        )

    _check_view(post, "/", "/chapters/madrid?tab=events")


def test_sign_in_page_when_already_signed_in(client: FlaskClient, make_user):
    login(client, make_user())
    _check_view(lambda target: client.get("/login", query_string={"next": target}), "/", "/events")


def test_language_switch(client: FlaskClient, make_user):
    login(client, make_user())

    def post(target: str):
        return client.post("/language", data={"language": "en", "next": target})

    _check_view(post, "/", "/search?q=energ%C3%ADa+solar&kind=members")


def test_shortlist_and_contact(app: Flask, world: SimpleNamespace):
    client = login(app.test_client(), world.org_user)
    shortlist = f"/needs/{world.need_id}/shortlist"

    def add(target: str):
        return client.post(shortlist, data={"member_id": world.elena.id, "next": target})

    def contact(target: str):  # an empty message goes straight back to `next`
        return client.post(f"/needs/{world.need_id}/contact", data={"next": target})

    _check_view(add, shortlist, f"/needs/{world.need_id}/candidates?page=1")
    _check_view(contact, shortlist, f"/needs/{world.need_id}/candidates?page=1")


def test_chapter_deactivation(client: FlaskClient, network: SimpleNamespace):
    login(client, network.ime)
    for action in ("deactivate", "reactivate"):
        url = f"/admin/chapters/{network.madrid.slug}/{action}"
        _check_view(
            lambda target, url=url: client.post(url, data={"next": target}), "/admin/", "/admin/"
        )
