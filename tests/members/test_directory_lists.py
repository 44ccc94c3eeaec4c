"""The directory's per-worker lists: shared only between viewers who may see the same things,
merged with what is the viewer's own, and never older than the data."""

from __future__ import annotations

import random
import re

from flask_login import AnonymousUserMixin
from markupsafe import Markup
from wtforms import Form, SelectField

from network.auth.models import User
from network.extensions import db
from network.forms import ManyOptionsSelect
from network.members.directory import paginate_directory
from network.members.queries import DirectoryFilters, build_viewer, directory_query
from network.visibility import Tier
from tests.conftest import login


def _names(page: str) -> list[str]:
    return re.findall(r'<h2 class="h6 mb-0" id="member-\d+"><a href="[^"]+">([^<]+)</a>', page)


def _hide_country(app, user: User, tier: Tier) -> None:
    with app.app_context():
        db.session.get(User, user.id).profile.set_visibility("country", tier)
        db.session.commit()


def test_a_coordinators_own_matches_join_the_shared_list_in_order(
    app, network, make_member, add_membership
):
    """Carla shows her country to coordinators only: the Madrid coordinator finds her by it, in
    her place by name and on the right page; a member of the same tiers asking the same filter
    right before (so the shared list is already made) does not."""
    app.config["DIRECTORY_PAGE_SIZE"] = 2
    people = {n: make_member({"country": "US"}, full_name=f"{n} Prueba") for n in ("Ana", "Beto")}
    people["Carla"] = make_member({"country": "US"}, full_name="Carla Prueba")
    people["Dora"] = make_member({"country": "US"}, full_name="Dora Prueba")
    _hide_country(app, people["Carla"], Tier.COORDINATORS)
    add_membership(people["Carla"], network.madrid)
    member = login(app.test_client(), network.member)
    coordinator = login(app.test_client(), network.coordinator)
    other = login(app.test_client(), network.other_coordinator)

    assert _names(member.get("/members?country=US").get_data(as_text=True)) == [
        "Ana Prueba",
        "Beto Prueba",
    ]
    assert _names(member.get("/members?country=US&page=2").get_data(as_text=True)) == [
        "Dora Prueba"
    ]
    assert _names(coordinator.get("/members?country=US&page=2").get_data(as_text=True)) == [
        "Carla Prueba",
        "Dora Prueba",
    ]
    # The Paris coordinator has the coordinators' tier for Paris only.
    assert "Carla Prueba" not in other.get("/members?country=US&page=2").get_data(as_text=True)
    # Her own profile: Carla sees herself under the filter whatever she hides.
    _hide_country(app, people["Carla"], Tier.PRIVATE)
    carla = login(app.test_client(), people["Carla"])
    assert "Carla Prueba" in carla.get("/members?country=US&page=2").get_data(as_text=True)
    assert "Carla Prueba" not in coordinator.get("/members?country=US&page=2").get_data(
        as_text=True
    )


def test_a_change_shows_at_once(app, network, make_member):
    ana = make_member({"country": "US"}, full_name="Ana Prueba")
    make_member({"country": "US"}, full_name="Beto Prueba")
    client = login(app.test_client(), network.member)
    assert _names(client.get("/members?country=US").get_data(as_text=True)) == [
        "Ana Prueba",
        "Beto Prueba",
    ]
    _hide_country(app, ana, Tier.PRIVATE)
    assert _names(client.get("/members?country=US").get_data(as_text=True)) == ["Beto Prueba"]
    with app.app_context():
        db.session.get(User, ana.id).full_name = "Zoe Prueba"
        db.session.get(User, ana.id).profile.set_visibility("country", Tier.MEMBERS)
        db.session.commit()
    assert _names(client.get("/members?country=US").get_data(as_text=True)) == [
        "Beto Prueba",
        "Zoe Prueba",
    ]


