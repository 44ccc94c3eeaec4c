"""Who may open which event page: every event endpoint for each kind of visitor."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from network.auth.models import User
from network.errors import Conflict
from network.events import services
from network.events.models import (
    CalendarFeed,
    Event,
    EventStatus,
    EventVisibility,
    Registration,
)
from network.extensions import db
from tests import effects
from tests.effects import MEMBER_ACCOUNTS, Effect

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


def _feed(ctx: SimpleNamespace) -> Any:
    return db.session.scalar(select(CalendarFeed.token).where(CalendarFeed.user_id == ctx.user_id))


def _registration(ctx: SimpleNamespace) -> Any:
    return db.session.scalar(
        select(Registration.status).where(
            Registration.event_id == ctx.ids["public"], Registration.user_id == ctx.user_id
        )
    )


def _registered_if_possible(ctx: SimpleNamespace) -> None:
    """Cancelling needs a registration: every account that may register has one."""
    user = ctx.user_id and db.session.get(User, ctx.user_id)
    if user:
        try:
            services.register(user, db.session.get(Event, ctx.ids["public"]))
        except Conflict:  # not a member account
            db.session.rollback()


# What each POST row whose refusal and success both answer 302 really does (tests/effects.py).
EFFECTS: dict[str, Effect] = {
    "/events/mine/feed": Effect(_feed, MEMBER_ACCOUNTS),
    "/events/{public}/register": Effect(_registration, MEMBER_ACCOUNTS),
    "/events/{public}/cancel-registration": Effect(
        _registration, MEMBER_ACCOUNTS, prepare=_registered_if_possible
    ),
}


def test_every_ambiguous_post_row_checks_its_effect():
    assert effects.unchecked_rows(MATRIX, EFFECTS) == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_access(app, network, make_event, role, method, path, expected):
    events = {
        "public": make_event(),
        "members": make_event(visibility=EventVisibility.MEMBERS),
        "draft": make_event(status=EventStatus.DRAFT),
    }
    ids = {name: event.id for name, event in events.items()}
    response, url = effects.visit(app, network, role, method, path, ids, EFFECTS)
    assert response.status_code == expected[role], f"{role} {method} {url}"
    if response.status_code == 302 and role == "anonymous":
        assert response.headers["Location"].startswith("/login")
