"""The dashboard counts events and needs too: borrow their fixtures. Members of two chapters
for the tests of its figures."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chapters.models import ChapterMembership, MembershipStatus
from tests.conftest import _saved
from tests.events.conftest import make_event  # noqa: F401
from tests.needs.conftest import make_expert, make_need, sonora  # noqa: F401


def _join(app, user, chapter) -> None:
    _saved(
        app,
        ChapterMembership(user_id=user.id, chapter_id=chapter.id, status=MembershipStatus.APPROVED),
    )


@pytest.fixture
def members(app, network, make_member, make_expert, vocabulary) -> SimpleNamespace:  # noqa: F811
    """Madrid: four water experts living in Spain (one keeps their country to themselves), one
    of them also a mentor. Paris: two energy members in France, one hiding their expertise."""
    spain = [
        make_expert(
            {"expertise": "hydrology", "country": "ES", "country_visibility": "members"},
            preferred_language="en",
        )
        for _ in range(3)
    ]
    hidden_country = make_expert(
        {
            "expertise": "hydrology; water-treatment",
            "country": "ES",
            "country_visibility": "private",
        }
    )
    mentor = make_member(
        {
            "expertise": "water-treatment",
            "country": "ES",
            "open_to_mentor": "yes",
            "mentor_capacity": "2",
            "mentoring_visibility": "members",
        }
    )
    france = make_member({"expertise": "wind-power", "country": "FR"})
    secret = make_member(
        {"expertise": "wind-power", "country": "FR", "expertise_visibility": "private"}
    )
    for user in [*spain, hidden_country, mentor]:
        _join(app, user, network.madrid)
    for user in (france, secret):
        _join(app, user, network.paris)
    return SimpleNamespace(
        spain=spain, hidden_country=hidden_country, mentor=mentor, france=france, secret=secret
    )