def test_many_options_select_marks_the_chosen_one_and_escapes(app):
    class Filters(Form):
        pick = SelectField(widget=ManyOptionsSelect())

    form = Filters(data={"pick": "b&c"})
    form.pick.choices = [("", "Any"), ("a", "<A>"), ("b&c", "B & C")]
    html = form.pick(class_="form-select")
    assert isinstance(html, Markup)
    assert html == (
        '<select class="form-select" id="pick" name="pick">'
        '<option value="">Any</option><option value="a">&lt;A&gt;</option>'
        '<option selected value="b&amp;c">B &amp; C</option></select>'
    )
    form = Filters(data={"pick": "a"})
    form.pick.choices = [("", "Any"), ("a", "<A>"), ("b&c", "B & C")]
    assert '<option selected value="a">' in form.pick()
    assert "selected" not in form.pick().replace('<option selected value="a">', "")


def test_the_filters_options_follow_the_readers_language(app, network, vocabulary):
    """The options are kept per language: the first reader's language never leaks to the next."""
    english = login(app.test_client(), network.ime)  # Sofía reads in Spanish by default
    with app.app_context():
        db.session.get(User, network.ime.id).preferred_language = "en"
        db.session.commit()
    spanish = login(app.test_client(), network.member)
    first = english.get("/members").get_data(as_text=True)
    second = spanish.get("/members").get_data(as_text=True)
    assert '<option value="water">Water</option>' in first
    assert '<option value="">Any</option>' in first
    assert '<option value="water">Agua</option>' in second
    assert '<option value="">Cualquiera</option>' in second


def test_kept_pages_equal_the_databases_for_every_viewer_filter_and_page(
    app, network, make_member, vocabulary, add_membership
):
    """The kept bitsets answer exactly what the SQL query answers (the rule of record): every
    viewer of the access matrix, each filter alone and combined, both orders, page by page."""
    rng = random.Random(7)
    tiers = ["public", "members", "organisations", "coordinators", "private"]
    fields = ["country", "expertise", "languages", "modes", "mentoring", "chapters"]
    fields += ["state_of_origin"]
    people = []
    for n in range(24):
        profile = {
            "country": rng.choice(["US", "ES", "FR"]),
            "expertise": rng.choice(["hydrology", "wind-power", "water-treatment; hydrology"]),
            "languages": rng.choice(["es", "es;en", "fr"]),
            "modes": rng.choice(["mentoring", "research", ""]),
            "open_to_mentor": rng.random() < 0.5,
            "mentor_capacity": 2,
        }
        for field in fields:
            profile[f"{field}_visibility"] = rng.choice(tiers)
        user = make_member(profile, full_name=f"{rng.choice('ABCD')}{n:02d} Prueba")
        people.append(user)
        if rng.random() < 0.6:
            add_membership(user, rng.choice([network.madrid, network.paris]))
    viewers = [None, network.member, network.org_user, network.coordinator, network.ime, people[3]]
    filters = [DirectoryFilters()]
    for name, values in {
        "country": ["US", "ES", "MX"],
        "chapter": ["madrid", "paris"],
        "region": ["europe"],
        "sector": ["water", "energy"],
        "concept": ["hydrology", "wind-power", "nope"],
        "language": ["en", "fr"],
        "mode": ["mentoring"],
    }.items():
        filters += [DirectoryFilters(**{name: value}) for value in values]
    filters += [DirectoryFilters(mentoring=True), DirectoryFilters(country="US", language="es")]
    filters += [DirectoryFilters(sector="water", chapter="madrid", sort="recent")]
    filters += [DirectoryFilters(sort="recent")]
    with app.test_request_context():
        for who in viewers:
            user = db.session.get(User, who.id) if who else AnonymousUserMixin()
            viewer = build_viewer(user)
            for wanted in filters:
                expected = [p.id for p in db.session.scalars(directory_query(viewer, wanted))]
                got = []
                for page in range(1, 12):
                    got += [p.id for p in paginate_directory(viewer, wanted, page, 3).items]
                assert got == expected, (who and who.full_name, wanted)
                assert paginate_directory(viewer, wanted, 1, 3).total == len(expected)
