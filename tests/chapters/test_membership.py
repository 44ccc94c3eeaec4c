"""Joining chapters, coordinators answering, leaving; coordinators' tools; IME's management."""

from __future__ import annotations

from sqlalchemy import select

from chapters.models import Chapter, ChapterMembership, ChapterRole, MembershipStatus
from network.extensions import db
from tests.conftest import login


def _membership(app, user, chapter):
    with app.app_context():
        return db.session.scalar(
            select(ChapterMembership).where(
                ChapterMembership.user_id == user.id, ChapterMembership.chapter_id == chapter.id
            )
        )


def test_join_request_approve_flow(app, client, network, outbox):
    login(client, network.member)
    page = client.post(
        "/chapters/madrid/join", data={"message": "Quiero dar mentorías."}, follow_redirects=True
    )
    body = page.get_data(as_text=True)
    assert "Tu solicitud se envió a la coordinación de Madrid." in body
    assert "está en espera de respuesta de la coordinación" in body
    request_mail = outbox()[-1]
    assert request_mail.recipient == "jorge@ejemplo.mx"
    assert "Ana López Núñez" in request_mail.body and "Quiero dar mentorías." in request_mail.body

    again = client.post("/chapters/madrid/join", follow_redirects=True).get_data(as_text=True)
    assert "Ya solicitaste unirte" in again

    coordinator = login(app.test_client(), network.coordinator)
    queue = coordinator.get("/chapters/madrid/requests").get_data(as_text=True)
    assert "Ana López Núñez" in queue
    membership = _membership(app, network.member, network.madrid)
    coordinator.post(f"/chapters/madrid/requests/{membership.id}", data={"decision": "approve"})

    assert _membership(app, network.member, network.madrid).status == MembershipStatus.APPROVED
    assert outbox()[-1].recipient == "ana@ejemplo.mx"
    detail = client.get("/chapters/madrid").get_data(as_text=True)
    assert "Eres miembro de este capítulo." in detail
    assert "2 miembros" in detail  # the coordinator and Ana
    members = coordinator.get("/chapters/madrid/members").get_data(as_text=True)
    assert "Ana López Núñez" in members
    assert "ana@ejemplo.mx" not in members, "her address is private unless she shares it"


def test_declined_member_may_ask_again(app, client, network, add_membership):
    membership = add_membership(network.member, network.madrid, status=MembershipStatus.PENDING)
    coordinator = login(app.test_client(), network.coordinator)
    coordinator.post(f"/chapters/madrid/requests/{membership.id}", data={"decision": "decline"})
    assert _membership(app, network.member, network.madrid).status == MembershipStatus.DECLINED

    login(client, network.member)
    assert "Tu última solicitud fue rechazada" in client.get("/chapters/madrid").get_data(
        as_text=True
    )
    client.post("/chapters/madrid/join")
    assert _membership(app, network.member, network.madrid).status == MembershipStatus.PENDING


def test_a_request_is_answered_once(app, network, add_membership):
    membership = add_membership(network.member, network.madrid, status=MembershipStatus.PENDING)
    coordinator = login(app.test_client(), network.coordinator)
    coordinator.post(f"/chapters/madrid/requests/{membership.id}", data={"decision": "approve"})
    second = coordinator.post(
        f"/chapters/madrid/requests/{membership.id}",
        data={"decision": "decline"},
        follow_redirects=True,
    )
    assert "Esta solicitud ya fue respondida." in second.get_data(as_text=True)
    assert _membership(app, network.member, network.madrid).status == MembershipStatus.APPROVED


def test_bad_decision_value_is_refused(app, network, add_membership):
    membership = add_membership(network.member, network.madrid, status=MembershipStatus.PENDING)
    coordinator = login(app.test_client(), network.coordinator)
    page = coordinator.post(
        f"/chapters/madrid/requests/{membership.id}",
        data={"decision": "maybe"},
        follow_redirects=True,
    )
    assert "Elige si apruebas o rechazas la solicitud." in page.get_data(as_text=True)
    assert _membership(app, network.member, network.madrid).is_pending


