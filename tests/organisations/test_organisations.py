"""Organisations register, IME verifies or rejects them with a reason; everything is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.audit import AuditEntry
from network.auth.models import User
from network.errors import ValidationError
from network.extensions import db
from network.organisations.models import Organisation, OrganisationKind
from network.organisations.services import create_organisation
from network.security import Role
from tests.conftest import login

FORM = {
    "name": "Comisión Nacional del Agua",
    "kind": "ministry",
    "country": "MX",
    "state_code": "",
    "website": "https://www.gob.mx/conagua",
    "email_domain": "conagua.gob.mx",
}


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _organisation(app, slug: str = "comision-nacional-del-agua") -> Organisation:
    with app.app_context():
        return db.session.scalar(select(Organisation).where(Organisation.slug == slug))


def test_joining_as_an_organisation_creates_an_organisation_account(client, app):
    response = client.post(
        "/register",
        data={
            "full_name": "Rosa Funcionaria",
            "email": "rosa@conagua.gob.mx",
            "password": "una clave bastante larga 2026",
            "password_confirm": "una clave bastante larga 2026",
            "language": "es",
            "account_type": "organisation",
        },
    )
    assert response.status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "rosa@conagua.gob.mx"))
        assert user.role == Role.ORGANISATION and user.profile is None


def test_an_organisation_waits_for_ime_then_is_verified(app, make_user, network, outbox):
    official = make_user(
        full_name="Rosa Funcionaria", email="rosa@conagua.gob.mx", role=Role.ORGANISATION
    )
    client = login(app.test_client(), official)
    assert client.get("/organisation").headers["Location"].endswith("/organisation/register")
    mismatch = client.post("/organisation/register", data={**FORM, "email_domain": "sep.gob.mx"})
    assert "rosa@conagua.gob.mx" in mismatch.text and _organisation(app) is None
    assert client.post("/organisation/register", data=FORM).status_code == 302
    page = client.get("/organisation").text
    assert "En espera de la verificación del IME" in page  # the account's language: Spanish
    assert _organisation(app).status == "pending"

    ime = login(app.test_client(), network.ime)
    listing = ime.get("/admin/organisations").text
    assert "Comisión Nacional del Agua" in listing and "rosa@conagua.gob.mx" in listing
    organisation = _organisation(app)
    assert ime.post(f"/admin/organisations/{organisation.id}/verify").status_code == 302
    assert _organisation(app).is_verified
    mail = [
        m
        for m in outbox()
        if m.recipient == "rosa@conagua.gob.mx" and m.kind == "organisation_verified"
    ]
    assert len(mail) == 1 and "Comisión Nacional del Agua" in mail[0].body
    assert _actions(app)[-2:] == ["organisation.registered", "organisation.verified"]
    # A verified organisation is not registered twice.
    assert client.get("/organisation/register").status_code == 302


def test_a_rejection_says_why_and_the_organisation_may_correct_it(app, make_user, network, outbox):
    official = make_user(
        full_name="Rosa Funcionaria", email="rosa@conagua.gob.mx", role=Role.ORGANISATION
    )
    client = login(app.test_client(), official)
    client.post("/organisation/register", data={**FORM, "website": ""})
    organisation = _organisation(app)
    ime = login(app.test_client(), network.ime)
    ime.post(f"/admin/organisations/{organisation.id}/reject", data={"reason": ""})
    assert _organisation(app).status == "pending"  # no reason, no rejection
    reason = "Falta el sitio oficial de la institución."
    ime.post(f"/admin/organisations/{organisation.id}/reject", data={"reason": reason})
    assert _organisation(app).status == "rejected"
    mail = [m for m in outbox() if m.kind == "organisation_rejected"]
    assert len(mail) == 1 and reason in mail[0].body
    assert reason in client.get("/organisation").text
    assert client.post("/organisation/register", data=FORM).status_code == 302
    again = _organisation(app)
    assert (
        again.status == "pending"
        and again.website == FORM["website"]
        and again.id == organisation.id
    )
    assert _actions(app)[-3:] == [
        "organisation.registered",
        "organisation.rejected",
        "organisation.registered",
    ]
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "organisation.rejected")
        ).one()
        assert entry.actor_id == network.ime.id and entry.detail == reason


def test_invalid_details_get_a_message_and_nothing_is_saved(app, make_user):
    official = make_user(email="rosa@conagua.gob.mx", role=Role.ORGANISATION)
    client = login(app.test_client(), official)
    for changes in (
        {"name": "X"},
        {"kind": "club"},
        {"country": "ZZ"},
        {"state_code": "MX-XXX"},
        {"country": "US", "state_code": "MX-SON"},
        {"website": "gob.mx"},
        {"email_domain": "not a domain"},
    ):
        response = client.post("/organisation/register", data={**FORM, **changes})
        assert response.status_code == 200, changes
        assert 'class="invalid-feedback' in response.text or "alert-danger" in response.text, (
            changes
        )
    assert _organisation(app) is None


def test_only_organisation_accounts_have_an_organisation_page(app, network):
    assert app.test_client().get("/organisation").status_code == 302
    for user in (network.member, network.coordinator, network.ime):
        assert login(app.test_client(), user).get("/organisation").status_code == 403
        assert login(app.test_client(), user).get("/organisation/register").status_code == 403
    for user in (network.member, network.coordinator, network.org_user):
        client = login(app.test_client(), user)
        assert client.get("/admin/organisations").status_code == 403
        org_id = network.organisation.id
        assert client.post(f"/admin/organisations/{org_id}/verify").status_code == 403
    assert login(app.test_client(), network.org_user).get("/organisation").status_code == 200


SLUG_RULE = "lowercase letters, digits and single hyphens"


@pytest.mark.parametrize(
    ("given", "example"),
    [
        ("Bad Slug!", "bad-slug"),
        ("secretaría-de-salud", "secretaria-de-salud"),
        ("doble--guion", "doble-guion"),
        ("-inicio", "inicio"),
        ("con/barra", "con-barra"),
        ("", "secretaria-de-salud"),
        ("a" * 81, "a" * 80),
    ],
)
def test_create_organisation_refuses_a_slug_that_is_not_url_safe(app, given, example):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ValidationError) as refused:
            create_organisation(given, "Una organización", OrganisationKind.NGO)
        assert refused.value.field == "slug"
        assert SLUG_RULE in str(refused.value.message)
        assert f"“{example}”" in str(refused.value.message)
        assert db.session.scalar(select(Organisation.id)) is None


def test_create_organisation_keeps_a_good_slug_in_lower_case(app):
    with app.app_context():
        assert (
            create_organisation(" SECIHTI ", "Secihti", OrganisationKind.MINISTRY).slug == "secihti"
        )
        assert (
            create_organisation("gob-son-2", "Sonora", OrganisationKind.STATE_GOVERNMENT).slug
            == "gob-son-2"
        )


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Comisión Nacional del Agua", "comision-nacional-del-agua"),
        ("北京大学 (Peking University)", "peking-university"),
        ("北京大学", "organisation"),
        ("Straße & Söhne GmbH", "strasse-sohne-gmbh"),
    ],
)
def test_a_registered_organisation_gets_a_url_safe_slug_from_its_name(app, make_user, name, slug):
    """The web form never asks for a slug: it is derived, and URL-safe whatever the script."""
    user = make_user(email="rosa@conagua.gob.mx", role=Role.ORGANISATION)
    client = login(app.test_client(), user)

    response = client.post("/organisation/register", data={**FORM, "name": name})

    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Organisation.slug)) == slug


def test_create_organisation_needs_a_full_name(app):
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            create_organisation("vacia", "  ", OrganisationKind.NGO)
        assert refused.value.field == "name"
        assert db.session.scalar(select(Organisation.id)) is None
