"""Journeys a person takes, in Chromium, with axe on every page visited."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from network.extensions import db
from network.outbox import OutboxMessage
from tests.browser.conftest import COORDINATOR

pytestmark = pytest.mark.browser

PASSWORD = "mi frase de acceso segura"


def _confirmation_link(app, email: str) -> str:
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == email)
            .order_by(OutboxMessage.id.desc())
        )
        assert message is not None, "the confirmation e-mail is in the outbox"
        return re.search(r"https?://\S+", message.body).group(0)


def _sign_in(auditor, page: Page, email: str, password: str, button: str) -> None:
    page.get_by_label(re.compile("^(Correo electrónico|E-mail address)$")).fill(email)
    page.get_by_label(re.compile("^(Contraseña|Password)$")).fill(password)
    page.locator("main").get_by_role("button", name=button).click()
    auditor.check()


def test_spanish_registration_confirmation_and_joining_a_chapter(live_server, page, auditor):
    base = live_server.url
    auditor.goto(base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Red Global")

    page.get_by_role("link", name="Únete a la red").first.click()
    auditor.check()
    page.get_by_label("Nombre completo").fill("Itzel Ramírez Peña")
    page.get_by_label("Correo electrónico").fill("itzel@ejemplo.mx")
    page.get_by_label("Contraseña", exact=True).fill("corta")
    page.get_by_label("Repite la contraseña").fill("corta")
    page.get_by_role("button", name="Crear cuenta").click()
    auditor.check()
    expect(page.get_by_text("Usa al menos 10 caracteres.")).to_be_visible()

    page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    page.get_by_label("Repite la contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Crear cuenta").click()
    auditor.check()
    expect(page.get_by_role("heading", name="Revisa tu correo electrónico")).to_be_visible()

    auditor.goto(_confirmation_link(live_server.app, "itzel@ejemplo.mx"))
    expect(page.get_by_text("tu correo electrónico quedó confirmado")).to_be_visible()
    _sign_in(auditor, page, "itzel@ejemplo.mx", PASSWORD, "Iniciar sesión")
    expect(page.locator("#account-menu")).to_have_text("Itzel")  # signed in, by first name

    page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Capítulos", exact=True
    ).click()
    auditor.check()
    page.get_by_role("link", name="Montréal").click()
    auditor.check()
    page.get_by_label("Mensaje para la coordinación (opcional)").fill("Hola, soy ingeniera.")
    page.get_by_role("button", name="Solicitar ingreso").click()
    auditor.check()
    expect(page.get_by_test_id("join-status")).to_contain_text("en espera")

    page.locator("#account-menu").click()
    page.get_by_role("button", name="Cerrar sesión").click()
    auditor.check()
    auditor.goto(base + "/login")
    _sign_in(auditor, page, *COORDINATOR, "Iniciar sesión")
    auditor.goto(base + "/chapters/montreal")
    page.get_by_role("link", name="Solicitudes de ingreso").click()
    auditor.check()
    request = page.get_by_test_id("join-request").filter(has_text="Itzel Ramírez Peña")
    expect(request).to_contain_text("Hola, soy ingeniera.")
    request.get_by_role("button", name=re.compile("^Aprobar")).click()
    auditor.check()
    expect(page.get_by_text("Itzel Ramírez Peña ahora es miembro del capítulo.")).to_be_visible()
    auditor.screenshot("journey-es-approved")

    page.get_by_role("link", name="Volver al capítulo").click()
    auditor.check()
    expect(page.get_by_test_id("member-count")).to_contain_text("2 miembros")
    assert len(auditor.audited) >= 12


def test_english_through_the_switcher(live_server, page, auditor):
    base = live_server.url
    auditor.goto(base + "/regions")
    page.get_by_role("button", name="English").click()
    auditor.check()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url.endswith("/regions"), "the switcher returns to the same page"
    expect(page.get_by_role("heading", level=1)).to_have_text("Chapters by region")

    page.get_by_role("link", name="Join the network").first.click()
    auditor.check()
    expect(page.get_by_label("Preferred language")).to_have_value("en")
    page.get_by_label("Full name").fill("Diego Muñoz")
    page.get_by_label("E-mail address").fill("diego@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD + " typo")
    page.get_by_role("button", name="Create account").click()
    auditor.check()
    expect(page.get_by_text("The passwords do not match.")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    auditor.check()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    auditor.goto(_confirmation_link(live_server.app, "diego@example.org"))
    _sign_in(auditor, page, "diego@example.org", PASSWORD, "Sign in")
    auditor.goto(base + "/chapters/madrid")
    page.get_by_role("button", name="Ask to join").click()
    auditor.check()
    expect(page.get_by_test_id("join-status")).to_contain_text("waiting for a coordinator")
    auditor.goto(base + "/my/chapters")
    expect(page.get_by_text("Request waiting")).to_be_visible()
    auditor.goto(base + "/nodes/son")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sonora")
    auditor.goto(base + "/chapters/atlantis", status=404)
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    auditor.screenshot("journey-en-404")

    page.get_by_role("button", name="Español").click()
    auditor.check()
    expect(page.locator("html")).to_have_attribute("lang", "es")
