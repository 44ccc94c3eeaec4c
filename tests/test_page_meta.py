"""Every page describes itself to search engines and link previews (a meta description in the
visitor's language), and the navigation's search form has a real submit button (WCAG H32)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from network.auth.models import User
from network.extensions import db
from network.members.profile_input import parse_profile
from network.members.services import update_profile
from tests.conftest import login

DEFAULT_ES = "Red Global MX conecta a mexicanas y mexicanos calificados en el exterior"


class _Page(HTMLParser):
    """The meta descriptions and the navigation search form's controls of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.descriptions: list[str] = []
        self.in_search_form = False
        self.search_buttons: list[dict[str, str | None]] = []
        self.button_text: list[str] = []
        self.in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("name") == "description":
            self.descriptions.append(values.get("content") or "")
        if tag == "form" and values.get("role") == "search":
            self.in_search_form = True
        if self.in_search_form and tag == "button":
            self.search_buttons.append(values)
            self.in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_search_form = False
        if tag == "button":
            self.in_button = False

    def handle_data(self, data: str) -> None:
        if self.in_button:
            self.button_text.append(data.strip())


def _read(response) -> _Page:
    assert response.status_code == 200
    page = _Page()
    page.feed(response.get_data(as_text=True))
    return page


@pytest.mark.parametrize(
    ("path", "starts"),
    [
        ("/", "La Red Global de Mexicanos Calificados"),
        ("/regions", "Capítulos de Red Global MX por región"),
        ("/events", "Charlas, talleres y encuentros"),
        ("/needs", "Necesidades de desarrollo publicadas"),
        ("/search?q=agua", "Busca integrantes, eventos"),
        ("/login", DEFAULT_ES),
    ],
)
def test_each_main_page_has_one_meta_description_of_its_own(app, network, path, starts):
    page = _read(app.test_client().get(path))
    (description,) = page.descriptions
    assert description.startswith(starts)
    assert 50 <= len(description) <= 200


def test_the_description_follows_the_visitors_language(app, network):
    client = app.test_client()
    (english,) = _read(client.get("/events", headers={"Accept-Language": "en"})).descriptions
    assert english.startswith("Talks, workshops and meetings")


def test_the_navigation_search_form_has_a_labelled_submit_button(app, network):
    page = _read(app.test_client().get("/regions"))
    (button,) = page.search_buttons
    assert button.get("type") == "submit"
    assert "Buscar" in page.button_text  # its accessible name, read by screen readers


def test_member_pages_describe_only_what_the_viewer_may_see(app, network, make_user):
    hidden = make_user(full_name="Renata Oculta")
    with app.test_request_context():
        update_profile(
            db.session.get(User, hidden.id),
            parse_profile({"headline": "Hidróloga en secreto", "headline_visibility": "private"}),
        )
        db.session.commit()
    viewer = make_user()
    client = login(app.test_client(), viewer)
    (directory,) = _read(client.get("/members")).descriptions
    assert directory.startswith("Encuentra a mexicanas y mexicanos calificados")
    (profile,) = _read(client.get(f"/members/{hidden.id}")).descriptions
    assert "secreto" not in profile
    assert profile.startswith("Integrante de Red Global MX")
    own_page = login(app.test_client(), hidden).get("/members/me", follow_redirects=True)
    (own,) = _read(own_page).descriptions
    assert own.startswith("Hidróloga en secreto · Integrante de Red Global MX")
