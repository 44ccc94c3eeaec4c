"""A member fills in the profile with the autocomplete, controls who sees what, previews it,
confirms it and downloads their data; in Spanish, then in English. axe on every page."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from network.auth.cli import create_confirmed_user
from network.extensions import db
from network.security import Role

pytestmark = pytest.mark.browser

PASSWORD = "clave de la hidróloga 2026"


def _member(live_server, email: str, name: str, language: str) -> None:
    with live_server.app.app_context():
        create_confirmed_user(email, name, PASSWORD, Role.MEMBER, language)
        db.session.commit()


def _sign_in(page, auditor, base: str, email: str, button: str) -> None:
    auditor.goto(base + "/login")
    page.get_by_label(re.compile("^(Correo electrónico|E-mail address)$")).fill(email)
    page.get_by_label(re.compile("^(Contraseña|Password)$")).fill(PASSWORD)
    page.locator("main").get_by_role("button", name=button).click()
    auditor.check()


def test_profile_in_spanish(live_server, page, auditor, tmp_path):
    base = live_server.url
    _member(live_server, "itzel@ejemplo.mx", "Itzel Ramírez Peña", "es")
    _sign_in(page, auditor, base, "itzel@ejemplo.mx", "Iniciar sesión")
    page.locator("#account-menu").click()
    page.get_by_role("link", name="Mi perfil").click()
    auditor.check()
    page.get_by_role("link", name="Editar mi perfil").click()
    auditor.check()

    page.get_by_label("Titular").fill("Hidróloga, Universidad de Arizona")
    page.get_by_label("País de residencia").select_option("US")
    page.get_by_label("Ciudad").fill("Tucson")
    # Hide the city from the public: only network accounts.
    page.locator("#city_visibility").select_option("members")

    combobox = page.get_by_role("combobox", name="Experiencia")
    combobox.fill("hidrolog")
    option = page.get_by_role("option", name=re.compile("^Hidrología"))
    expect(option).to_be_visible()
    auditor.check()  # axe with the list open
    combobox.press("ArrowDown")
    combobox.press("Enter")
    combobox.fill("energia solar")
    page.get_by_role("option", name=re.compile("fotovoltaica")).click()
    combobox.fill("acuíferos kársticos")
    combobox.press("Enter")
    expect(page.get_by_role("list", name="Experiencia elegida")).to_contain_text("Hidrología")
    page.get_by_label("Idiomas").fill("es:native; en:C1")
    page.get_by_label("Estoy disponible para dar mentoría").check()
    page.get_by_role("button", name="Guardar mi perfil").click()
    auditor.check()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Itzel Ramírez Peña")
    expertise = page.get_by_test_id("expertise")
    expect(expertise).to_contain_text("Hidrología")
    expect(expertise).to_contain_text("Energía solar fotovoltaica")
    expect(expertise).to_contain_text("acuíferos kársticos")

    page.get_by_role("link", name="el público").click()
    auditor.check()
    expect(page.get_by_text("no pueden ver tu perfil")).to_be_visible()
    page.get_by_role("link", name="volver a mi vista").click()
    auditor.check()
    page.get_by_role("button", name="Hacer público mi perfil").click()
    auditor.check()
    # The city was set back to public by the preset; hide it again, then preview.
    page.get_by_role("link", name="Editar mi perfil").click()
    auditor.check()
    page.locator("#city_visibility").select_option("members")
    page.get_by_role("button", name="Guardar mi perfil").click()
    auditor.check()
    page.get_by_role("link", name="el público").click()
    auditor.check()
    expect(page.locator("main")).to_contain_text("Hidróloga, Universidad de Arizona")
    expect(page.locator("main")).not_to_contain_text("Tucson")
    page.get_by_role("link", name="una organización verificada").click()
    auditor.check()
    expect(page.locator("main")).to_contain_text("Tucson")
    page.get_by_role("link", name="volver a mi vista").click()
    auditor.check()

    page.get_by_role("button", name="Mi perfil sigue vigente").click()
    auditor.check()
    expect(page.get_by_role("status")).to_contain_text("tu perfil")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Descargar mis datos").click()
    path = tmp_path / "data.json"
    download_info.value.save_as(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["account"]["email"] == "itzel@ejemplo.mx"
    assert data["visibility"]["city"] == "members"
    assert {c["slug"] for c in data["profile"]["expertise"]} == {"hydrology", "solar-photovoltaics"}
    auditor.screenshot("profile-es")

    auditor.goto(base + "/members")
    expect(page.locator("main").get_by_role("link", name="Itzel Ramírez Peña")).to_be_visible()


def test_profile_in_english(live_server, page, auditor):
    base = live_server.url
    _member(live_server, "diego@example.org", "Diego Muñoz", "en")
    _sign_in(page, auditor, base, "diego@example.org", "Iniciar sesión")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    auditor.goto(base + "/members/me/edit")
    page.get_by_label("Headline").fill("Aerospace engineer, Airbus")
    combobox = page.get_by_role("combobox", name="Expertise")
    combobox.fill("hydrolog")
    expect(page.get_by_role("option", name=re.compile("^Hydrology"))).to_be_visible()
    auditor.check()
    combobox.press("ArrowDown")
    combobox.press("Enter")
    page.get_by_label("ORCID iD").fill("0000-0002-1825-0098")
    auditor.expect_refusal(base + "/members/me/edit")
    page.get_by_role("button", name="Save my profile").click()
    auditor.check()
    expect(page.get_by_text("Enter a valid ORCID iD")).to_be_visible()
    page.get_by_label("ORCID iD").fill("0000-0002-1825-0097")
    page.get_by_role("button", name="Save my profile").click()
    auditor.check()
    expect(page.get_by_test_id("expertise")).to_contain_text("Hydrology")
    page.get_by_role("link", name="a verified organisation").click()
    auditor.check()
    expect(page.locator("main")).to_contain_text("Aerospace engineer, Airbus")
    auditor.screenshot("profile-en-preview")
