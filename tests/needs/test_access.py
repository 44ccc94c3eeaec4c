"""Who may open what among the needs pages, for each kind of visitor."""

from __future__ import annotations

import pytest

from network.extensions import db
from network.needs.models import Need
from network.needs.services import request_contact
from tests.conftest import login

ROLES = ("anonymous", "member", "coordinator", "other_coordinator", "org_user", "ime")
ALL = dict.fromkeys(ROLES, 200)
MEMBERS = {
    "anonymous": 302,
    "member": 200,
    "coordinator": 200,
    "other_coordinator": 200,
    "org_user": 403,
    "ime": 403,
}
OWNER = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "org_user": 200}
OWNER_OR_IME = {**OWNER, "ime": 200}
# A draft is seen by its organisation and IME; anyone else is told it does not exist.
DRAFT = {
    "anonymous": 404,
    "member": 404,
    "coordinator": 404,
    "other_coordinator": 404,
    "org_user": 200,
    "ime": 200,
}
# The request is the expert's (member) and the sender's; IME may read it, others get 404.
REQUEST = {
    "anonymous": 302,
    "member": 200,
    "coordinator": 404,
    "other_coordinator": 404,
    "org_user": 200,
    "ime": 200,
}
EXPERT_ONLY = {
    "anonymous": 302,
    "member": 302,
    "coordinator": 404,
    "other_coordinator": 404,
    "org_user": 404,
    "ime": 404,
}


def _post(expected: dict[str, int]) -> dict[str, int]:
    return {role: 302 if code == 200 else code for role, code in expected.items()}


MATRIX = [
    ("GET", "/needs", ALL),
    ("GET", "/needs?sector=water&state=MX-SON&remote=yes&status=all", ALL),
    ("GET", "/needs/{need}", ALL),
    ("GET", "/needs/{draft}", DRAFT),
    ("GET", "/needs/for-you", MEMBERS),
    ("GET", "/needs/requests", MEMBERS),
    ("GET", "/needs/ours", OWNER),
    ("GET", "/needs/new", OWNER),
    ("GET", "/needs/{need}/edit", OWNER),
    ("POST", "/needs/{need}/status", _post(OWNER)),
    ("GET", "/needs/{need}/candidates", OWNER_OR_IME),
    ("GET", "/needs/{need}/shortlist", OWNER),
    ("GET", "/needs/{need}/shortlist.csv", OWNER),
    ("POST", "/needs/{need}/shortlist", _post(OWNER)),
    ("POST", "/needs/{need}/shortlist/{expert}/remove", _post(OWNER)),
    ("POST", "/needs/{need}/contact", _post(OWNER)),
    ("POST", "/needs/{need}/outcomes", _post(OWNER)),
    ("POST", "/needs/{need}/interest", _post(MEMBERS)),
    ("POST", "/needs/{need}/interest/withdraw", _post(MEMBERS)),
    ("GET", "/needs/requests/{request}", REQUEST),
    ("POST", "/needs/requests/{request}/answer", EXPERT_ONLY),
    ("POST", "/needs/requests/{request}/withdraw", EXPERT_ONLY),
]


@pytest.mark.parametrize("method, path, expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_access(app, world, make_need, make_expert, method, path, expected):
    """Every role in turn on the same data (the requests sent carry no valid form, so none of
    them changes what the next role meets)."""
    draft = make_need(world.org_user, title="Borrador de necesidad", status="draft")
    expert = make_expert({"expertise": "hydrology"}, email="experta@ejemplo.mx")
    with app.test_request_context():
        contact = request_contact(
            db.session.merge(world.org_user),
            db.session.get(Need, world.need_id),
            expert.id,
            "Una consulta breve, por favor.",
        )
        db.session.commit()
        contact_id = contact.id
    url = path.format(need=world.need_id, draft=draft, request=contact_id, expert=expert.id)
    answers = {}
    for role in ROLES:
        # The "member" role is the expert the request was sent to.
        user = {"anonymous": None, "member": expert}.get(role, getattr(world, role, None))
        response = login(app.test_client(), user).open(url, method=method, data={})
        answers[role] = response.status_code
        if response.status_code == 302 and role == "anonymous":
            assert response.headers["Location"].startswith("/login")
    assert answers == expected, f"{method} {url}"


def test_a_refusal_by_the_service_reaches_the_person_as_a_403_page(app, world, monkeypatch):
    """Views check access first; the service's own check is the last line of defence, and when
    it refuses (here, a view whose check let a member through) the person gets the error page
    with the service's reason, not a 500, and nothing is changed."""
    monkeypatch.setattr("network.needs.views.can_manage_need", lambda user, need: True)
    member = login(app.test_client(), world.member)
    response = member.post(
        f"/needs/{world.need_id}/status",
        data={"status": "in_progress"},
    )
    assert response.status_code == 403
    # The service's own reason, in the member's language (Spanish, the site's first).
    assert "Solo la organización que publicó la necesidad puede gestionarla." in response.text
    with app.app_context():
        assert db.session.get(Need, world.need_id).status == "open"
