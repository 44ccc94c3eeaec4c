"""IME's vocabulary: concepts listed with their use, renamed, merged; the free-tag queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from network.audit import AuditEntry
from network.auth.models import User
from network.db import utcnow
from network.events import services as event_services
from network.events.models import Event, EventFormat, EventStatus, EventVisibility
from network.extensions import db
from network.members.models import Concept, Sector
from network.members.vocabulary import (
    CONCEPT_TEXT_FIELDS,
    ConceptLabels,
    merge_concepts,
    rename_concept,
)
from network.needs.models import Need, NeedStatus
from network.needs.services import NeedData, post_need
from network.signals import concept_merged, concept_renamed
from search.queries import search
from tests.search.test_search import SIGNED_IN


def _concept(slug: str) -> Concept | None:
    return db.session.scalar(select(Concept).where(Concept.slug == slug))


def _slugs(concepts) -> list[str]:
    return sorted(c.slug for c in concepts)


def _need(app, network, required: list[str], nice: list[str]) -> int:
    with app.test_request_context():
        need = post_need(
            db.session.get(User, network.org_user.id),
            NeedData(
                title="Modelo de la cuenca",
                sector=db.session.scalar(select(Sector)),
                required=[_concept(s) for s in required],
                nice=[_concept(s) for s in nice],
                status=NeedStatus.OPEN,
            ),
        )
        db.session.commit()
        return need.id


def _event(app, network, topics: list[str]) -> int:
    start = (utcnow() + timedelta(days=10)).replace(
        hour=18, minute=0, second=0, microsecond=0, tzinfo=None
    )
    with app.test_request_context():
        event = event_services.create_event(
            db.session.get(User, network.coordinator.id),
            event_services.EventData(
                title="Agua y ciudades",
                description="Charla",
                hosts=[db.session.get(type(network.madrid), network.madrid.id)],
                starts_local=start,
                ends_local=start + timedelta(hours=2),
                timezone="Europe/Madrid",
                format=EventFormat.ONLINE,
                visibility=EventVisibility.PUBLIC,
                status=EventStatus.PUBLISHED,
                online_url="https://meet.example.org/agua",
                topics=[_concept(s) for s in topics],
            ),
        )
        db.session.commit()
        return event.id


def _audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        db.session.expunge_all()
        return rows


def _member_ids(app, text: str) -> list[int]:
    with app.test_request_context():
        return [hit.obj_id for hit in search(text, SIGNED_IN, kind="members").hits]


def test_merge_moves_members_needs_events_and_labels(
    app, network, make_member, vocabulary, admin, ime
):
    # "water-treatment" is folded into "hydrology" (same sector).
    only_source = make_member({"expertise": "water-treatment"}, full_name="Ana Fuente")
    both = make_member({"expertise": "water-treatment; hydrology"}, full_name="Beto Ambos")
    required_source_nice_target = _need(app, network, ["water-treatment"], ["hydrology"])
    nice_source = _need(app, network, ["wind-power"], ["water-treatment"])
    event_id = _event(app, network, ["water-treatment", "hydrology"])
    source_id, target_id = vocabulary["water-treatment"], vocabulary["hydrology"]

    response = ime.post(
        f"/admin/concepts/{source_id}/merge",
        data={"target": "hydrology"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "2 members, 2 needs and 1 events moved" in page

    with app.app_context():
        assert db.session.get(Concept, source_id) is None
        for member in (only_source, both):
            assert _slugs(db.session.get(User, member.id).profile.concepts) == ["hydrology"]
        need = db.session.get(Need, required_source_nice_target)
        assert _slugs(need.required_concepts) == ["hydrology"], "required wins over nice"
        assert need.nice_concepts == []
        need = db.session.get(Need, nice_source)
        assert _slugs(need.required_concepts) == ["wind-power"]
        assert _slugs(need.nice_concepts) == ["hydrology"]
        assert _slugs(db.session.get(Event, event_id).topics) == ["hydrology"]
        target = db.session.get(Concept, target_id)
        assert "Tratamiento de agua" in target.synonyms_es.split(";")
        assert "potabilización" in target.synonyms_es.split(";")
        assert "Water treatment" in target.synonyms_en.split(";")
        assert "tratamiento de agua" in target.search_text
    [entry] = _audit(app, "concept.merged")
    assert entry.actor_id == admin.id and entry.subject_id == target_id
    assert "water-treatment" in entry.detail
    assert entry.detail.endswith("2 members, 2 needs, 1 events"), "every holder is counted"


def test_merged_members_are_found_under_the_target_and_by_the_old_name(
    app, network, make_member, vocabulary, ime
):
    moved = make_member({"expertise": "water-treatment"}, full_name="Ana Fuente")
    assert _member_ids(app, "hydrology") == []
    ime.post(f"/admin/concepts/{vocabulary['water-treatment']}/merge", data={"target": "Hydrology"})
    assert _member_ids(app, "hydrology") == [moved.id]
    assert _member_ids(app, "hidrología") == [moved.id]
    assert _member_ids(app, "water treatment") == [moved.id], "the old label is a synonym now"


def test_a_concept_is_not_merged_into_itself(app, network, vocabulary, ime):
    hydrology = vocabulary["hydrology"]
    response = ime.post(f"/admin/concepts/{hydrology}/merge", data={"target": "hydrology"})
    assert response.status_code == 200
    assert "cannot be merged into itself" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Concept, hydrology) is not None
    assert _audit(app, "concept.merged") == []


def test_merging_across_sectors_needs_a_confirmation(app, network, make_member, vocabulary, ime):
    member = make_member({"expertise": "wind-power"})
    url = f"/admin/concepts/{vocabulary['wind-power']}/merge"
    refused = ime.post(url, data={"target": "hydrology"})
    text = refused.get_data(as_text=True)
    assert "Confirm that you want to merge across sectors" in text and "Energy" in text
    with app.app_context():
        assert db.session.get(Concept, vocabulary["wind-power"]) is not None
    ime.post(url, data={"target": "hydrology", "across_sectors": "y"})
    with app.app_context():
        assert db.session.get(Concept, vocabulary["wind-power"]) is None
        assert _slugs(db.session.get(User, member.id).profile.concepts) == ["hydrology"]


def test_an_unknown_target_is_a_message(app, network, vocabulary, ime):
    response = ime.post(
        f"/admin/concepts/{vocabulary['hydrology']}/merge", data={"target": "no existe"}
    )
    assert response.status_code == 200
    assert "No concept has that name or slug." in response.get_data(as_text=True)


def test_merge_service_returns_how_many_members_moved(app, network, make_member, vocabulary):
    make_member({"expertise": "hydrology; water-treatment"})
    with app.test_request_context():
        source = db.session.get(Concept, vocabulary["hydrology"])
        target = db.session.get(Concept, vocabulary["water-treatment"])
        moved = merge_concepts(None, source, target)
        db.session.commit()
    assert moved == 1, "members whose expertise moved"


def test_rename_changes_the_profile_page_and_search(app, network, make_member, vocabulary, ime):
    ana = make_member(
        {"expertise": "hydrology", "expertise_visibility": "public", "name_public": True}
    )
    hydrology = vocabulary["hydrology"]
    form = ime.get(f"/admin/concepts/{hydrology}").get_data(as_text=True)
    assert 'value="Hidrología"' in form and "watershed science" in form
    response = ime.post(
        f"/admin/concepts/{hydrology}",
        data={
            "label_es": "Hidrología superficial",
            "label_en": "Surface hydrology",
            "synonyms_es": "ríos\nlagos; ríos",
            "synonyms_en": "watershed science",
        },
    )
    assert response.status_code == 302
    english = app.test_client().get(f"/members/{ana.id}", headers={"Accept-Language": "en"})
    assert "Surface hydrology" in english.get_data(as_text=True)
    spanish = app.test_client().get(f"/members/{ana.id}").get_data(as_text=True)
    assert "Hidrología superficial" in spanish
    with app.app_context():
        concept = db.session.get(Concept, hydrology)
        assert concept.synonyms_es == "ríos;lagos", "one per line or ;, without repeats"
        assert "hidrologia superficial" in concept.search_text and "lagos" in concept.search_text
    assert _member_ids(app, "lagos") == [ana.id], "the member's search document followed"
    [entry] = _audit(app, "concept.renamed")
    assert entry.subject_id == hydrology and "Surface hydrology" in entry.detail


def test_rename_refuses_a_label_of_another_concept(app, network, vocabulary, ime):
    response = ime.post(
        f"/admin/concepts/{vocabulary['hydrology']}",
        data={
            "label_es": "Hidrología",
            "label_en": "wind POWER",
            "synonyms_es": "",
            "synonyms_en": "",
        },
    )
    assert response.status_code == 200
    assert "is already the label of wind-power" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Concept, vocabulary["hydrology"]).label_en == "Hydrology"
    assert _audit(app, "concept.renamed") == []


def test_concept_list_counts_use_with_a_constant_number_of_queries(
    app, network, make_member, vocabulary, ime, count_queries
):
    make_member({"expertise": "hydrology; wind-power"})
    make_member({"expertise": "hydrology"})
    _need(app, network, ["hydrology"], ["water-treatment"])
    _event(app, network, ["hydrology"])
    with count_queries() as few:
        page = ime.get("/admin/concepts")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    row = text[text.index(">Hydrology</a>") :]
    row = row[: row.index("</tr>")]
    assert [cell.split("<")[0] for cell in row.split('class="text-end">')[1:]] == ["2", "1", "1"]
    for slug in ("hydrology2", "hydrology3", "hydrology4"):
        with app.app_context():
            db.session.add(
                Concept(
                    slug=slug,
                    sector_id=db.session.scalar(select(Sector.id)),
                    label_es=slug,
                    label_en=slug,
                )
            )
            db.session.commit()
    with count_queries() as more:
        ime.get("/admin/concepts")
    assert more.count == few.count


def test_concept_list_filters_by_sector_and_text(app, network, vocabulary, ime):
    energy = ime.get("/admin/concepts?sector=energy")
    text = energy.get_data(as_text=True)
    assert "Wind power" in text and "Hydrology" not in text.split("<table")[1]
    found = ime.get("/admin/concepts?q=potabilizacion")
    rows = found.get_data(as_text=True).split("<tbody>")[1]
    assert "Water treatment" in rows and "Hydrology" not in rows
    assert ime.get("/admin/concepts?sector=nope&q=%25&page=99999").status_code == 200


def test_free_tag_queue_is_most_used_first_and_audited(
    app, network, make_member, vocabulary, admin, ime
):
    make_member({"expertise": "acuiferos"})
    make_member({"expertise": "hidrologia subterranea; acuiferos"})
    queue = ime.get("/admin/tags").get_data(as_text=True)
    assert queue.index("acuiferos") < queue.index("hidrologia subterranea")
    assert "/admin/concepts" in queue
    ime.post("/admin/tags", data={"tag": "acuiferos", "new_tag": "Acuíferos"})
    ime.post("/admin/tags", data={"tag": "hidrologia subterranea", "concept": "hydrology"})
    [renamed] = _audit(app, "tag.renamed")
    assert "acuiferos" in renamed.detail and "Acuíferos" in renamed.detail
    assert renamed.actor_id == admin.id
    [mapped] = _audit(app, "tag.mapped")
    assert mapped.subject_type == "concept" and mapped.subject_id == vocabulary["hydrology"]
    again = ime.post(
        "/admin/tags",
        data={"tag": "hidrologia subterranea", "concept": "hydrology"},
        follow_redirects=True,
    )
    assert "No member carries this tag any more." in again.get_data(as_text=True)
    assert len(_audit(app, "tag.mapped")) == 1


def test_merge_and_rename_announce_themselves_for_the_other_domains(
    app, network, vocabulary, admin
):
    """Events and needs move their own references: the merge tells them, while the source's
    row still exists, which concept survives and who merged; a rename says which concept."""
    heard: list[tuple[str, str, str | None, int | None, bool]] = []

    def merged(source, *, target, admin):
        alive = db.session.get(Concept, source.id) is not None
        heard.append(("merged", source.slug, target.slug, admin.id, alive))

    def renamed(concept, *, admin):
        heard.append(("renamed", concept.slug, None, admin.id, True))

    with app.test_request_context():
        acting = db.session.get(User, admin.id)
        with concept_merged.connected_to(merged), concept_renamed.connected_to(renamed):
            hydrology = _concept("hydrology")
            rename_concept(
                acting,
                hydrology,
                ConceptLabels("Hidrología", "Hydrology", ["geohidrología"], []),
            )
            rename_concept(  # nothing changed: nothing to announce
                acting,
                hydrology,
                ConceptLabels.parse(
                    {name: getattr(hydrology, name) for name in CONCEPT_TEXT_FIELDS}
                ),
            )
            merge_concepts(acting, _concept("water-treatment"), hydrology)
        db.session.commit()
    assert heard == [
        ("renamed", "hydrology", None, admin.id, True),
        ("merged", "water-treatment", "hydrology", admin.id, True),
    ]
