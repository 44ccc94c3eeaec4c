"""Events in the search box, and the mentor search: what each viewer may find and filter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from network.auth.models import User
from network.events import services
from network.events.models import Event, EventFormat, EventStatus, EventVisibility
from network.extensions import db
from network.members.models import Concept
from network.members.queries import build_viewer
from network.visibility import ANONYMOUS
from search.queries import kind_counts, search
from tests.conftest import login
from tests.events.conftest import local_in


def _viewer(user):
    return build_viewer(db.session.get(User, user.id)) if user is not None else ANONYMOUS


def _found(app, text: str, user=None, **filters) -> list[int]:
    with app.test_request_context():
        viewer = _viewer(user)
        result = search(text, viewer, kind="events", filters=filters)
        return [hit.obj_id for hit in result.hits]


def _with_topics(app, event: Event, *slugs: str) -> None:
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        row.topics = [db.session.query(Concept).filter_by(slug=s).one() for s in slugs]
        db.session.commit()


def _move_to_past(app, event: Event) -> None:
    with app.test_request_context():
        row = db.session.get(Event, event.id)
        row.starts_at = row.starts_at - timedelta(days=40)
        row.ends_at = row.ends_at - timedelta(days=40)
        db.session.commit()


@pytest.fixture
def events(app, network, make_event, vocabulary):
    """Three published events: in Madrid (hybrid), online, and a past one in Paris."""
    madrid = make_event(title="Agua y ciudades", city="Madrid", country="ES")
    online = make_event(
        author=network.other_coordinator,
        hosts=[network.paris],
        title="Taller de paneles",
        format=EventFormat.ONLINE,
        venue="",
        address="",
        timezone="America/Mexico_City",
        language="en",
        description="Cómo instalar un sistema en casa.",
    )
    paris = make_event(
        author=network.other_coordinator,
        hosts=[network.paris],
        title="Ríos de Francia",
        city="París",
        country="FR",
        format=EventFormat.IN_PERSON,
        timezone="Europe/Paris",
        description="Una visita guiada al Sena.",
    )
    _with_topics(app, madrid, "hydrology")
    _with_topics(app, online, "solar-photovoltaics")
    _move_to_past(app, paris)
    return {"madrid": madrid.id, "online": online.id, "paris": paris.id}


def test_upcoming_events_by_default_past_ones_on_request(app, events):
    assert sorted(_found(app, "")) == sorted([events["madrid"], events["online"]])
    assert _found(app, "", when="past") == [events["paris"]]
    assert _found(app, "rios") == []
    assert _found(app, "rios", when="past") == [events["paris"]]


def test_browsing_lists_the_soonest_event_first(app, network, make_event, events):
    soon = make_event(title="Mañana mismo", starts_local=local_in(1), ends_local=local_in(1, 20))
    assert _found(app, "")[0] == soon.id


def test_topic_found_through_its_concept_in_both_languages(app, events):
    for text in ("hydrology", "hidrología", "hidrologia", "watershed science"):
        assert _found(app, text) == [events["madrid"]], text
    for text in ("energía solar", "photovoltaics", "paneles solares"):
        assert _found(app, text) == [events["online"]], text
    with app.test_request_context():
        hit = search("hydrology", ANONYMOUS, kind="events", language="es").hits[0]
    assert [(w.field, w.matched, w.via) for w in hit.why] == [("topics", "Hidrología", "concept")]


def test_city_country_and_online_filters(app, events):
    assert _found(app, "madrid") == [events["madrid"]]
    assert _found(app, "España") == [events["madrid"]]
    assert _found(app, "spain") == [events["madrid"]]
    # A hybrid event is both online and in person.
    assert sorted(_found(app, "", format="online")) == sorted([events["madrid"], events["online"]])
    assert _found(app, "", format="in_person") == [events["madrid"]]
    assert _found(app, "", country="ES") == [events["madrid"]]
    assert _found(app, "", language="en") == [events["online"]]
    assert _found(app, "", chapter="paris", when="past") == [events["paris"]]


def test_facets_count_formats_and_both_periods(app, events):
    with app.test_request_context():
        result = search("", ANONYMOUS, kind="events", with_facets=True)
    assert result.facets["format"] == {"in_person": 1, "online": 2}
    assert result.facets["when"] == {"upcoming": 2, "past": 1}
    assert result.facets["concept"] == {"hydrology": 1, "solar-photovoltaics": 1}


def test_members_only_events_are_found_by_members_and_ime_only(app, network, make_event):
    private = make_event(title="Cena de socios", visibility=EventVisibility.MEMBERS)
    assert _found(app, "cena", network.member) == [private.id]
    assert _found(app, "cena", network.ime) == [private.id]
    for user in (None, network.org_user):
        assert _found(app, "cena", user) == []
        with app.test_request_context():
            viewer = _viewer(user)
            assert kind_counts("cena", viewer)["events"] == 0
            facets = search("", viewer, kind="events", with_facets=True).facets
        assert facets.get("when", {}).get("upcoming", 0) == 0
    body = app.test_client().get("/api/v1/search?kind=events&q=cena").get_json()
    assert body["total"] == 0 and body["kinds"]["events"] == 0
    assert "Cena de socios" not in app.test_client().get("/search?q=cena&kind=events").text


def test_drafts_and_cancelled_events_leave_search(app, network, make_event):
    draft = make_event(title="Borrador secreto", status=EventStatus.DRAFT)
    live = make_event(title="Charla abierta")
    assert _found(app, "borrador") == []
    assert _found(app, "charla") == [live.id]
    with app.test_request_context():
        services.cancel_event(db.session.get(Event, live.id))
        db.session.commit()
    assert _found(app, "charla") == []
    with app.test_request_context():
        row = db.session.get(Event, draft.id)
        row.status = EventStatus.PUBLISHED
        db.session.commit()
    assert _found(app, "borrador") == [draft.id]


def test_online_link_is_never_searchable_or_shown(app, network, make_event):
    event = make_event(title="Sesión remota", online_url="https://meet.example.org/zorro-clave")
    assert _found(app, "zorro") == []
    assert _found(app, "zorro", network.ime) == []
    client = login(app.test_client(), network.member)
    for url in ("/search?q=sesion&kind=events", "/api/v1/search?q=sesion&kind=events"):
        body = client.get(url).text
        assert "Sesión remota" in body or str(event.id) in body
        assert "zorro-clave" not in body


def test_search_page_lists_events_with_local_time_and_kind_tabs(app, network, events):
    client = app.test_client()
    page = client.get("/search?kind=events", headers={"Accept-Language": "en"}).text
    assert "Agua y ciudades" in page and "Taller de paneles" in page
    assert "Ríos de Francia" not in page
    assert "(Madrid)" in page and "Mexico City" in page
    past = client.get("/search?kind=events&when=past", headers={"Accept-Language": "en"}).text
    assert "Ríos de Francia" in past and "Agua y ciudades" not in past
    tabs = client.get("/search?q=agua", headers={"Accept-Language": "en"}).text
    assert 'data-kind="events"' in tabs
    assert "Why:" in client.get("/search?q=hydrology&kind=events").text.replace("Por qué:", "Why:")


# ---------------------------------------------------------------- mentor search


@pytest.fixture
def mentors(make_member, vocabulary):
    open_public = {
        "open_to_mentor": True,
        "mentor_capacity": 2,
        "expertise": "hydrology",
        "timezone": "Europe/Madrid",
        "timezone_visibility": "public",
        "expertise_visibility": "public",
        "mentoring_visibility": "public",
        "name_public": True,
    }
    return {
        "ana": make_member(open_public, full_name="Ana Mentora"),
        "beto": make_member(
            {**open_public, "timezone": "America/Mexico_City"}, full_name="Beto Mentor"
        ),
        # The same zone as Ana's, but shown to nobody else: it must not be a way to find him.
        "ciro": make_member(
            {**open_public, "timezone_visibility": "private"}, full_name="Ciro Discreto"
        ),
        "dana": make_member({**open_public, "open_to_mentor": False}, full_name="Dana Ocupada"),
    }


def _mentors(app, user=None, **filters) -> set[int]:
    with app.test_request_context():
        viewer = _viewer(user)
        return {h.obj_id for h in search("", viewer, filters={"mentoring": "yes", **filters}).hits}


def test_mentor_search_lists_only_members_open_to_mentoring(app, mentors):
    found = _mentors(app)
    assert found == {mentors[n].id for n in ("ana", "beto", "ciro")}
    assert _mentors(app, concept="hydrology") == found
    assert _mentors(app, concept="wind-power") == set()


def test_mentor_search_by_time_zone_respects_its_visibility(app, mentors):
    assert _mentors(app, timezone="Europe/Madrid") == {mentors["ana"].id}
    assert _mentors(app, timezone="America/Mexico_City") == {mentors["beto"].id}
    # Ciro's hidden zone neither filters nor counts, but he sees himself.
    with app.test_request_context():
        facets = search("", ANONYMOUS, filters={"mentoring": "yes"}, with_facets=True).facets
        assert facets["timezone"] == {"Europe/Madrid": 1, "America/Mexico_City": 1}
        own = search("", _viewer(mentors["ciro"]), filters={"timezone": "Europe/Madrid"})
        assert mentors["ciro"].id in {h.obj_id for h in own.hits}


def test_mentor_search_page_and_api(app, mentors):
    client = app.test_client()
    page = client.get("/search?kind=members&mentoring=yes", headers={"Accept-Language": "en"})
    assert "Ana Mentora" in page.text and "Dana Ocupada" not in page.text
    assert 'data-facet="timezone"' in page.text
    body = client.get("/api/v1/search?mentor=true&timezone=Europe/Madrid").get_json()
    assert [r["title"] for r in body["results"]] == ["Ana Mentora"]
    assert client.get("/api/v1/search?kind=members").status_code == 400
    assert client.get("/api/v1/search?kind=events&when=someday").status_code == 400
