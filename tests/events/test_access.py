"""Who may open which event page: every event endpoint for each kind of visitor."""

from __future__ import annotations

import pytest

from network.events.models import EventStatus, EventVisibility
from tests.conftest import login

ROLES = ("anonymous", "member", "coordinator", "other_coordinator", "org_user", "ime")
ALL = dict.fromkeys(ROLES, 200)
SIGNED_IN = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 200)}
HOSTS = {
    "anonymous": 302,
    "member": 403,
    "coordinator": 200,
    "other_coordinator": 403,
    "org_user": 403,
    "ime": 200,
}
HOSTS_POST = {role: 302 if code == 200 else code for role, code in HOSTS.items()}
# Members-only events: members and IME; organisation accounts are refused, visitors sign in.
MEMBERS = {
    "anonymous": 302,
    "member": 200,
    "coordinator": 200,
    "other_coordinator": 200,
    "org_user": 403,
    "ime": 200,
}
DRAFT = {
    "anonymous": 404,
    "member": 404,
    "coordinator": 200,
    "other_coordinator": 404,
    "org_user": 404,
    "ime": 200,
}
CAN_CREATE = {
    "anonymous": 302,
    "member": 403,
    "coordinator": 200,
    "other_coordinator": 200,
    "org_user": 403,
    "ime": 200,
}
REDIRECT_SIGNED_IN = {role: 302 for role in ROLES}

MATRIX = [
    ("GET", "/events", ALL),
    ("GET", "/events/mine", SIGNED_IN),
    (
        "POST",
        "/events/mine/feed",
        {
            "anonymous": 302,
            "member": 302,
            "coordinator": 302,
            "other_coordinator": 302,
            "org_user": 403,
            "ime": 403,
        },
    ),
    ("GET", "/events/new", CAN_CREATE),
    ("GET", "/events/{public}", ALL),
    ("GET", "/events/{public}.ics", ALL),
    ("GET", "/events/{members}", MEMBERS),
    ("GET", "/events/{members}.ics", MEMBERS),
    ("GET", "/events/{draft}", DRAFT),
    ("GET", "/events/{public}/edit", HOSTS),
    ("POST", "/events/{public}/edit", HOSTS),
    ("GET", "/events/{public}/attendees", HOSTS),
    ("POST", "/events/{public}/attendees", HOSTS),
    ("GET", "/events/{public}/attendees.csv", HOSTS),
    ("POST", "/events/{public}/register", REDIRECT_SIGNED_IN),
    ("POST", "/events/{public}/cancel-registration", REDIRECT_SIGNED_IN),
    ("GET", "/chapters/madrid/events.ics", ALL),
    ("GET", "/calendar/not-a-token.ics", dict.fromkeys(ROLES, 404)),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_access(app, network, make_event, role, method, path, expected):
    events = {
        "public": make_event(),
        "members": make_event(visibility=EventVisibility.MEMBERS),
        "draft": make_event(status=EventStatus.DRAFT),
    }
    url = path.format(**{name: event.id for name, event in events.items()})
    client = login(app.test_client(), None if role == "anonymous" else getattr(network, role))
    response = client.open(url, method=method)
    assert response.status_code == expected[role], f"{role} {method} {url}"
    if response.status_code == 302 and role == "anonymous":
        assert response.headers["Location"].startswith("/login")
