"""Development needs in the search box: what is indexed, when it changes, and the Needs tab."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from chapters.models import Node
from network.auth.models import User
from network.extensions import db
from network.members.models import Concept, Sector
from network.members.queries import build_viewer
from network.needs import services
from network.needs.models import Need, NeedLanguage, NeedStatus
from network.organisations.models import Organisation
from network.visibility import ANONYMOUS
from search.queries import kind_counts, search
from tests.conftest import _saved, login
from tests.needs import conftest as needs_fixtures

# The needs fixtures, found by pytest among this module's names (tests/needs/conftest.py only
# serves tests/needs). Assigned rather than imported: tests naming them as arguments are no
# redefinition of an import then.
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
sonora = needs_fixtures.sonora
world = needs_fixtures.world

EN = {"Accept-Language": "en"}


def _viewer(user):
    return build_viewer(db.session.get(User, user.id)) if user is not None else ANONYMOUS


def _found(app, text: str, user=None, **filters) -> list[int]:
    with app.test_request_context():
        result = search(text, _viewer(user), kind="needs", filters=filters)
        return [hit.obj_id for hit in result.hits]


def _set_status(app, world, need_id: int, status: NeedStatus, reason: str = "") -> None:
    with app.test_request_context():
        author = db.session.get(User, world.org_user.id)
        services.change_status(author, db.session.get(Need, need_id), status, reason)
        db.session.commit()


@pytest.fixture
def jalisco(app) -> Node:
    return _saved(
        app,
        Node(
            code="MX-JAL",
            inegi_code="14",
            name="Jalisco",
            capital="Guadalajara",
            timezone="America/Mexico_City",
        ),
    )


@pytest.fixture
def solar(app, world, jalisco, make_need) -> int:
    """A second open need: energy, on site in Jalisco, in Spanish and English."""
    # One app context around `make_need`'s, so that the sector and state are of its session.
    with app.test_request_context():
        return make_need(
            world.org_user,
            title="Parque solar comunitario en Los Altos",
            nice=[],
            required=["solar-photovoltaics"],
            description="Dimensionar paneles para una cooperativa.",
            remote=False,
            languages=["es", "en"],
            modes=["short_visit"],
            sector=db.session.scalar(select(Sector).where(Sector.slug == "energy")),
            node=db.session.scalar(select(Node).where(Node.code == "MX-JAL")),
        )


def test_a_word_of_the_title_finds_the_need(app, world):
    assert _found(app, "cuenca") == [world.need_id]
    assert _found(app, "HIDROLOGICO sonora") == [world.need_id]
    assert _found(app, "cuenca volcanes") == []


def test_concepts_found_in_both_languages_and_named_in_the_viewer_s(app, world):
    # Required: hydrology ("Hidrología", synonym "watershed science"), water treatment
    # ("potabilización"); nice to have: solar photovoltaics ("paneles solares").
    for text in (
        "hydrology",
        "hidrología",
        "hidrologia",
        "watershed science",
        "potabilizacion",
        "water purification",
        "paneles solares",
    ):
        assert _found(app, text) == [world.need_id], text
    with app.test_request_context():
        [hit] = search("watershed", ANONYMOUS, kind="needs", language="es").hits
        assert [(w.field, w.matched, w.query, w.via) for w in hit.why] == [
            ("required", "Hidrología", "watershed", "concept")
        ]
        [hit] = search("hidrologia", ANONYMOUS, kind="needs", language="en").hits
        assert ("required", "Hydrology", "hidrologia", "concept") in [
            (w.field, w.matched, w.query, w.via) for w in hit.why
        ]
        [hit] = search("photovoltaics", ANONYMOUS, kind="needs", language="en").hits
        assert [(w.field, w.matched) for w in hit.why] == [("nice", "Solar photovoltaics")]


def test_organisation_sector_state_and_description_are_indexed(app, world):
    assert _found(app, "secretaria ciencia") == [world.need_id]
    assert _found(app, "asesoria") == [world.need_id]  # the description
    with app.test_request_context():
        [hit] = search("asesoria", ANONYMOUS, kind="needs").hits
        assert re.search(r"<mark[^>]*>asesoría</mark>", hit.snippets["description"])
        # The sector's label in either language, named in the viewer's.
        for text, language, label in (("agua", "en", "Water"), ("water", "es", "Agua")):
            [hit] = search(text, ANONYMOUS, kind="needs", language=language).hits
            assert ("sector", label, text, "concept") in [
                (w.field, w.matched, w.query, w.via) for w in hit.why
            ]


def test_filters_by_state_sector_remote_and_their_counts(app, world, solar):
    assert sorted(_found(app, "")) == sorted([world.need_id, solar])
    assert _found(app, "", state="MX-SON") == [world.need_id]
    assert _found(app, "", state="MX-JAL") == [solar]
    assert _found(app, "", sector="energy") == [solar]
    assert _found(app, "", sector="water") == [world.need_id]
    assert _found(app, "", remote="no") == [solar]
    assert _found(app, "", remote="yes") == [world.need_id]
    assert _found(app, "", language="en") == [solar]
    assert _found(app, "", mode="short_visit") == [solar]
    # "paneles solares": a nice-to-have concept of one and the description of the other.
    assert sorted(_found(app, "paneles")) == sorted([world.need_id, solar])
    assert _found(app, "paneles", state="MX-SON") == [world.need_id]
    assert _found(app, "paneles", state="MX-SON", sector="energy") == []
    with app.test_request_context():
        facets = search("", ANONYMOUS, kind="needs", with_facets=True).facets
    assert facets["state"] == {"MX-SON": 1, "MX-JAL": 1}
    assert facets["sector"] == {"water": 1, "energy": 1}
    assert facets["remote"] == {"yes": 1, "no": 1}
    assert facets["status"] == {"open": 2, "all": 2}


def test_drafts_are_not_found_until_they_open(app, world, make_need):
    draft = make_need(
        world.org_user, title="Riego tecnificado en el valle del Yaqui", status=NeedStatus.DRAFT
    )
    assert _found(app, "yaqui") == []
    assert _found(app, "yaqui", status="all") == []
    _set_status(app, world, draft, NeedStatus.OPEN)
    assert _found(app, "yaqui") == [draft]


def test_a_closed_need_leaves_the_index(app, world):
    _set_status(app, world, world.need_id, NeedStatus.CLOSED, "Se canceló el presupuesto.")
    for status in ("open", "all", "closed"):
        assert _found(app, "cuenca", status=status) == [], status
    with app.test_request_context():
        assert kind_counts("cuenca", ANONYMOUS)["needs"] == 0
    assert "Modelo hidrológico" not in app.test_client().get("/search?q=cuenca&kind=needs").text


def test_in_progress_and_completed_needs_on_request(app, world):
    _set_status(app, world, world.need_id, NeedStatus.IN_PROGRESS)
    assert _found(app, "cuenca") == []  # open ones only by default
    assert _found(app, "cuenca", status="in_progress") == [world.need_id]
    assert _found(app, "cuenca", status="all") == [world.need_id]
    _set_status(app, world, world.need_id, NeedStatus.COMPLETED)
    assert _found(app, "cuenca", status="in_progress") == []
    assert _found(app, "cuenca", status="completed") == [world.need_id]
    with app.test_request_context():
        facets = search("cuenca", ANONYMOUS, kind="needs", with_facets=True).facets
    assert facets["status"] == {"completed": 1, "all": 1}
    assert _found(app, "cuenca", status="nonsense") == []  # an unknown status means the default


def test_anonymous_and_every_account_find_an_open_need(app, world):
    for user in (None, world.member, world.org_user, world.ime, world.elena):
        assert _found(app, "cuenca", user) == [world.need_id]
    page = app.test_client().get("/search?q=cuenca&kind=needs", headers=EN).text
    assert "Modelo hidrológico de la cuenca del río Sonora" in page


def test_editing_a_need_reindexes_it(app, world):
    with app.test_request_context():
        need = db.session.get(Need, world.need_id)
        wind = db.session.scalar(select(Concept).where(Concept.slug == "wind-power"))
        data = services.NeedData(
            title="Parque eólico en Puerto Peñasco",
            sector=need.sector,
            required=[wind],
            description="Medición de viento.",
            node=need.node,
            languages=["es"],
        )
        services.update_need(db.session.get(User, world.org_user.id), need, data)
        db.session.commit()
    assert _found(app, "cuenca") == []
    assert _found(app, "hidrologia") == []
    assert _found(app, "paneles") == []
    assert _found(app, "wind energy") == [world.need_id]
    assert _found(app, "penasco") == [world.need_id]


def test_a_concept_list_change_alone_reindexes_the_need(app, world):
    """The concept lists are association rows, not objects: the need itself must be caught."""
    with app.test_request_context():
        need = db.session.get(Need, world.need_id)
        wind = db.session.scalar(select(Concept).where(Concept.slug == "wind-power"))
        need.nice_concepts.append(wind)
        need.required_concepts = [c for c in need.required_concepts if c.slug != "hydrology"]
        db.session.commit()
    assert _found(app, "eolica") == [world.need_id]
    assert _found(app, "watershed") == []
    assert _found(app, "potabilizacion") == [world.need_id]


def test_a_language_or_organisation_change_alone_reindexes_the_need(app, world):
    assert _found(app, "", language="en") == []
    with app.test_request_context():
        need = db.session.get(Need, world.need_id)
        need.languages.append(NeedLanguage(code="en"))
        db.session.commit()
    assert _found(app, "", language="en") == [world.need_id]
    with app.test_request_context():
        db.session.get(Organisation, world.organisation.id).name = "Comisión Estatal del Agua"
        db.session.commit()
    assert _found(app, "comision estatal") == [world.need_id]
    assert _found(app, "secretaria") == []


def test_interest_in_a_need_does_not_rewrite_the_index(app, world, monkeypatch):
    from tests.search.test_search import count_index_writes

    writes = count_index_writes(app, monkeypatch)
    with app.test_request_context():
        services.express_interest(
            db.session.get(User, world.elena.id),
            db.session.get(Need, world.need_id),
            "Me interesa mucho.",
        )
        db.session.commit()
    assert writes == []
    # A change the need's document reads is written, through the same counter, on either backend.
    with app.test_request_context():
        db.session.get(Need, world.need_id).title = "Monitoreo de la cuenca del río Sonora"
        db.session.commit()
    assert writes == [1]


def test_needs_tab_counts_and_rows(app, world, make_need):
    national = make_need(
        world.org_user,
        title="Red nacional de monitoreo de la cuenca",
        node=None,
        required=["water-treatment"],
        nice=[],
    )
    with app.test_request_context():
        assert kind_counts("cuenca", ANONYMOUS)["needs"] == 2
        assert kind_counts("hidrologia", ANONYMOUS)["needs"] == 1
    client = app.test_client()
    members_tab = client.get("/search?q=cuenca", headers=EN).text
    assert re.search(r'data-kind="needs">Needs <span class="badge [^"]*">2</span>', members_tab)
    page = client.get("/search?q=hidrologia&kind=needs", headers=EN).text
    assert f'href="/needs/{world.need_id}"' in page
    assert re.search(r'Secretaría de Ciencia\s*<span class="text-body-secondary">· Sonora', page)
    assert 'data-testid="need-status">Open<' in page
    assert "<mark>Hydrology</mark>" in page  # the matched concept, in the viewer's language
    assert "hidrologia ≈ Hydrology (required expertise)" in page
    national_page = client.get("/search?q=monitoreo&kind=needs", headers=EN).text
    assert f'href="/needs/{national}"' in national_page
    assert re.search(
        r'Secretaría de Ciencia\s*<span class="text-body-secondary">· National', national_page
    )
    browse = client.get("/search?kind=needs", headers=EN).text
    assert browse.count('data-testid="search-hit"') == 2
    # A word too short to search is not a request to browse.
    assert "Type at least one word" in client.get("/search?q=x&kind=needs", headers=EN).text
    assert 'data-facet="status"' in browse and 'data-facet="state"' in browse


def test_needs_page_for_a_signed_in_member_and_its_filters(app, world, solar):
    client = login(app.test_client(), world.member)
    page = client.get("/search?kind=needs&remote=no", headers=EN).text
    assert "Parque solar comunitario" in page and "Modelo hidrológico" not in page
    assert "A distancia: Presencial" in page  # the active filter, removable (account: Spanish)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("agua AND (", True),  # operators are words ("and" a stop word), brackets nothing
        ('"cuenca', True),
        ("title:x", False),  # no field syntax: "title" is a word no need has
        ("hidro* OR (sonora", True),
        ("*", False),
        ("need_title:cuenca", False),  # nor the index's own field names
        ("\x00\x07", False),
        ("a" * 2000, False),
    ],
)
def test_query_syntax_never_breaks_the_needs_search(app, client, world, text, found):
    page = client.get("/search", query_string={"q": text, "kind": "needs"}, headers=EN)
    assert page.status_code == 200
    expected = [world.need_id] if found else []
    with app.test_request_context():
        result = search(text, ANONYMOUS, kind="needs")
        assert [hit.obj_id for hit in result.hits] == expected
        assert result.total == len(expected)
        assert kind_counts(text, ANONYMOUS).get("needs", 0) == len(expected)


def test_prefix_and_misspelling(app, world):
    assert _found(app, "hidrolog*") == [world.need_id]
    with app.test_request_context():
        result = search("hidrologja", ANONYMOUS, kind="needs")
    assert [h.obj_id for h in result.hits] == [world.need_id] and result.corrected


def test_reindex_includes_needs(app, runner, world, make_need):
    make_need(world.org_user, title="Borrador que no se indexa", status=NeedStatus.DRAFT)
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    stats = runner.invoke(args=["search", "stats"]).output
    assert "need: 1" in stats
    assert _found(app, "cuenca") == [world.need_id]


@pytest.mark.whoosh
def test_member_documents_hold_nothing_of_needs(app, world):
    from search.backends import get_backend
    from search.schema import NEED_FACETS, NEED_TEXT_FIELDS, need_facet_field

    need_fields = {*NEED_TEXT_FIELDS, *map(need_facet_field, NEED_FACETS), "need_opened"}
    with app.app_context():
        for stored in get_backend().searcher().all_stored_fields():
            if stored["kind"] != "need":
                assert not need_fields & set(stored), stored["kind"]


def test_the_api_finds_needs_with_their_summary_and_filters(app, world, make_need):
    make_need(world.org_user, title="Estrategia nacional de agua potable", node=None)
    client = app.test_client()
    found = client.get("/api/v1/search?q=sonora&kind=needs")
    assert found.status_code == 200
    body = found.get_json()
    assert [r["title"] for r in body["results"]] == [
        "Modelo hidrológico de la cuenca del río Sonora"
    ]
    hit = body["results"][0]
    assert hit["kind"] == "need" and hit["url"].endswith(f"/needs/{world.need_id}")
    assert hit["need"]["state"] == "MX-SON" and "hydrology" in hit["need"]["required_concepts"]
    national = client.get("/api/v1/search?q=agua&kind=needs&state=MX-SON").get_json()
    assert [r["title"] for r in national["results"]] == [
        "Modelo hidrológico de la cuenca del río Sonora"
    ]
