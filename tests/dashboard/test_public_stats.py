"""Public statistics: figures equal independent counts, and counts of people below five are
shown as "< 5" on the page and in the API."""

from __future__ import annotations

from sqlalchemy import func, select

from chapters.models import ChapterMembership, MembershipStatus
from network.auth.models import User
from network.extensions import db
from tests.conftest import _saved


def _members(make_member, vocabulary, n: int, expertise: str, **profile) -> list:
    return [make_member({"expertise": expertise, **profile}) for _ in range(n)]


def test_small_counts_are_suppressed_and_large_ones_exact(app, network, make_member, vocabulary):
    water = _members(make_member, vocabulary, 6, "hydrology")
    _members(make_member, vocabulary, 2, "wind-power")
    _members(
        make_member, vocabulary, 3, "wind-power", expertise_visibility="private"
    )  # not counted
    for user in water:
        _saved(
            app,
            ChapterMembership(
                user_id=user.id, chapter_id=network.madrid.id, status=MembershipStatus.APPROVED
            ),
        )
    body = app.test_client().get("/api/v1/stats").get_json()
    sectors = {row["slug"]: row["members"] for row in body["members_by_sector"]}
    assert sectors == {"energy": "< 5", "water": 6}
    regions = {row["slug"]: row["members"] for row in body["members_by_region"]}
    assert regions == {"europe": 8}  # the six, and the coordinators of Madrid and Paris
    # Independent count: 11 members made here and the 3 member accounts of `network`.
    with app.app_context():
        confirmed = db.session.scalar(select(func.count(User.id)).where(User.role == "member"))
    assert body["members"] == confirmed == 14
    assert body["chapters"] == 2 and body["countries"] == 2
    assert body["events_held"] == "< 5" and body["needs_completed"] == "< 5"

    page = app.test_client().get("/about/stats").text
    assert "&lt; 5" in page and ">6<" in page
