"""The navigation bar's search: a visible submit button with an accessible name, on a wide
screen and inside the collapsed menu of a phone. axe on every page; screenshots of the bar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, COORDINATOR

pytestmark = pytest.mark.browser


def test_the_navigation_search_is_sent_with_its_button(live_server, page, auditor):
    auditor.goto(f"{live_server.url}/regions")
    navigation = page.get_by_role("navigation", name="Principal")
    button = navigation.get_by_role("button", name="Buscar", exact=True)
    expect(button).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    navigation.screenshot(path=str(ARTIFACTS / "navbar-wide.png"))
    # The button sits beside the field, as tall as it is.
    field = navigation.get_by_label("Buscar en la red")
    field_box, button_box = field.bounding_box(), button.bounding_box()
    assert abs(field_box["height"] - button_box["height"]) <= 1
    assert abs(field_box["y"] - button_box["y"]) <= 1
    field.fill("hidrología")
    button.click()
    expect(page).to_have_url(re.compile(r"/search\?q=hidrolog%C3%ADa$"))
    auditor.check()


def test_the_button_is_in_the_phone_menu_too(live_server, page, auditor):
    page.set_viewport_size({"width": 390, "height": 844})
    auditor.goto(f"{live_server.url}/")
    navigation = page.get_by_role("navigation", name="Principal")
    navigation.get_by_role("button", name="Mostrar menú").click()
    button = navigation.get_by_role("button", name="Buscar", exact=True)
    expect(button).to_be_visible()
    navigation.screenshot(path=str(ARTIFACTS / "navbar-phone.png"))
    navigation.get_by_label("Buscar en la red").fill("agua")
    navigation.get_by_label("Buscar en la red").focus()
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=agua$"))
    auditor.check()


@pytest.mark.parametrize(("language", "signed_in"), [("es", False), ("en", False), ("en", True)])
def test_the_bar_keeps_one_row_on_the_narrowest_wide_screen(
    live_server, page, auditor, language, signed_in
):
    # 1200 px is where the menu stops collapsing (navbar-expand-xl): below it the links, the
    # search with its button, the language switch and the account do not fit on one row.
    page.set_viewport_size({"width": 1200, "height": 700})
    if signed_in:
        auditor.goto(f"{live_server.url}/login")
        page.get_by_label("Correo electrónico").fill(COORDINATOR[0])
        page.get_by_label("Contraseña").fill(COORDINATOR[1])
        page.get_by_role("button", name="Iniciar sesión").click()
    auditor.goto(f"{live_server.url}/events")
    if language == "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    navigation = page.get_by_role("navigation").first
    expect(navigation.get_by_role("button", name=re.compile("^(Buscar|Search)$"))).to_be_visible()
    name = f"navbar-1200-{language}{'-signed-in' if signed_in else ''}"
    navigation.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert navigation.bounding_box()["height"] < 70
    auditor.check()
