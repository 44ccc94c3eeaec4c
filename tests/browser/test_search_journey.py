"""An organisation searches in Spanish for an expert whose profile is in English; an anonymous
visitor finds only public profiles. axe on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from network.auth.cli import create_confirmed_user
from network.auth.models import User
from network.db import utcnow
from network.extensions import db
from network.members.services import update_profile
from network.organisations.models import Organisation, OrganisationKind
from network.security import Role

pytestmark = pytest.mark.browser

PASSWORD = "clave de la secretaría 2026"


def _setup(app) -> None:
    with app.test_request_context():
        expert = create_confirmed_user(
            "hydro@example.org", "Grace Hydro", PASSWORD, Role.MEMBER, "en"
        )
        update_profile(expert, {"headline": "Hydrologist, University of Arizona",
                                "expertise": "hydrology", "country": "US",
                                "headline_visibility": "organisations"})  # fmt: skip
        public = create_confirmed_user("publica@ejemplo.mx", "Lucía Pública", PASSWORD, Role.MEMBER)
        update_profile(public, {"expertise": "hydrology", "country": "CA", "name_public": True,
                                "expertise_visibility": "public", "country_visibility": "public"})  # fmt: skip
        organisation = Organisation(slug="conagua", name="Comisión Nacional del Agua",
                                    kind=OrganisationKind.MINISTRY, verified_at=utcnow())  # fmt: skip
        db.session.add(organisation)
        official = create_confirmed_user("funcionaria@conagua.gob.mx", "Funcionaria Conagua",
                                         PASSWORD, Role.ORGANISATION)  # fmt: skip
        official.organisation = organisation
        db.session.commit()
        assert db.session.query(User).count() == 4


def test_organisation_finds_an_english_profile_in_spanish(live_server, page, auditor):
    base = live_server.url
    _setup(live_server.app)
    auditor.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill("funcionaria@conagua.gob.mx")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Iniciar sesión").click()
    auditor.check()

    search_box = page.get_by_role("searchbox", name="Buscar en la red")
    search_box.fill("hidrología")
    search_box.press("Enter")
    auditor.check()
    expect(page.get_by_test_id("search-total")).to_contain_text("2 resultados")
    grace = page.get_by_test_id("search-hit").filter(has_text="Grace Hydro")
    expect(grace).to_contain_text("Hydrologist, University of Arizona")
    expect(grace.get_by_test_id("why")).to_contain_text("Hidrología (Experiencia)")

    page.locator("details[data-facet=country] summary").click()
    page.locator("details[data-facet=country]").get_by_role("link", name="Estados Unidos").click()
    auditor.check()
    expect(page.get_by_test_id("search-total")).to_contain_text("1 resultado")
    expect(page.get_by_test_id("search-hit")).to_contain_text("Grace Hydro")
    auditor.screenshot("search-organisation")


def test_anonymous_visitors_find_only_public_profiles(live_server, page, auditor):
    base = live_server.url
    _setup(live_server.app)
    auditor.goto(base + "/search?q=hydrology")
    expect(page.get_by_test_id("search-total")).to_contain_text("1 resultado")
    expect(page.get_by_test_id("search-hit")).to_contain_text("Lucía Pública")
    expect(page.locator("main")).not_to_contain_text("Grace Hydro")
    page.get_by_role("link", name="Lucía Pública").click()
    auditor.check()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Lucía Pública"))
