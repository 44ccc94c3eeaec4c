"""IME administration of regions and nodes, and the forms' refusals."""

from __future__ import annotations

from chapters.models import Node, Region
from network.extensions import db
from tests.conftest import _saved, login


def test_ime_creates_and_edits_regions(app, network):
    ime = login(app.test_client(), network.ime)
    form = {
        "slug": "africa",
        "name_es": "África",
        "name_en": "Africa",
        "position": "5",
        "description_es": "Capítulos en África.",
        "description_en": "Chapters in Africa.",
    }
    assert ime.post("/admin/regions/new", data=form).status_code == 302
    assert "África" in ime.get("/regions").get_data(as_text=True)

    clash = ime.post("/admin/regions/new", data=form).get_data(as_text=True)
    assert "Otra región ya usa esta dirección." in clash
    missing = ime.post("/admin/regions/new", data={**form, "slug": "oceania", "name_en": ""})
    assert "Este campo es obligatorio." in missing.get_data(as_text=True)

    ime.post("/admin/regions/africa/edit", data={**form, "name_es": "África y Medio Oriente"})
    with app.app_context():
        region = db.session.scalar(db.select(Region).where(Region.slug == "africa"))
        assert region.name_es == "África y Medio Oriente"


def test_ime_edits_a_node_description_in_both_languages(app, network):
    _saved(
        app,
        Node(
            code="MX-SON",
            inegi_code="26",
            name="Sonora",
            capital="Hermosillo",
            timezone="America/Hermosillo",
        ),
    )
    ime = login(app.test_client(), network.ime)
    ime.post(
        "/admin/nodes/son/edit",
        data={
            "description_es": "Agua y energía solar.",
            "description_en": "Water and solar power.",
        },
    )
    assert "Agua y energía solar." in ime.get("/nodes/son").get_data(as_text=True)
    english = ime.get("/nodes/son", headers={"Accept-Language": "en"})
    assert "Agua y energía solar." in english.get_data(as_text=True), "IME prefers Spanish"
    anonymous = app.test_client().get("/nodes/son", headers={"Accept-Language": "en"})
    assert "Water and solar power." in anonymous.get_data(as_text=True)
    too_long = ime.post("/admin/nodes/son/edit", data={"description_es": "x" * 2001})
    assert too_long.status_code == 200 and "is-invalid" in too_long.get_data(as_text=True)


def test_resend_confirmation_does_not_reveal_accounts(client, make_user, outbox):
    make_user(email="nueva@ejemplo.mx", email_confirmed_at=None)
    make_user(email="vieja@ejemplo.mx")
    for email in ("nueva@ejemplo.mx", "vieja@ejemplo.mx", "nadie@ejemplo.mx"):
        page = client.post("/confirm", data={"email": email}, follow_redirects=True)
        assert "Si ese correo tiene una cuenta sin confirmar" in page.get_data(as_text=True)
    assert [m.recipient for m in outbox()] == ["nueva@ejemplo.mx"]


def test_forged_confirmation_link_is_refused(client):
    page = client.get("/confirm/not-a-real-token", follow_redirects=True)
    assert "Este enlace de confirmación no es válido." in page.get_data(as_text=True)


def test_member_list_is_paginated_without_n_plus_one(
    app, network, make_user, add_membership, count_queries
):
    app.config["MEMBER_LIST_PAGE_SIZE"] = 5
    coordinator = login(app.test_client(), network.coordinator)
    with count_queries() as few:
        coordinator.get("/chapters/madrid/members")
    for _ in range(12):
        add_membership(make_user(), network.madrid)
    with count_queries() as many:
        page = coordinator.get("/chapters/madrid/members?page=3").get_data(as_text=True)
    assert many.count == few.count
    assert "13 miembros" in page
    assert page.count("<tr>") == 4  # the header and three rows
