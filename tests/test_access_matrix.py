"""Who may open what: every endpoint of the foundation for each kind of visitor."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from chapters.models import ChapterMembership, MembershipStatus, Node
from network.audit import AuditEntry
from network.auth.models import User
from network.extensions import db
from network.i18n import LANGUAGE_COOKIE
from network.members.profile_input import ProfileInput
from network.members.services import update_profile
from tests import effects
from tests.conftest import _saved
from tests.effects import MEMBER_ACCOUNTS, Effect

ROLES = ("anonymous", "member", "coordinator", "other_coordinator", "org_user", "ime")

ALL = dict.fromkeys(ROLES, 200)
SIGNED_IN = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 200)}
SIGNED_OUT = {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}
CHAPTER_MANAGERS = {
    "anonymous": 302,
    "member": 403,
    "coordinator": 200,
    "other_coordinator": 403,
    "org_user": 403,
    "ime": 200,
}
IME_ONLY = {"anonymous": 302, **dict.fromkeys(ROLES[1:-1], 403), "ime": 200}
REDIRECT_ALL = dict.fromkeys(ROLES, 302)
# Profile pages of one's own exist for member accounts (coordinators are members too).
MEMBERS_ONLY = {
    "anonymous": 302,
    "member": 200,
    "coordinator": 200,
    "other_coordinator": 200,
    "org_user": 403,
    "ime": 403,
}
MEMBER_ONLY_REDIRECT = {role: 302 if code == 200 else code for role, code in MEMBERS_ONLY.items()}
# Reads of what the web shows everyone are public (issue 17, item 7); the rest needs a token.
TOKEN_ONLY = dict.fromkeys(ROLES, 401)
# IME sees the whole network; each coordinator their own chapter.
DASHBOARD = {**CHAPTER_MANAGERS, "other_coordinator": 200}


def _ok_to(expected: dict[str, int], success: int) -> dict[str, int]:
    """The same access, where the allowed answer is a redirect after a POST."""
    return {role: success if code == 200 else code for role, code in expected.items()}


MATRIX = [
    ("GET", "/", ALL),
    ("GET", "/regions", ALL),
    ("GET", "/chapters/madrid", ALL),
    ("GET", "/nodes", ALL),
    ("GET", "/nodes/son", ALL),
    ("GET", "/register", SIGNED_OUT),
    ("GET", "/login", SIGNED_OUT),
    ("GET", "/reset", ALL),
    ("GET", "/confirm", ALL),
    ("GET", "/account", SIGNED_IN),
    ("GET", "/my/chapters", SIGNED_IN),
    ("POST", "/account/password", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 422)}),
    ("POST", "/account/email", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 422)}),
    ("POST", "/account/tokens", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 422)}),
    ("POST", "/logout", REDIRECT_ALL),
    ("POST", "/language", REDIRECT_ALL),
    (
        "POST",
        "/chapters/madrid/join",
        {
            "anonymous": 302,
            "member": 302,
            "coordinator": 302,
            "other_coordinator": 302,
            "org_user": 403,
            "ime": 403,
        },
    ),
    ("POST", "/chapters/madrid/leave", REDIRECT_ALL),
    ("GET", "/chapters/madrid/edit", CHAPTER_MANAGERS),
    ("POST", "/chapters/madrid/edit", CHAPTER_MANAGERS),
    ("GET", "/chapters/madrid/requests", CHAPTER_MANAGERS),
    ("POST", "/chapters/madrid/requests/{pending}", _ok_to(CHAPTER_MANAGERS, 302)),
    ("GET", "/chapters/madrid/members", CHAPTER_MANAGERS),
    ("GET", "/admin/", IME_ONLY),
    ("GET", "/admin/organisations", IME_ONLY),
    ("GET", "/admin/audit?action=contact.&subject_type=member&subject_id=1", IME_ONLY),
    ("POST", "/admin/organisations/{organisation}/verify", _ok_to(IME_ONLY, 302)),
    ("POST", "/admin/organisations/{organisation}/reject", _ok_to(IME_ONLY, 302)),
    # The organisation's own page: its users only (this one's is verified, so no new register).
    ("GET", "/organisation", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "org_user": 200}),
    (
        "GET",
        "/organisation/register",
        {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "org_user": 302},
    ),
    ("GET", "/admin/regions/new", IME_ONLY),
    ("GET", "/admin/regions/europe/edit", IME_ONLY),
    ("GET", "/admin/chapters/new", IME_ONLY),
    ("GET", "/admin/chapters/madrid/edit", IME_ONLY),
    ("GET", "/admin/chapters/madrid/coordinators", IME_ONLY),
    ("POST", "/admin/chapters/madrid/coordinators/{coordinator}/remove", _ok_to(IME_ONLY, 302)),
    ("GET", "/admin/nodes/son/edit", IME_ONLY),
    ("GET", "/api/v1/me", TOKEN_ONLY),
    ("GET", "/api/v1/chapters", ALL),
    ("GET", "/api/v1/openapi.json", ALL),
    ("GET", "/api/v1/stats", ALL),
    ("GET", "/about/stats", ALL),
    ("GET", "/api/docs", ALL),
    ("GET", "/dashboard", DASHBOARD),
    ("GET", "/dashboard?period=all&chapter=paris&by=concept", DASHBOARD),
    ("GET", "/dashboard/gap.csv", DASHBOARD),
    ("GET", "/members", ALL),
    ("GET", "/members/concepts?q=agua", ALL),
    ("GET", "/members/{member}", ALL),
    ("GET", "/members/{hidden}", {"anonymous": 404, **dict.fromkeys(ROLES[1:], 200)}),
    ("GET", "/members/me", MEMBER_ONLY_REDIRECT),
    ("GET", "/members/me/edit", MEMBERS_ONLY),
    ("POST", "/members/me/confirm", MEMBER_ONLY_REDIRECT),
    ("POST", "/members/me/visibility", MEMBER_ONLY_REDIRECT),
    ("GET", "/members/me/data.json", SIGNED_IN),
    ("GET", "/members/me/delete", SIGNED_IN),
    ("GET", "/admin/members/import", IME_ONLY),
    ("GET", "/admin/members/export.csv", IME_ONLY),
    ("GET", "/admin/tags", IME_ONLY),
    ("GET", "/api/v1/members", ALL),
    ("GET", "/api/v1/members/{member}", ALL),
    ("PATCH", "/api/v1/me/profile", TOKEN_ONLY),
]


def _audited(action: str) -> Callable[[SimpleNamespace], int]:
    def count(ctx: SimpleNamespace) -> int:
        return db.session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == action, AuditEntry.subject_id == ctx.ids["organisation"]
            )
        )

    return count


def _auth_stamp(ctx: SimpleNamespace) -> Any:
    return ctx.user_id and db.session.get(User, ctx.user_id).auth_stamp


def _language(ctx: SimpleNamespace) -> Any:
    stored = ctx.user_id and db.session.get(User, ctx.user_id).preferred_language
    cookies = ctx.response.headers.getlist("Set-Cookie") if ctx.response else []
    return stored, [c for c in cookies if c.startswith(f"{LANGUAGE_COOKIE}=")]


def _pending_request(ctx: SimpleNamespace) -> str:
    return str(db.session.get(ChapterMembership, ctx.ids["pending"]).status)


SIGNED_IN_ACCOUNTS = frozenset(ROLES[1:])
# What each POST row whose refusal and success both answer 302 really does (tests/effects.py).
EFFECTS: dict[str, Effect] = {
    "/logout": Effect(_auth_stamp, SIGNED_IN_ACCOUNTS, anonymous_to="/"),
    "/language": Effect(_language, frozenset(ROLES), data={"language": "en"}, anonymous_to="/"),
    # The coordinator is a member of Madrid already; the other coordinator is not.
    "/chapters/madrid/join": Effect(
        effects.madrid_membership, frozenset({"member", "other_coordinator"})
    ),
    "/chapters/madrid/leave": Effect(effects.madrid_membership, frozenset({"coordinator"})),
    "/chapters/madrid/requests/{pending}": Effect(
        _pending_request, frozenset({"coordinator", "ime"}), data={"decision": "approve"}
    ),
    "/admin/organisations/{organisation}/verify": Effect(
        _audited("organisation.verified"), frozenset({"ime"})
    ),
    "/admin/organisations/{organisation}/reject": Effect(
        _audited("organisation.rejected"),
        frozenset({"ime"}),
        data={"reason": "Sin sitio oficial que lo confirme."},
    ),
    "/admin/chapters/madrid/coordinators/{coordinator}/remove": Effect(
        lambda ctx: effects.madrid_membership(ctx, ctx.ids["coordinator"]), frozenset({"ime"})
    ),
    "/members/me/confirm": Effect(
        lambda ctx: effects.own_profile(ctx, "confirmed_at"), MEMBER_ACCOUNTS
    ),
    "/members/me/visibility": Effect(
        lambda ctx: effects.own_profile(ctx, "headline_visibility", "bio_visibility"),
        MEMBER_ACCOUNTS,
        data={"preset": "public"},
    ),
}


def test_every_ambiguous_post_row_checks_its_effect():
    assert effects.unchecked_rows(MATRIX, EFFECTS) == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_access(app, network, make_user, add_membership, role, method, path, expected):
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
    applicant = make_user(email="solicitante@ejemplo.mx")
    pending = add_membership(applicant, network.madrid, status=MembershipStatus.PENDING)
    public = make_user(email="publico@ejemplo.mx")
    hidden = make_user(email="oculto@ejemplo.mx")
    with app.test_request_context():
        update_profile(db.session.get(User, public.id), ProfileInput(name_public=True))
        update_profile(db.session.get(User, hidden.id), ProfileInput())
        db.session.commit()
    ids = {
        "pending": pending.id,
        "coordinator": network.coordinator.id,
        "member": public.id,
        "hidden": hidden.id,
        "organisation": network.organisation.id,
    }
    response, url = effects.visit(app, network, role, method, path, ids, EFFECTS)
    assert response.status_code == expected[role], f"{role} {method} {url}"
    if response.status_code == 302 and role == "anonymous" and expected[role] == 302:
        location = response.headers["Location"]
        if method == "GET":
            assert location.startswith("/login"), "anonymous visitors are asked to sign in"
