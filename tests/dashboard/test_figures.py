"""The whole network's member panels are kept between IME's views: served again while nothing
changed, or, after a change, for DASHBOARD_FIGURES_MAX_AGE with the time they are from; never
once someone was taken out of a count (a hidden field, a suspension, a deletion); and never kept
for a chapter or a coordinator, whose figures depend on who looks."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from network.auth.models import User
from network.dashboard.cli import refresh
from network.dashboard.models import StoredPanel
from network.db import utcnow
from network.extensions import db
from network.members.models import Profile
from network.security import Role
from network.visibility import Tier
from tests.conftest import bearer, login

ALL = {"period": "all"}


def _panel(client, headers, slug: str, **args) -> dict:
    response = client.get(f"/api/v1/dashboard/{slug}", query_string=args, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _counts(client, headers, slug: str, label: str, **args) -> dict:
    return {row[label]: row["members"] for row in _panel(client, headers, slug, **args)["rows"]}


@pytest.fixture
def patient(app):
    """Kept figures may be served for an hour after an ordinary change."""
    app.config["DASHBOARD_FIGURES_MAX_AGE"] = 3600
    return app


def _hide(app, user, field: str) -> None:
    """The member sets one field to "only me", as the profile form saves it."""
    with app.app_context():
        profile = db.session.scalar(select(Profile).where(Profile.user_id == user.id))
        setattr(profile, f"{field}_visibility", Tier.PRIVATE)
        db.session.commit()


def test_every_ime_account_gets_the_figures_kept_for_the_first(
    app, client, network, members, make_user
):
    other_ime = make_user(role=Role.IME)
    first = _counts(client, bearer(app, network.ime), "members-by-country", "code", **ALL)
    with app.app_context():
        kept = db.session.scalars(select(StoredPanel.key)).all()
    assert any(key.startswith("members-by-country|all|") for key in kept)
    assert _counts(client, bearer(app, other_ime), "members-by-country", "code", **ALL) == first
    assert first == {"ES": 4, "FR": 2, "": 1}

    login(client, network.ime)
    page = client.get("/dashboard", query_string=ALL).get_data(as_text=True)
    assert 'data-testid="figures-as-of"' in page


def test_an_ordinary_change_waits_for_the_figures_to_age_but_not_when_exact_only(
    app, client, patient, network, members, make_member
):
    headers = bearer(app, network.ime)
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 2
    make_member({"country": "FR"})  # a new member: nobody is taken out of a count
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 2
    app.config["DASHBOARD_FIGURES_MAX_AGE"] = 0
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 3


def test_a_field_hidden_after_the_figures_were_kept_leaves_them_at_once(
    app, client, patient, network, members
):
    headers = bearer(app, network.ime)
    assert _counts(client, headers, "members-by-country", "code", **ALL) == {
        "ES": 4,
        "FR": 2,
        "": 1,
    }
    assert _counts(client, headers, "members-by-sector", "sector", **ALL)["Water"] == 5
    _hide(app, members.france, "country")
    _hide(app, members.mentor, "expertise")
    assert _counts(client, headers, "members-by-country", "code", **ALL) == {
        "ES": 4,
        "FR": 1,
        "": 2,
    }
    assert _counts(client, headers, "members-by-sector", "sector", **ALL)["Water"] == 4


def test_a_bulk_update_of_visibility_or_a_suspension_leaves_them_too(
    app, client, patient, network, members
):
    headers = bearer(app, network.ime)
    assert _counts(client, headers, "top-concepts", "concept", **ALL)["Hydrology"] == 4
    with app.app_context():
        db.session.execute(
            update(Profile)
            .where(Profile.user_id == members.spain[0].id)
            .values(expertise_visibility=Tier.PRIVATE)
        )
        db.session.commit()
    assert _counts(client, headers, "top-concepts", "concept", **ALL)["Hydrology"] == 3

    with app.app_context():
        user = db.session.get(User, members.spain[1].id)
        user.suspended_at = utcnow()
        db.session.commit()
    assert _counts(client, headers, "top-concepts", "concept", **ALL)["Hydrology"] == 2


def test_a_deleted_account_leaves_them(app, client, patient, network, members):
    headers = bearer(app, network.ime)
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 2
    with app.app_context():
        db.session.delete(db.session.get(User, members.secret.id))
        db.session.commit()
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 1


def test_chapters_and_coordinators_are_counted_live(app, client, patient, network, members):
    ime = bearer(app, network.ime)
    coordinator = bearer(app, network.coordinator)
    both = {"chapter": "madrid", **ALL}
    assert _counts(client, ime, "members-by-country", "code", **both) == {"ES": 4, "": 1}
    assert _counts(client, coordinator, "members-by-country", "code", **ALL) == {"ES": 4, "": 1}
    with app.app_context():
        assert db.session.scalars(select(StoredPanel.key)).all() == []
    with app.app_context():  # an ordinary change, which kept figures would not show yet
        db.session.execute(
            update(Profile).where(Profile.user_id == members.mentor.id).values(country="PT")
        )
        db.session.commit()
    assert _counts(client, ime, "members-by-country", "code", **both) == {
        "ES": 3,
        "PT": 1,
        "": 1,
    }
    assert _counts(client, coordinator, "members-by-country", "code", **ALL)["PT"] == 1


def test_refresh_brings_the_kept_figures_up_to_date_in_both_languages(
    app, client, patient, network, members, make_member
):
    headers = bearer(app, network.ime)
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 2
    make_member({"country": "FR"})
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 2
    result = app.test_cli_runner().invoke(refresh, ["--period", "all"])
    assert result.exit_code == 0, result.output
    assert _counts(client, headers, "members-by-country", "code", **ALL)["FR"] == 3
    login(client, network.ime)  # the page, in Spanish, reads what the command kept
    page = client.get("/dashboard", query_string=ALL).get_data(as_text=True)
    table = page.split('data-testid="table-members-by-country"')[1].split("</table>")[0]
    assert "Francia" in table and "France" not in table


def test_what_ime_changes_shows_at_once(app, client, patient, network, members, make_member):
    make_member({"expertise": "acuiferos", "country": "MX"})
    headers = bearer(app, network.ime)
    assert _counts(client, headers, "top-concepts", "concept", **ALL)["Hydrology"] == 4
    make_member({"expertise": "hydrology"})  # someone else's change waits for the figures to age
    assert _counts(client, headers, "top-concepts", "concept", **ALL)["Hydrology"] == 4
    login(client, network.ime)
    client.post("/admin/tags", data={"tag": "acuiferos", "concept": "hydrology"})
    assert _counts(client, headers, "top-concepts", "concept", **ALL)["Hydrology"] == 6
