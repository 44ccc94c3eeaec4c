"""A ministry posts a need, reads why each expert is ranked, asks one for contact; the expert
accepts; the ministry then sees the contact details, and the expert sees who viewed them.
axe on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from network.auth.cli import create_confirmed_user
from network.db import utcnow
from network.extensions import db
from network.members.profile_input import parse_profile
from network.members.services import update_profile
from network.organisations.models import Organisation, OrganisationKind
from network.security import Role
from tests.browser.conftest import Auditor

pytestmark = pytest.mark.browser

PASSWORD = "clave de la comision 2026"
EXPERT = {
    "open_to_requests": "yes",
    "languages": "es:native; en:C1",
    "modes": "remote_advice",
    "days_per_year": "30",
    "timezone": "America/Hermosillo",
    "state_of_origin": "MX-SON",
    "phone": "+52 662 555 0101",
}


def _sign_in(page, auditor, base: str, email: str) -> None:
    auditor.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Iniciar sesión").click()
    auditor.check()


def _pick(page, name: str, text: str, option: str) -> None:
    combobox = page.get_by_role("combobox", name=name)
    combobox.fill(text)
    page.get_by_role("option", name=re.compile(option)).first.click()


def test_a_ministry_contacts_an_expert_who_consents(live_server, page, auditor, browser):
    base = live_server.url
    with live_server.app.test_request_context():
        ministry = Organisation(
            slug="conagua",
            name="Comisión Nacional del Agua",
            kind=OrganisationKind.MINISTRY,
            verified_at=utcnow(),
        )
        db.session.add(ministry)
        official = create_confirmed_user(
            "rosa@conagua.gob.mx", "Rosa Funcionaria", PASSWORD, Role.ORGANISATION
        )
        official.organisation = ministry
        elena = create_confirmed_user(
            "elena@ejemplo.mx", "Elena Ruiz Castro", PASSWORD, Role.MEMBER
        )
        update_profile(elena, parse_profile({**EXPERT, "expertise": "hydrology; water-governance"}))
        marco = create_confirmed_user("marco@ejemplo.mx", "Marco Díaz", PASSWORD, Role.MEMBER)
        update_profile(
            marco, parse_profile({**EXPERT, "expertise": "hydrology", "state_of_origin": ""})
        )
        db.session.commit()

    _sign_in(page, auditor, base, "rosa@conagua.gob.mx")
    page.get_by_role("link", name="Necesidades", exact=True).click()
    auditor.check()
    page.get_by_role("link", name="Publicar una necesidad").click()
    auditor.check()
    page.get_by_label("Título").fill("Modelo hidrológico de la cuenca del río Sonora")
    page.get_by_label("Descripción").fill("Necesitamos **calibrar** el modelo de la cuenca.")
    page.get_by_label("Sector").select_option("water")
    _pick(page, "Experiencia requerida", "hidrolog", "^Hidrología")
    _pick(page, "Experiencia requerida", "gobernanza", "^Gobernanza del agua")
    page.get_by_label("Esfuerzo (días)").fill("20")
    page.get_by_label("Estado de México al que corresponde").select_option(label="Sonora")
    page.get_by_label("Estatus").select_option("open")
    page.get_by_role("button", name="Guardar").click()
    auditor.check()
    expect(page.get_by_test_id("need-status")).to_contain_text("Abierta")

    page.get_by_role("link", name="Ver la clasificación de personas candidatas").click()
    auditor.check()
    cards = page.get_by_test_id("candidates").locator("li.card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Elena Ruiz Castro")  # both concepts, from Sonora
    cards.first.get_by_text("Por qué esta puntuación").click()
    factors = cards.first.locator("table.factors")
    expect(factors).to_contain_text("Gobernanza del agua")
    total = sum(float(x) for x in factors.locator("[data-contribution]").all_inner_texts())
    assert f"{total:.3f}" == factors.locator("[data-score]").inner_text()
    auditor.check()
    expect(page.locator("main")).not_to_contain_text("elena@ejemplo.mx")
    auditor.screenshot("needs-candidates")
    cards.first.get_by_role("button", name="Agregar a la lista corta").click()
    auditor.check()
    page.get_by_role("link", name="Lista corta y solicitudes (1)").click()
    auditor.check()
    page.get_by_label("Mensaje para Elena Ruiz Castro").fill(
        "Hola Elena, ¿nos ayudarías a calibrar el modelo de la cuenca?"
    )
    page.get_by_role("button", name="Enviar solicitud").click()
    auditor.check()
    expect(page.get_by_test_id("request-status")).to_contain_text("En espera")

    expert = browser.new_context(locale="es-MX").new_page()
    expert_auditor = Auditor(expert)
    _sign_in(expert, expert_auditor, base, "elena@ejemplo.mx")
    expert_auditor.goto(base + "/needs/requests")
    expert.get_by_role("link", name="Modelo hidrológico de la cuenca del río Sonora").click()
    expert_auditor.check()
    expect(expert.locator("main")).to_contain_text("Comisión Nacional del Agua")
    expert.get_by_label("Respuesta (opcional)").fill("Con gusto, escríbanme.")
    expert.get_by_role("button", name="Aceptar").click()
    expert_auditor.check()

    page.get_by_test_id("request-status").click()
    auditor.check()
    details = page.get_by_test_id("contact-details")
    expect(details).to_contain_text("elena@ejemplo.mx")
    expect(details).to_contain_text("+52 662 555 0101")
    auditor.screenshot("needs-contact-accepted")

    expert_auditor.goto(base + "/needs/requests")
    expect(expert.get_by_test_id("contact-views")).to_contain_text("Rosa Funcionaria")
    expert_auditor.screenshot("needs-who-viewed")
