"""A coordinator creates a one-seat hybrid event; A gets the seat and the link; B waits at
position 1, sees the time in both zones; A cancels; B is promoted, gets the link and an e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from network.auth.cli import create_confirmed_user
from network.db import utcnow
from network.extensions import db
from network.outbox import OutboxMessage
from network.security import Role
from tests.browser.conftest import COORDINATOR, Auditor

pytestmark = pytest.mark.browser

PASSWORD = "clave de asistente 2026"
LINK = "https://meet.example.org/taller-montreal"


def _sign_in(page: Page, auditor: Auditor, base: str, email: str, password: str) -> None:
    auditor.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(password)
    page.locator("main").get_by_role("button", name="Iniciar sesión").click()
    auditor.check()


def _person(browser: Browser, timezone: str) -> tuple[Page, Auditor]:
    context = browser.new_context(locale="es-MX", timezone_id=timezone)
    page = context.new_page()
    return page, Auditor(page)


def test_one_seat_event_waitlist_and_promotion(live_server, page, auditor, browser):
    base = live_server.url
    with live_server.app.test_request_context():
        create_confirmed_user("ana@ejemplo.mx", "Ana Asistente", PASSWORD, Role.MEMBER)
        create_confirmed_user("beto@ejemplo.mx", "Beto Espera", PASSWORD, Role.MEMBER)
        db.session.commit()
    day = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")

    # The Montréal coordinator creates the event from the chapter page.
    _sign_in(page, auditor, base, *COORDINATOR)
    auditor.goto(base + "/chapters/montreal")
    page.get_by_role("link", name="Nuevo evento").click()
    auditor.check()
    page.get_by_label("Título").fill("Taller: del laboratorio a la startup")
    page.get_by_label("Empieza (hora local)").fill(f"{day}T18:00")
    page.get_by_label("Termina (hora local)").fill(f"{day}T20:00")
    page.get_by_label("Formato").select_option("hybrid")
    page.get_by_label("Lugar").fill("Consulado General de México")
    page.get_by_label("Enlace en línea").fill(LINK)
    page.get_by_label("Cupo").fill("1")
    page.get_by_label("Estatus").select_option("published")
    page.get_by_role("button", name="Guardar").click()
    auditor.check()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Taller: del laboratorio a la startup"
    )
    event_url = page.url

    # A registers and sees the link.
    page_a, auditor_a = _person(browser, "America/Toronto")
    _sign_in(page_a, auditor_a, base, "ana@ejemplo.mx", PASSWORD)
    auditor_a.goto(event_url)
    page_a.get_by_role("button", name="Inscribirme").click()
    auditor_a.check()
    expect(page_a.get_by_test_id("registration-status")).to_contain_text("Tienes un lugar")
    expect(page_a.get_by_test_id("online-link")).to_contain_text(LINK)

    # B, in Mexico City, sees both zones, joins the waitlist at position 1, without the link.
    page_b, auditor_b = _person(browser, "America/Mexico_City")
    _sign_in(page_b, auditor_b, base, "beto@ejemplo.mx", PASSWORD)
    auditor_b.goto(event_url)
    notice = page_b.get_by_test_id("time-notice")
    expect(notice).to_contain_text("18:00 en Montréal")
    expect(notice).to_contain_text("Ciudad de México")
    page_b.get_by_role("button", name="Entrar en la lista de espera").click()
    auditor_b.check()
    expect(page_b.get_by_test_id("registration-status")).to_contain_text("en el lugar 1")
    expect(page_b.locator("main")).not_to_contain_text(LINK)

    # A cancels; B is promoted, sees the link, and the outbox holds B's e-mail.
    page_a.get_by_role("button", name="Cancelar mi inscripción").click()
    auditor_a.check()
    auditor_b.goto(event_url)
    expect(page_b.get_by_test_id("registration-status")).to_contain_text("Tienes un lugar")
    expect(page_b.get_by_test_id("online-link")).to_contain_text(LINK)
    auditor_b.screenshot("events-promoted")
    with live_server.app.app_context():
        mail = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "event_promoted")
        ).all()
        assert [m.recipient for m in mail] == ["beto@ejemplo.mx"]

    # The coordinator's attendee list shows who has the seat and who left.
    auditor.goto(event_url.rstrip("/") + "/attendees")
    table = page.get_by_test_id("attendees")
    expect(table).to_contain_text("Beto Espera")
    expect(table).to_contain_text("Cancelado")
    auditor.screenshot("events-attendees")
    for extra in (auditor_a, auditor_b):
        assert extra.console_errors == []
