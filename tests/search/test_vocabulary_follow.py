"""Search documents follow the vocabulary and the states: a renamed, merged or deleted concept, a
renamed sector or state is found under its new words at once, by members, events and needs."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from chapters.models import Chapter, Node
from network.auth.models import User
from network.db import utcnow
from network.events import services as event_services
from network.events.models import EventFormat, EventStatus, EventVisibility
from network.extensions import db
from network.members.models import Concept, Sector
from network.members.queries import build_viewer
from network.members.vocabulary import ConceptLabels, merge_concepts, rename_concept
from search.indexer import retry_pending
from search.models import SearchPending
from search.queries import search
from tests.conftest import _saved
from tests.needs import conftest as needs_fixtures

# The needs fixtures, found by pytest among this module's names (see test_needs_search.py).
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
sonora = needs_fixtures.sonora
world = needs_fixtures.world

GEOHYDROLOGY = {
    "label_es": "Geohidrología",
    "label_en": "Geohydrology",
    "synonyms_es": "",
    "synonyms_en": "",
}


def _found(app, text: str, kind: str, viewer_id: int, **filters: str) -> list[int]:
    """What `text` finds by exact words (a spelling-corrected answer is no match of `text`)."""
    with app.test_request_context():
        viewer = build_viewer(db.session.get(User, viewer_id))
        result = search(text, viewer, kind=kind, filters=filters)
        return [] if result.corrected else sorted(hit.obj_id for hit in result.hits)


def _concept(slug: str) -> Concept:
    return db.session.scalar(select(Concept).where(Concept.slug == slug))


def _rename(app, slug: str, data: dict[str, str]) -> None:
    with app.test_request_context():
        rename_concept(None, _concept(slug), ConceptLabels.parse(data))
        db.session.commit()


@pytest.fixture
def event_id(app, world: SimpleNamespace) -> int:
    """A published public event of the Madrid chapter on hydrology."""
    start = (utcnow() + timedelta(days=10)).replace(tzinfo=None, microsecond=0)
    with app.test_request_context():
        event = event_services.create_event(
            db.session.get(User, world.coordinator.id),
            event_services.EventData(
                title="Charla en Madrid",
                description="Ríos de México",
                hosts=[db.session.get(Chapter, world.madrid.id)],
                starts_local=start,
                ends_local=start + timedelta(hours=2),
                timezone="Europe/Madrid",
                format=EventFormat.ONLINE,
                visibility=EventVisibility.PUBLIC,
                status=EventStatus.PUBLISHED,
                online_url="https://meet.example.org/rios",
                topics=[_concept("hydrology")],
            ),
        )
        db.session.commit()
        return event.id


def test_a_renamed_concept_is_found_by_its_new_label_only(app, world, event_id):
    org = world.org_user.id  # reads the experts' expertise (visible to organisations)
    holders = sorted([world.elena.id, world.marco.id])
    assert _found(app, "hydrology", "members", org) == holders
    assert _found(app, "geohydrology", "members", org) == []

    _rename(app, "hydrology", GEOHYDROLOGY)

    for text in ("geohydrology", "geohidrologia"):
        assert _found(app, text, "members", org) == holders, text
        assert _found(app, text, "events", org) == [event_id], text
        assert _found(app, text, "needs", org) == [world.need_id], text
    for text in ("hydrology", "watershed science"):  # the old label and the dropped synonym
        assert _found(app, text, "members", org) == [], text
        assert _found(app, text, "events", org) == [], text
        assert _found(app, text, "needs", org) == [], text


def test_after_a_merge_holders_are_found_under_the_target(app, world, make_need, make_expert):
    org = world.org_user.id
    # Required "water treatment" only, in a title sharing no word with hydrology.
    treatment_need = make_need(
        world.org_user,
        title="Planta potabilizadora en Hermosillo",
        required=["water-treatment"],
        nice=[],
    )
    treater = make_expert({"expertise": "water-treatment"}, full_name="Tomás Vega")
    assert treatment_need not in _found(app, "hydrology", "needs", org)
    assert _found(app, "water purification", "members", org) == [treater.id]

    with app.test_request_context():
        merge_concepts(None, _concept("water-treatment"), _concept("hydrology"))
        db.session.commit()

    assert _found(app, "hydrology", "needs", org) == sorted([world.need_id, treatment_need])
    assert treater.id in _found(app, "hydrology", "members", org)
    # Marco held only the target: his document now carries the source's names as synonyms.
    assert _found(app, "water purification", "members", org) == sorted(
        [world.elena.id, world.marco.id, treater.id]
    )


def test_a_deleted_concept_leaves_its_holders_documents(app, world, event_id):
    org = world.org_user.id
    with app.app_context():
        db.session.delete(db.session.get(Concept, _concept("solar-photovoltaics").id))
        db.session.commit()
    # The need had it as nice to have; nothing else of the need speaks of solar panels.
    assert _found(app, "paneles solares", "needs", org) == []
    assert _found(app, "cuenca", "needs", org) == [world.need_id], "the rest stays searchable"


@pytest.fixture
def galicia(app) -> Node:
    """A state entered under its colonial name, which IME corrects."""
    return _saved(
        app,
        Node(
            code="MX-JAL",
            inegi_code="14",
            name="Nueva Galicia",
            capital="Guadalajara",
            timezone="America/Mexico_City",
        ),
    )


def test_a_renamed_state_is_found_by_its_new_name(app, world, galicia, make_need, make_expert):
    org = world.org_user.id
    with app.test_request_context():
        need_id = make_need(
            world.org_user,
            title="Parque solar comunitario en Los Altos",
            node=db.session.get(Node, galicia.id),
        )
    born_there = make_expert({"state_of_origin": "MX-JAL"}, full_name="Rosa Ortega")
    assert _found(app, "galicia", "needs", org) == [need_id]
    assert _found(app, "jalisco", "needs", org) == []

    with app.app_context():
        db.session.get(Node, galicia.id).name = "Jalisco"
        db.session.commit()

    assert _found(app, "jalisco", "needs", org) == [need_id]
    assert _found(app, "galicia", "needs", org) == []
    assert _found(app, "jalisco", "members", org) == [born_there.id]
    assert _found(app, "galicia", "members", org) == []


def test_a_renamed_sector_is_found_by_its_new_label(app, world, make_need):
    org = world.org_user.id
    # In the water sector, with no concept or word about water of its own.
    need_id = make_need(
        world.org_user,
        title="Parque solar comunitario en Los Altos",
        description="Paneles para una cooperativa.",
        required=["solar-photovoltaics"],
        nice=[],
    )
    assert need_id in _found(app, "agua", "needs", org)

    with app.app_context():
        water = db.session.scalar(select(Sector).where(Sector.slug == "water"))
        water.label_es, water.label_en = "Recursos hídricos", "Water resources"
        db.session.commit()

    assert need_id in _found(app, "recursos hidricos", "needs", org)
    assert need_id not in _found(app, "agua", "needs", org)


def test_a_new_sector_slug_reaches_the_members_facet(app, world):
    org = world.org_user.id
    with app.app_context():
        db.session.scalar(select(Sector).where(Sector.slug == "water")).slug = "hydric"
        db.session.commit()
    holders = sorted([world.elena.id, world.marco.id])
    assert _found(app, "hydrology", "members", org, sector="hydric") == holders
    assert _found(app, "hydrology", "members", org, sector="water") == []


def test_a_failed_write_keeps_the_holders_for_retry(app, world, event_id, monkeypatch):
    def broken(self, updates, deletions):
        raise OSError("disk full")

    monkeypatch.setattr(type(app.extensions["search_index"]), "write", broken)
    _rename(app, "hydrology", GEOHYDROLOGY)
    with app.app_context():
        pending = set(db.session.scalars(select(SearchPending.key)))
    assert pending == {
        f"member:{world.elena.id}",
        f"member:{world.marco.id}",
        f"event:{event_id}",
        f"need:{world.need_id}",
    }
    monkeypatch.undo()
    org = world.org_user.id
    assert _found(app, "geohydrology", "members", org) == []
    with app.app_context():
        assert retry_pending() == (4, True)
    assert _found(app, "geohydrology", "members", org) == sorted([world.elena.id, world.marco.id])
    assert _found(app, "geohydrology", "needs", org) == [world.need_id]


def test_holders_are_read_with_a_constant_number_of_queries(app, world, make_expert, count_queries):
    def rename_cost(label_en: str) -> int:
        with count_queries() as counter:
            _rename(app, "hydrology", {**GEOHYDROLOGY, "label_en": label_en})
        return counter.count

    few = rename_cost("Geohydrology")
    for n in range(4):
        make_expert({"expertise": "hydrology"}, full_name=f"Experta {n}")
    assert rename_cost("Hydrogeology") == few
    org = world.org_user.id
    assert len(_found(app, "hydrogeology", "members", org)) == 6
