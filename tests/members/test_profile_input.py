"""Parsing a profile submission: the typed result the services take, and every problem at once."""

from __future__ import annotations

import pytest

from network.errors import ValidationError
from network.members.models import Mode
from network.members.profile_input import UNSET, Education, ProfileInput, parse_profile
from network.visibility import Tier


def test_fields_not_given_stay_unset_and_empty_ones_clear(app):
    with app.test_request_context():
        assert parse_profile({}) == ProfileInput()
        data = parse_profile({"country": "", "days_per_year": "", "headline": "  Hidróloga  "})
    assert (data.country, data.days_per_year, data.headline) == (None, None, "Hidróloga")
    assert data.city is UNSET and data.expertise is UNSET and data.visibility == {}


def test_values_come_back_typed(app, vocabulary):
    with app.test_request_context():
        data = parse_profile(
            {
                "open_to_mentor": "sí",
                "mentor_capacity": "3",
                "modes": "teaching; remote_advice; teaching",
                "languages": "ES:native; en:c1",
                "expertise": "hydrology; acuíferos",
                "education": [{"institution": "UNAM", "year": "2001"}, {}],
                "orcid": "https://orcid.org/0000-0002-1825-0097",
                "phone_visibility": "Private",
            }
        )
    assert data.open_to_mentoring is True and data.mentor_capacity == 3
    assert data.modes == [Mode.TEACHING, Mode.REMOTE_ADVICE]
    assert data.languages == [("es", "native"), ("en", "C1")]
    assert [c.slug for c in data.expertise.concepts] == ["hydrology"]
    assert data.expertise.free_tags == ["acuíferos"]
    assert data.education == [Education("", "", "UNAM", 2001)]
    assert data.orcid == "0000-0002-1825-0097"
    assert data.visibility == {"phone": Tier.PRIVATE}


def test_every_problem_is_reported_in_one_error(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ValidationError) as caught:
            parse_profile(
                {
                    "full_name": "A",
                    "country": "XX",
                    "days_per_year": "400",
                    "open_to_requests": "quizá",
                    "orcid": "0000-0002-1825-0098",
                    "email_visibility": "everyone",
                }
            )
        problems = [(field, str(message)) for field, message in caught.value.problems]
    assert [field for field, _message in problems] == [
        "full_name",
        "country",
        "days_per_year",
        "open_to_requests",
        "orcid",
        "email_visibility",
    ]
    assert ("days_per_year", "Enter a whole number from 0 to 365.") in problems
    assert caught.value.status == 422
