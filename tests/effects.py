"""What an access-matrix POST row actually did. Where success and refusal both answer 302 (a
redirect back with a flash, or to the sign-in page), the status code proves nothing: a row with
an `Effect` also reads the state the POST should change, before and after, and requires that it
changed for exactly the roles allowed to do it; an anonymous visitor's 302 must lead to sign-in.
So a row fails when an access rule is removed, not only when a status code moves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from flask import Flask
from sqlalchemy import select

from chapters.models import Chapter, ChapterMembership
from network.extensions import db
from network.members.models import Profile
from tests.conftest import login

ROLES = ("anonymous", "member", "coordinator", "other_coordinator", "org_user", "ime")
# The accounts that are members (coordinators are members too).
MEMBER_ACCOUNTS = frozenset({"member", "coordinator", "other_coordinator"})


@dataclass(frozen=True)
class Effect:
    """`observe(ctx)` reads what the POST changes (ctx: app, user_id, ids, response; response
    is None before the request); it must change for the roles in `allowed` and no others."""

    observe: Callable[[SimpleNamespace], Any]
    allowed: frozenset[str]
    data: dict[str, str] = field(default_factory=dict)
    # Where an anonymous visitor is sent: the sign-in page unless the action is for everyone.
    anonymous_to: str = "/login"
    prepare: Callable[[SimpleNamespace], None] | None = None


def check(
    app: Flask,
    client: Any,
    effect: Effect,
    role: str,
    user_id: int | None,
    ids: dict[str, int],
    url: str,
) -> Any:
    """POST `url` with the effect's data and check what happened; returns the response."""
    ctx = SimpleNamespace(app=app, user_id=user_id, ids=ids, response=None)
    if effect.prepare is not None:
        with app.test_request_context():
            effect.prepare(ctx)
            db.session.commit()
    with app.app_context():
        before = effect.observe(ctx)
    response = client.post(url, data=effect.data)
    ctx.response = response
    with app.app_context():
        after = effect.observe(ctx)
    if role in effect.allowed:
        assert after != before, f"{role} POST {url}: allowed, but nothing happened"
    else:
        assert after == before, f"{role} POST {url}: refused, yet it changed {before} → {after}"
    if role == "anonymous" and response.status_code == 302:
        assert response.headers["Location"].startswith(effect.anonymous_to), response.headers
    return response


def visit(
    app: Flask,
    network: SimpleNamespace,
    role: str,
    method: str,
    path: str,
    ids: dict[str, int],
    table: dict[str, Effect],
) -> tuple[Any, str]:
    """Open a matrix row's `path` as `role`; a POST row in `table` has its effect checked.
    Returns the response and the URL."""
    url = path.format(**ids)
    user = None if role == "anonymous" else getattr(network, role)
    client = login(app.test_client(), user)
    if method == "POST" and path in table:
        return check(app, client, table[path], role, user and user.id, ids, url), url
    return client.open(url, method=method), url


def unchecked_rows(
    matrix: list[tuple[str, str, dict[str, int]]], table: dict[str, Effect]
) -> list[str]:
    """POST rows where two kinds of visitor both get a 302 and no effect says what happened:
    their status codes alone cannot fail."""
    return [
        path
        for method, path, expected in matrix
        if method == "POST" and list(expected.values()).count(302) > 1 and path not in table
    ]


def madrid_membership(ctx: SimpleNamespace, user_id: int | None = None) -> Any:
    """The (status, role) of a person's membership of Madrid, None if they have none."""
    user_id = ctx.user_id if user_id is None else user_id
    row = db.session.scalar(
        select(ChapterMembership)
        .join(Chapter)
        .where(Chapter.slug == "madrid", ChapterMembership.user_id == user_id)
    )
    return None if row is None else (str(row.status), str(row.role))


def own_profile(ctx: SimpleNamespace, *fields: str) -> Any:
    """Some fields of the account's own profile; None if it has none."""
    profile = db.session.scalar(select(Profile).where(Profile.user_id == ctx.user_id))
    return None if profile is None else tuple(getattr(profile, f) for f in fields)
