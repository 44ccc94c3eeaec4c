"""The member directory: filters, sorting, pagination and a constant number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from network.auth.models import User
from network.db import utcnow
from network.extensions import db
from network.members.models import Concept
from tests.conftest import login


def _names(page: str) -> list[str]:
    return re.findall(r'<h2 class="h6 mb-0" id="member-\d+"><a href="[^"]+">([^<]+)</a>', page)


def test_filters_by_visible_fields(app, network, make_member, vocabulary, add_membership):
    ana = make_member(
        {
            "country": "US",
            "expertise": "hydrology",
            "languages": "es;en",
            "modes": "mentoring",
            "open_to_mentor": True,
            "mentor_capacity": 2,
        },
        full_name="Ana Agua",
    )
    beto = make_member(
        {"country": "ES", "expertise": "wind-power", "languages": "es;fr"}, full_name="Beto Viento"
    )
    add_membership(ana, network.madrid)
    client = login(app.test_client(), network.member)
    assert _names(client.get("/members").get_data(as_text=True)) == ["Ana Agua", "Beto Viento"]
    cases = {
        "country=US": ["Ana Agua"],
        "concept=wind-power": ["Beto Viento"],
        "sector=water": ["Ana Agua"],
        "language=fr": ["Beto Viento"],
        "mode=mentoring": ["Ana Agua"],
        "mentoring=y": ["Ana Agua"],
        "chapter=madrid": ["Ana Agua"],
        "region=europe": ["Ana Agua"],
        "country=MX": [],
    }
    for query, expected in cases.items():
        assert _names(client.get(f"/members?{query}").get_data(as_text=True)) == expected, query
    assert beto


def test_sort_by_recently_confirmed(app, network, make_member):
    old = make_member(full_name="Aaron Antiguo")
    make_member(full_name="Zoe Reciente")
    with app.app_context():
        db.session.get(User, old.id).profile.confirmed_at = utcnow() - timedelta(days=90)
        db.session.commit()
    client = login(app.test_client(), network.member)
    assert _names(client.get("/members?sort=recent").get_data(as_text=True)) == [
        "Zoe Reciente",
        "Aaron Antiguo",
    ]


def test_bad_filter_values_do_not_break_the_page(app, network, make_member):
    make_member(full_name="Ana Agua")
    client = login(app.test_client(), network.member)
    for query in ("country=%3Cscript%3E", "page=-4", "page=abc", "sort=drop+table", "concept=x"):
        response = client.get(f"/members?{query}")
        assert response.status_code == 200, query
        assert "<script>" not in response.get_data(as_text=True)


def test_directory_runs_a_constant_number_of_queries(
    app, network, make_member, vocabulary, add_membership, count_queries
):
    profile = {
        "country": "US",
        "expertise": "hydrology; water-treatment; free tag",
        "languages": "es:native;en:C1",
        "modes": "mentoring;research",
        "state_of_origin": "",
        "headline": "Hidróloga",
    }
    first = make_member(profile)
    add_membership(first, network.madrid)
    client = login(app.test_client(), network.ime)
    with count_queries() as few:
        client.get("/members")
    for _ in range(15):
        add_membership(make_member(profile), network.paris)
    with count_queries() as many:
        page = client.get("/members").get_data(as_text=True)
    assert len(_names(page)) == 16
    assert many.count == few.count


def test_pagination(app, network, make_member):
    app.config["DIRECTORY_PAGE_SIZE"] = 2
    for name in ("Ana", "Beto", "Carla"):
        make_member(full_name=f"{name} Prueba")
    client = login(app.test_client(), network.member)
    assert _names(client.get("/members?page=2").get_data(as_text=True)) == ["Carla Prueba"]


def test_a_broader_concept_lists_the_experts_under_it(app, network, make_member, vocabulary):
    """Filtering the directory by "Renewable energy" lists the wind and solar experts, not the
    hydrologist; filtering by "Wind power" still lists only its own experts."""
    make_member({"expertise": "wind-power"}, full_name="Beto Viento")
    make_member({"expertise": "solar-photovoltaics"}, full_name="Sol Ángeles")
    make_member({"expertise": "hydrology"}, full_name="Ana Agua")
    with app.app_context():
        concepts = {c.slug: c for c in db.session.scalars(select(Concept))}
        db.session.add(
            Concept(
                slug="renewable-energy",
                sector=concepts["wind-power"].sector,
                label_es="Energías renovables",
                label_en="Renewable energy",
                narrower=[concepts["wind-power"], concepts["solar-photovoltaics"]],
            )
        )
        db.session.commit()
    client = login(app.test_client(), network.member)
    broader = client.get("/members?concept=renewable-energy").get_data(as_text=True)
    assert _names(broader) == ["Beto Viento", "Sol Ángeles"]
    narrow = client.get("/members?concept=wind-power").get_data(as_text=True)
    assert _names(narrow) == ["Beto Viento"]