def test_coordinator_cannot_decide_another_chapters_requests(app, network, add_membership):
    membership = add_membership(network.member, network.madrid, status=MembershipStatus.PENDING)
    other = login(app.test_client(), network.other_coordinator)
    response = other.post(
        f"/chapters/madrid/requests/{membership.id}", data={"decision": "approve"}
    )
    assert response.status_code == 403
    # A membership id of another chapter under this coordinator's own chapter is not found.
    response = other.post(f"/chapters/paris/requests/{membership.id}", data={"decision": "approve"})
    assert response.status_code == 404
    assert _membership(app, network.member, network.madrid).is_pending


def test_members_may_belong_to_several_chapters_and_leave(app, client, network, add_membership):
    add_membership(network.member, network.madrid)
    add_membership(network.member, network.paris)
    login(client, network.member)
    mine = client.get("/my/chapters").get_data(as_text=True)
    assert "Madrid" in mine and "París" in mine
    client.post("/chapters/paris/leave")
    assert _membership(app, network.member, network.paris) is None
    assert _membership(app, network.member, network.madrid) is not None


def test_only_members_join_and_only_active_chapters(app, client, network):
    login(client, network.org_user)
    assert client.post("/chapters/madrid/join").status_code == 403
    with app.app_context():
        db.session.get(Chapter, network.paris.id).is_active = False
        db.session.commit()
    member = login(app.test_client(), network.member)
    page = member.post("/chapters/paris/join", follow_redirects=True).get_data(as_text=True)
    assert "no está activo" in page
    assert _membership(app, network.member, network.paris) is None


def test_unconfirmed_members_cannot_join(app, client, make_user, network):
    login(client, make_user(email_confirmed_at=None))
    page = client.post("/chapters/madrid/join", follow_redirects=True).get_data(as_text=True)
    assert "confirma tu correo electrónico" in page


def test_coordinator_edits_own_chapter_with_validation(app, network):
    coordinator = login(app.test_client(), network.coordinator)
    form = {
        "name": "Madrid",
        "city": "Madrid",
        "timezone": "Europe/Madrid",
        "founded_year": "2009",
        "description": "Charlas *mensuales*.",
    }
    assert coordinator.post("/chapters/madrid/edit", data=form).status_code == 302
    page = coordinator.get("/chapters/madrid").get_data(as_text=True)
    assert "<em>mensuales</em>" in page and "desde 2009" in page

    bad = coordinator.post("/chapters/madrid/edit", data={**form, "timezone": "Mars/Olympus"})
    assert bad.status_code == 200 and "is-invalid" in bad.get_data(as_text=True)
    bad = coordinator.post("/chapters/madrid/edit", data={**form, "founded_year": "1990"})
    assert "is-invalid" in bad.get_data(as_text=True)
    assert coordinator.post("/chapters/paris/edit", data=form).status_code == 403


def test_chapter_description_cannot_run_script(app, network):
    coordinator = login(app.test_client(), network.coordinator)
    evil = "Hola <script>alert(1)</script> [clic](javascript:alert(1)) <img src=x onerror=alert(1)>"
    coordinator.post(
        "/chapters/madrid/edit",
        data={"name": "Madrid", "city": "Madrid", "timezone": "Europe/Madrid", "description": evil},
    )
    page = coordinator.get("/chapters/madrid").get_data(as_text=True)
    description = page.split('class="user-text">')[1].split("</div>")[0]
    assert "<script" not in description and "<img" not in description
    assert 'href="javascript:' not in description
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in description, "shown as text, harmless"


