"""An organisation user registers their ministry; IME verifies it; the user sees it verified.
axe on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from network.auth.cli import create_confirmed_user
from network.extensions import db
from network.security import Role

pytestmark = pytest.mark.browser

PASSWORD = "clave de la comision 2026"


def _sign_in(page, auditor, base: str, email: str) -> None:
    auditor.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Iniciar sesión").click()
    auditor.check()


def test_ime_verifies_a_registered_organisation(live_server, page, auditor, browser):
    base = live_server.url
    with live_server.app.test_request_context():
        create_confirmed_user(
            "rosa@conagua.gob.mx", "Rosa Funcionaria", PASSWORD, Role.ORGANISATION
        )
        create_confirmed_user("admin@ime.gob.mx", "Admin IME", PASSWORD, Role.IME)
        db.session.commit()

    _sign_in(page, auditor, base, "rosa@conagua.gob.mx")
    page.locator("#account-menu").click()
    page.get_by_role("link", name="Mi organización").click()
    auditor.check()
    page.get_by_label("Nombre de la organización").fill("Comisión Nacional del Agua")
    page.get_by_label("Tipo").select_option("ministry")
    page.get_by_label("Estado de México").select_option(label="Sonora")
    page.get_by_label("Sitio web").fill("https://www.gob.mx/conagua")
    page.get_by_label("Dominio de correo oficial").fill("sep.gob.mx")
    page.get_by_role("button", name="Enviar al IME para verificación").click()
    auditor.check()
    expect(page.locator("main")).to_contain_text("rosa@conagua.gob.mx")  # not on that domain
    page.get_by_label("Dominio de correo oficial").fill("conagua.gob.mx")
    page.get_by_role("button", name="Enviar al IME para verificación").click()
    auditor.check()
    expect(page.get_by_test_id("organisation-status")).to_contain_text("En espera")

    admin = browser.new_context(locale="es-MX").new_page()
    from tests.browser.conftest import Auditor

    admin_auditor = Auditor(admin)
    _sign_in(admin, admin_auditor, base, "admin@ime.gob.mx")
    admin_auditor.goto(base + "/admin/organisations")
    row = admin.get_by_test_id("organisation-comision-nacional-del-agua")
    expect(row).to_contain_text("en el dominio")
    row.get_by_role("button", name="Verificar Comisión Nacional del Agua", exact=True).click()
    admin_auditor.check()
    expect(admin.locator("main")).to_contain_text("quedó verificada")
    admin_auditor.screenshot("organisation-verified-ime")

    auditor.goto(base + "/organisation")
    expect(page.get_by_test_id("organisation-status")).to_contain_text("Verificada por el IME")
    auditor.screenshot("organisation-verified")
