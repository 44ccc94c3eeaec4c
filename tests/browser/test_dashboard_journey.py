"""IME verifies a state ministry, sees in the gap table that its need for drinking-water
treatment (posted by the state's water commission) is not covered, maps a member's free tag to that concept, sees the need covered and
downloads the table as CSV. axe on every page."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from network.auth.cli import create_confirmed_user
from network.db import utcnow
from network.extensions import db
from network.members.profile_input import parse_profile
from network.members.services import update_profile
from network.needs.models import NeedStatus
from network.needs.services import NeedData, post_need
from network.organisations.models import Organisation, OrganisationKind
from network.security import Role
from tests.browser.conftest import Auditor

pytestmark = pytest.mark.browser

PASSWORD = "clave de la comision 2026"
CONCEPT = "Potabilización y tratamiento de agua"


def _sign_in(page, auditor: Auditor, base: str, email: str) -> None:
    auditor.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Iniciar sesión").click()
    auditor.check()


def _gap_row(page, label: str):
    return page.get_by_test_id("table-gap").locator("tbody tr").filter(has_text=label)


def test_ime_verifies_maps_a_tag_and_reads_the_gap_table(live_server, page, auditor):
    base = live_server.url
    with live_server.app.test_request_context():
        from sqlalchemy import select

        from chapters.models import Node
        from network.members.models import Concept, Sector

        create_confirmed_user("admin@ime.gob.mx", "Admin IME", PASSWORD, Role.IME)
        waiting = Organisation(
            slug="salud-sonora",
            name="Secretaría de Salud de Sonora",
            kind=OrganisationKind.STATE_GOVERNMENT,
        )
        water = Organisation(
            slug="ceas-sonora",
            name="Comisión Estatal del Agua de Sonora",
            kind=OrganisationKind.STATE_GOVERNMENT,
            verified_at=utcnow(),
        )
        db.session.add_all([waiting, water])
        create_confirmed_user(
            "luis@salud.sonora.gob.mx", "Luis Funcionario", PASSWORD, Role.ORGANISATION
        ).organisation = waiting
        official = create_confirmed_user(
            "rosa@ceas.gob.mx", "Rosa Funcionaria", PASSWORD, Role.ORGANISATION
        )
        official.organisation = water
        db.session.flush()
        concept = db.session.scalar(select(Concept).where(Concept.slug == "water-treatment"))
        post_need(
            official,
            NeedData(
                title="Potabilizadora para comunidades de la sierra",
                description="Asesoría técnica.",
                sector=db.session.scalar(select(Sector).where(Sector.slug == "water")),
                required=[concept],
                nice=[],
                languages=["es"],
                modes=["remote_advice"],
                effort_days=10,
                node=db.session.scalar(select(Node).where(Node.code == "MX-SON")),
                status=NeedStatus.OPEN,
            ),
        )
        elena = create_confirmed_user(
            "elena@ejemplo.mx", "Elena Ruiz Castro", PASSWORD, Role.MEMBER
        )
        update_profile(
            elena,
            parse_profile(
                {
                    "expertise": "filtros cerámicos comunitarios",
                    "country": "ES",
                    "open_to_requests": "yes",
                    "languages": "es:native",
                }
            ),
        )
        db.session.commit()

    _sign_in(page, auditor, base, "admin@ime.gob.mx")
    page.get_by_role("link", name="Administración").click()
    auditor.check()
    page.get_by_role("link", name="Organizaciones").click()
    auditor.check()
    page.get_by_test_id("organisation-salud-sonora").get_by_role(
        "button", name="Verificar Secretaría de Salud de Sonora", exact=True
    ).click()
    auditor.check()
    expect(page.locator("main")).to_contain_text("quedó verificada")

    page.locator("#account-menu").click()
    page.get_by_test_id("nav-dashboard").click()
    auditor.check()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tablero")
    page.get_by_label("Periodo").select_option("all")
    page.get_by_role("button", name="Mostrar").click()
    auditor.check()
    page.get_by_role("link", name="por concepto solicitado").click()
    auditor.check()
    row = _gap_row(page, CONCEPT)
    expect(row).to_contain_text("sin cubrir")  # Elena's tag is not a concept yet

    auditor.goto(base + "/admin/tags")
    tag = page.get_by_test_id("free-tag").filter(has_text="filtros cerámicos comunitarios")
    tag.get_by_label("Concepto para «filtros cerámicos comunitarios»").fill("water-treatment")
    tag.get_by_role("button", name="Asignar").click()
    auditor.check()
    expect(page.locator("main")).to_contain_text(CONCEPT)

    auditor.goto(base + "/dashboard?period=all&by=concept")
    row = _gap_row(page, CONCEPT)
    expect(row).not_to_contain_text("sin cubrir")
    expect(row.locator("td").nth(1)).to_have_text("1")  # one expert available now
    expect(row.locator("td.heat-4")).to_have_text("1")  # in Spain, the darkest cell
    page.locator("#gap").scroll_into_view_if_needed()
    auditor.screenshot("dashboard-gap")

    with page.expect_download() as download:
        page.get_by_test_id("csv-gap").click()
    path = download.value.path()
    with open(path, encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0][:3] == [
        "Concepto solicitado",
        "Necesidades publicadas",
        "Personas expertas disponibles",
    ]
    assert next(r for r in rows if r[0] == CONCEPT)[:3] == [CONCEPT, "1", "1"]
    assert download.value.suggested_filename == "red-global-mx-gap-all.csv"

    auditor.goto(base + "/dashboard?period=24m")
    auditor.screenshot("dashboard")