def test_ime_assigns_and_removes_coordinators(app, network, outbox):
    ime = login(app.test_client(), network.ime)
    unknown = ime.post("/admin/chapters/paris/coordinators", data={"email": "nadie@ejemplo.mx"})
    assert "Ninguna cuenta usa este correo" in unknown.get_data(as_text=True)
    org = ime.post("/admin/chapters/paris/coordinators", data={"email": "mariana@secihti.gob.mx"})
    assert "Solo las cuentas de miembro pueden coordinar" in org.get_data(as_text=True)

    ime.post("/admin/chapters/paris/coordinators", data={"email": "ana@ejemplo.mx"})
    membership = _membership(app, network.member, network.paris)
    assert membership.role == ChapterRole.COORDINATOR and membership.is_approved
    assert outbox()[-1].recipient == "ana@ejemplo.mx"
    ana = login(app.test_client(), network.member)
    assert ana.get("/chapters/paris/requests").status_code == 200

    ime.post(f"/admin/chapters/paris/coordinators/{network.member.id}/remove")
    assert _membership(app, network.member, network.paris).role == ChapterRole.MEMBER
    assert ana.get("/chapters/paris/requests").status_code == 403


def test_ime_creates_and_deactivates_chapters(app, network):
    ime = login(app.test_client(), network.ime)
    with app.app_context():
        region_id = db.session.get(Chapter, network.madrid.id).region_id
    form = {
        "slug": "lisboa",
        "name": "Lisboa",
        "region": str(region_id),
        "country": "PT",
        "city": "Lisboa",
        "timezone": "Europe/Lisbon",
        "is_active": "y",
    }
    assert ime.post("/admin/chapters/new", data=form).status_code == 302
    assert "Lisboa" in ime.get("/regions").get_data(as_text=True)
    clash = ime.post("/admin/chapters/new", data=form).get_data(as_text=True)
    assert "Otro capítulo ya usa esta dirección" in clash
    bad_slug = ime.post("/admin/chapters/new", data={**form, "slug": "Lisboa Norte"})
    assert "is-invalid" in bad_slug.get_data(as_text=True)

    ime.post("/admin/chapters/lisboa/edit", data={**form, "is_active": ""})
    assert "Lisboa" not in ime.get("/regions").get_data(as_text=True)


def test_regions_page_counts_members_without_n_plus_one(
    app, client, network, add_membership, make_user, make_chapter, count_queries
):
    add_membership(network.member, network.madrid)
    with count_queries() as few:
        client.get("/regions")
    for n in range(5):
        chapter = make_chapter(slug=f"extra-{n}", name=f"Extra {n}")
        add_membership(make_user(), chapter)
    with count_queries() as many:
        body = client.get("/regions").get_data(as_text=True)
    assert many.count == few.count
    assert "Extra 4" in body


def test_unknown_pages_give_the_404_page(client, network):
    response = client.get("/chapters/atlantida")
    assert response.status_code == 404
    assert "No encontramos la página" in response.get_data(as_text=True)
    assert client.get("/nodes/xx").status_code == 404
    english = client.get("/chapters/atlantida", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "We could not find the page" in english.get_data(as_text=True)


def test_chapter_pages_respect_profile_visibility(app, network, make_member, add_membership):
    shares = make_member(
        {"email_visibility": "coordinators"}, email="comparte@ejemplo.mx", full_name="Sara Comparte"
    )
    keeps = make_member({}, email="reservada@ejemplo.mx", full_name="Rita Reservada")
    add_membership(shares, network.madrid)
    add_membership(keeps, network.madrid)
    coordinator = login(app.test_client(), network.coordinator)
    page = coordinator.get("/chapters/madrid/members").get_data(as_text=True)
    assert "comparte@ejemplo.mx" in page and "reservada@ejemplo.mx" not in page
    assert "Rita Reservada" in page
    other = login(app.test_client(), network.other_coordinator)
    assert other.get("/chapters/madrid/members").status_code == 403
    # The coordinator's name is not public unless they choose it.
    anonymous = app.test_client().get("/chapters/madrid").get_data(as_text=True)
    assert "Jorge Peña" not in anonymous
    signed_in = login(app.test_client(), network.member).get("/chapters/madrid")
    assert "Jorge Peña" in signed_in.get_data(as_text=True)
