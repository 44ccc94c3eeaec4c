"""An organisation searches in Spanish for an expert whose profile is in English; an anonymous
visitor finds only public profiles. axe on every page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from network.auth.cli import create_confirmed_user
from network.auth.models import User
from network.db import utcnow
from network.extensions import db
from network.members.profile_input import parse_profile
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
        update_profile(
            expert,
            parse_profile(
                {
                    "headline": "Hydrologist, University of Arizona",
                    "expertise": "hydrology",
                    "country": "US",
                    "headline_visibility": "organisations",
                }
            ),
        )
        public = create_confirmed_user("publica@ejemplo.mx", "Lucía Pública", PASSWORD, Role.MEMBER)
        update_profile(
            public,
            parse_profile(
                {
                    "expertise": "hydrology",
                    "country": "CA",
                    "name_public": True,
                    "expertise_visibility": "public",
                    "country_visibility": "public",
                }
            ),
        )
        organisation = Organisation(
            slug="conagua",
            name="Comisión Nacional del Agua",
            kind=OrganisationKind.MINISTRY,
            verified_at=utcnow(),
        )
        db.session.add(organisation)
        official = create_confirmed_user(
            "funcionaria@conagua.gob.mx", "Funcionaria Conagua", PASSWORD, Role.ORGANISATION
        )
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


def test_member_finds_a_mentor_in_their_time_zone_and_an_upcoming_event(live_server, page, auditor):
    """From the empty search page: "See mentors", narrow by time zone; then upcoming events
    about a topic named in the other language, and the past ones."""
    from chapters.queries import get_chapter_by_slug
    from network.events.models import EventFormat, EventStatus, EventVisibility
    from network.events.services import EventData, create_event
    from network.members.models import Concept
    from tests.browser.conftest import COORDINATOR

    base = live_server.url
    with live_server.app.test_request_context():
        for email, name, zone in (
            ("mentora@ejemplo.mx", "Elena Mentora", "America/Toronto"),
            ("mentor@ejemplo.mx", "Raúl Mentor", "Asia/Tokyo"),
        ):
            mentor = create_confirmed_user(email, name, PASSWORD, Role.MEMBER)
            update_profile(
                mentor,
                parse_profile(
                    {
                        "open_to_mentor": True,
                        "mentor_capacity": 2,
                        "timezone": zone,
                        "expertise": "hydrology",
                    }
                ),
            )
        create_confirmed_user("aprendiz@ejemplo.mx", "Sara Aprendiz", PASSWORD, Role.MEMBER)
        coordinator = db.session.query(User).filter_by(email=COORDINATOR[0]).one()
        start = (utcnow() + timedelta(days=20)).replace(hour=18, minute=0, tzinfo=None)
        create_event(
            coordinator,
            EventData(
                title="Water security in the Great Lakes",
                description="A talk with **Q&A**.",
                hosts=[get_chapter_by_slug("montreal")],
                starts_local=start,
                ends_local=start + timedelta(hours=2),
                timezone="America/Toronto",
                format=EventFormat.IN_PERSON,
                visibility=EventVisibility.PUBLIC,
                status=EventStatus.PUBLISHED,
                language="en",
                city="Montréal",
                country="CA",
                venue="Consulado General de México",
                topics=[db.session.query(Concept).filter_by(slug="hydrology").one()],
            ),
        )
        db.session.commit()

    auditor.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill("aprendiz@ejemplo.mx")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Iniciar sesión").click()
    auditor.check()

    auditor.goto(base + "/search")
    page.get_by_role("link", name="Ver mentores").click()
    auditor.check()
    expect(page.get_by_test_id("search-total")).to_contain_text("2 resultados")
    page.locator("details[data-facet=timezone] summary").click()
    page.locator("details[data-facet=timezone]").get_by_role(
        "link", name=re.compile("Toronto")
    ).click()
    auditor.check()
    expect(page.get_by_test_id("search-hit")).to_have_count(1)
    expect(page.get_by_test_id("search-hit")).to_contain_text("Elena Mentora")
    auditor.screenshot("search-mentors")

    auditor.goto(base + "/search?kind=events&q=hidrología")
    hit = page.get_by_test_id("search-hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Water security in the Great Lakes")
    expect(hit.get_by_test_id("why")).to_contain_text("hidrologia ≈ Hidrología")
    expect(hit).to_contain_text("Montréal")
    auditor.screenshot("search-events")
    page.locator("details[data-facet=when] summary").click()
    page.locator("details[data-facet=when]").get_by_role("link", name="Pasados").click()
    auditor.check()
    expect(page.get_by_test_id("search-total")).to_contain_text("0 resultados")
