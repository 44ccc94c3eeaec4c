"""Consent-gated contact: details only after acceptance, only to that organisation, never in
e-mails or exports; every step audited; fair-load caps; refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.audit import AuditEntry
from network.errors import Conflict, RateLimited
from network.extensions import db
from network.needs.models import ContactRequest, ContactStatus, Need
from network.needs.services import request_contact
from network.organisations.models import Organisation, OrganisationKind
from network.security import Role
from tests.conftest import _saved, login

ELENA_PHONE = "+52 662 555 0101"


def _request(
    app, world, need_id=None, member=None, message="Nos gustaría conversar sobre la cuenca."
):
    client = login(app.test_client(), world.org_user)
    client.post(
        f"/needs/{need_id or world.need_id}/shortlist",
        data={"member_id": (member or world.elena).id},
    )
    return client.post(
        f"/needs/{need_id or world.need_id}/contact",
        data={"member_id": (member or world.elena).id, "message": message},
    )


def _contact(app) -> ContactRequest:
    with app.app_context():
        contact = db.session.scalars(select(ContactRequest).order_by(ContactRequest.id)).first()
        db.session.expunge(contact)
        return contact


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _leaks(text: str) -> bool:
    return "elena@ejemplo.mx" in text or ELENA_PHONE in text


def test_details_appear_only_after_acceptance_and_vanish_after_withdrawal(app, world, outbox):
    assert _request(app, world).status_code == 302
    contact = _contact(app)
    org = login(app.test_client(), world.org_user)
    expert = login(app.test_client(), world.elena)
    pages = [
        f"/needs/requests/{contact.id}",
        f"/needs/{world.need_id}/shortlist",
        f"/needs/{world.need_id}/candidates",
        f"/needs/{world.need_id}",
        f"/needs/{world.need_id}/shortlist.csv",
    ]
    assert not any(_leaks(org.get(p).text) for p in pages)
    request_mail = [m for m in outbox() if m.recipient == "elena@ejemplo.mx"]
    assert len(request_mail) == 1 and "Secretaría de Ciencia" in request_mail[0].body
    assert "Nos gustaría conversar" in request_mail[0].body

    page = expert.get(f"/needs/requests/{contact.id}").text
    assert "Secretaría de Ciencia" in page and "Nos gustaría conversar" in page
    assert (
        expert.post(
            f"/needs/requests/{contact.id}/answer",
            data={"decision": "accept", "reply": "Con gusto."},
        ).status_code
        == 302
    )
    shown = org.get(f"/needs/requests/{contact.id}").text
    assert "elena@ejemplo.mx" in shown and ELENA_PHONE in shown
    assert not any(_leaks(org.get(p).text) for p in pages[1:])  # only on the request's page
    answer_mail = [m for m in outbox() if m.recipient == "mariana@secihti.gob.mx"]
    assert len(answer_mail) == 1 and not _leaks(answer_mail[0].body + answer_mail[0].subject)

    other = login(app.test_client(), world.ime)  # IME may read the request, not the details
    assert other.get(f"/needs/requests/{contact.id}").status_code == 200
    assert not _leaks(other.get(f"/needs/requests/{contact.id}").text)
    assert (
        login(app.test_client(), world.marco).get(f"/needs/requests/{contact.id}").status_code
        == 404
    )

    views = expert.get("/needs/requests").text
    assert "Mariana Ibáñez" in views  # the expert sees who viewed their details

    assert expert.post(f"/needs/requests/{contact.id}/withdraw").status_code == 302
    after = org.get(f"/needs/requests/{contact.id}").text
    assert not _leaks(after) and "retiró su consentimiento" in after
    assert _actions(app).count("contact.viewed") == 1  # the one view by the organisation
    assert {"contact.requested", "contact.accepted", "contact.withdrawn"} <= set(_actions(app))


def test_another_organisation_never_sees_the_details(app, world, make_user):
    other_org = _saved(
        app,
        Organisation(
            slug="sep",
            name="SEP",
            kind=OrganisationKind.MINISTRY,
            verified_at=world.organisation.verified_at,
        ),
    )
    stranger = make_user(
        email="ana@sep.gob.mx", role=Role.ORGANISATION, organisation_id=other_org.id
    )
    _request(app, world)
    contact = _contact(app)
    login(app.test_client(), world.elena).post(
        f"/needs/requests/{contact.id}/answer", data={"decision": "accept"}
    )
    client = login(app.test_client(), stranger)
    assert client.get(f"/needs/requests/{contact.id}").status_code == 404
    assert client.get(f"/needs/{world.need_id}/candidates").status_code == 403
    assert (
        client.post(
            f"/needs/{world.need_id}/contact",
            data={"member_id": world.marco.id, "message": "Hola, ¿podemos hablar?"},
        ).status_code
        == 403
    )


def test_a_decline_is_audited_and_reveals_nothing(app, world):
    _request(app, world)
    contact = _contact(app)
    expert = login(app.test_client(), world.elena)
    expert.post(
        f"/needs/requests/{contact.id}/answer", data={"decision": "decline", "reply": "No puedo."}
    )
    assert _contact(app).status == ContactStatus.DECLINED
    assert not _leaks(
        login(app.test_client(), world.org_user).get(f"/needs/requests/{contact.id}").text
    )
    assert "contact.declined" in _actions(app) and "contact.viewed" not in _actions(app)


def test_fair_load_caps_refuse_and_do_not_contact_the_expert(app, world, make_need, outbox):
    needs = [make_need(world.org_user, title=f"Necesidad número {n}") for n in range(4)]
    with app.test_request_context():
        org_user = db.session.merge(world.org_user)
        for need_id in needs[:3]:
            request_contact(
                org_user,
                db.session.get(Need, need_id),
                world.marco.id,
                "Una consulta breve, por favor.",
            )
        db.session.commit()
        with pytest.raises(RateLimited, match="3"):
            request_contact(
                org_user,
                db.session.get(Need, needs[3]),
                world.marco.id,
                "Una consulta breve, por favor.",
            )
        db.session.rollback()
    assert len([m for m in outbox() if m.recipient == "marco@ejemplo.mx"]) == 3
    org = login(app.test_client(), world.org_user)
    page = org.post(
        f"/needs/{needs[3]}/contact",
        data={"member_id": world.marco.id, "message": "Una consulta breve, por favor."},
    )
    assert page.status_code == 302
    follow = org.get(page.headers["Location"]).text
    assert "elige a otra persona candidata" in follow
    assert len([m for m in outbox() if m.recipient == "marco@ejemplo.mx"]) == 3


def test_at_most_six_new_requests_in_thirty_days(app, world, make_need):
    app.config["CONTACT_MAX_PENDING"] = 100
    needs = [make_need(world.org_user, title=f"Necesidad número {n}") for n in range(7)]
    with app.test_request_context():
        org_user = db.session.merge(world.org_user)
        for need_id in needs[:6]:
            contact = request_contact(
                org_user,
                db.session.get(Need, need_id),
                world.marco.id,
                "Una consulta breve, por favor.",
            )
            contact.status = ContactStatus.DECLINED  # answered: not pending any more
        db.session.commit()
        with pytest.raises(RateLimited, match="30"):
            request_contact(
                org_user,
                db.session.get(Need, needs[6]),
                world.marco.id,
                "Una consulta breve, por favor.",
            )


def test_members_not_open_to_requests_and_unverified_organisations_are_refused(
    app, world, make_member, make_user
):
    closed = make_member({"expertise": "hydrology", "open_to_requests": "no"})
    with app.test_request_context():
        need = db.session.get(Need, world.need_id)
        with pytest.raises(Conflict):
            request_contact(
                db.session.merge(world.org_user), need, closed.id, "Hola, ¿podemos hablar?"
            )
    pending = _saved(app, Organisation(slug="nueva", name="Nueva", kind=OrganisationKind.NGO))
    unverified = make_user(email="x@nueva.org", role=Role.ORGANISATION, organisation_id=pending.id)
    client = login(app.test_client(), unverified)
    assert client.get("/needs/new").status_code == 403
    assert client.get(f"/needs/{world.need_id}/candidates").status_code == 403


def test_a_member_who_expressed_interest_can_be_contacted_even_if_not_open(app, world, make_member):
    keen = make_member(
        {"expertise": "hydrology", "open_to_requests": "no"}, email="keen@ejemplo.mx"
    )
    member = login(app.test_client(), keen)
    member.post(f"/needs/{world.need_id}/interest", data={"message": "Conozco bien la cuenca."})
    org_page = login(app.test_client(), world.org_user).get(f"/needs/{world.need_id}").text
    assert "Conozco bien la cuenca." in org_page
    assert _request(app, world, member=keen).status_code == 302
    assert _contact(app).member_id == keen.id


def test_ime_browses_the_audit_log_by_action_and_subject(app, world):
    _request(app, world)
    contact = _contact(app)
    login(app.test_client(), world.elena).post(
        f"/needs/requests/{contact.id}/answer", data={"decision": "accept"}
    )
    login(app.test_client(), world.org_user).get(f"/needs/requests/{contact.id}")
    ime = login(app.test_client(), world.ime)
    page = ime.get(f"/admin/audit?action=contact.&subject_type=member&subject_id={world.elena.id}")
    assert page.status_code == 200
    text = page.text
    for action in ("contact.requested", "contact.accepted", "contact.viewed"):
        assert action in text
    assert "need.posted" not in text and "Mariana Ibáñez" in text and "Elena Ruiz Castro" in text
    assert "elena@ejemplo.mx" not in text and ELENA_PHONE not in text
