"""`flask search reindex` reads members in bulk (`search.bulk`) while the session hooks load them
through the ORM: both must make the same documents, so a rebuilt index answers exactly as the
one kept up to date write by write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chapters.models import MembershipStatus, Node
from network.db import utcnow
from network.extensions import db
from network.members.models import (
    Concept,
    EducationEntry,
    FreeTag,
    Profile,
    ProfileLanguage,
    ProfileMode,
)
from network.security import Role
from network.visibility import Tier
from search.backends.whoosh import WhooshBackend
from search.documents import member_key
from search.indexer import _documents_for, all_documents


@pytest.fixture
def crowd(app, make_member, make_user, make_chapter, add_membership, vocabulary):
    """Members with every part a document reads, and accounts that must not be listed."""
    madrid = make_chapter()
    paris = make_chapter(slug="paris", name="París", country="FR", city="París", region_slug="eu")
    ana = make_member(
        {
            "headline": "Hidróloga",
            "bio": "Cuencas y acuíferos",
            "city": "Querétaro",
            "country": "MX",
            "position": "Investigadora",
            "employer": "UNAM",
            "expertise": "hydrology; solar-photovoltaics; acuíferos kársticos",
            "phone": "+52 55 1234 5678",
        },
        full_name="Ana Müller-García",
    )
    ben = make_member({"headline": "Engineer", "country": "ES"}, full_name="Ben Ruiz")
    add_membership(ana, madrid)
    add_membership(ana, paris, status=MembershipStatus.PENDING)
    add_membership(ben, paris)
    add_membership(ben, madrid)
    suspended = make_member({"headline": "Suspendido"}, full_name="Sus Pendido")
    unconfirmed = make_member({"headline": "Sin confirmar"}, full_name="Sin Confirmar")
    make_member({"headline": "Coordinadora"}, full_name="Otra Rol", role=Role.IME)
    with app.app_context():
        oaxaca = Node(
            code="MX-OAX",
            inegi_code="20",
            name="Oaxaca",
            capital="Oaxaca de Juárez",
            timezone="America/Mexico_City",
        )
        db.session.add(oaxaca)
        broader = Concept(
            slug="renewable-energy",
            sector=db.session.scalar(select(Concept).where(Concept.slug == "hydrology")).sector,
            label_es="Energías renovables",
            label_en="Renewable energy",
            narrower=[
                db.session.scalar(select(Concept).where(Concept.slug == "solar-photovoltaics"))
            ],
        )
        db.session.add(broader)
        profile = db.session.scalar(select(Profile).where(Profile.user_id == ana.id))
        profile.state_of_origin = oaxaca
        profile.open_to_mentoring = True
        profile.mentor_capacity = 1
        profile.active_mentees = 1  # full: left out of "See mentors"
        profile.name_public = True
        profile.set_visibility("bio", Tier.PRIVATE)
        profile.set_visibility("headline", Tier.PUBLIC)
        profile.set_visibility("chapters", Tier.MEMBERS)
        db.session.add_all(
            [
                FreeTag(profile_id=profile.id, tag="zeta"),
                FreeTag(profile_id=profile.id, tag="alfa"),
                ProfileLanguage(profile_id=profile.id, code="en", position=1),
                ProfileLanguage(profile_id=profile.id, code="es", position=0),
                ProfileMode(profile_id=profile.id, mode="remote"),
                ProfileMode(profile_id=profile.id, mode="mentoring"),
                EducationEntry(profile_id=profile.id, degree="Maestría", position=1),
                EducationEntry(profile_id=profile.id, degree="Doctorado", field="Agua", position=0),
            ]
        )
        db.session.get(type(suspended), suspended.id).suspended_at = utcnow() - timedelta(days=1)
        db.session.get(type(unconfirmed), unconfirmed.id).email_confirmed_at = None
        db.session.commit()
    return {"ana": ana, "ben": ben, "suspended": suspended, "unconfirmed": unconfirmed}


def test_a_rebuild_makes_the_documents_the_session_hooks_write(app, crowd):
    with app.app_context(), Session(db.engine) as session:
        rebuilt = list(all_documents(session))
        user_ids = session.scalars(select(Profile.user_id)).all()
        written, deleted = _documents_for(session, {member_key(i) for i in user_ids})
    members = [d for d in rebuilt if d["kind"] == "member"]
    assert members == sorted(written, key=lambda d: d["obj_id"])
    # Only confirmed, unsuspended members are listed, by both paths.
    assert {d["obj_id"] for d in members} == {crowd["ana"].id, crowd["ben"].id}
    assert member_key(crowd["suspended"].id) in deleted
    ana = next(d for d in members if d["obj_id"] == crowd["ana"].id)
    assert "Energías renovables" in ana["expertise"]  # the broader concept's line
    assert ana["f_mentoring"] == ""  # full mentor


def _index_content(index) -> dict[str, dict]:
    """Per document key: its stored fields and, per indexed field, its words and weights."""
    with index.searcher() as searcher:
        reader = searcher.reader()
        keys = {n: fields["key"] for n, fields in reader.iter_docs()}
        content = {key: {"stored": reader.stored_fields(n), "terms": {}} for n, key in keys.items()}
        for field, word in reader.all_terms():
            if field == "key":
                continue
            postings = reader.postings(field, word)
            while postings.is_active():
                if postings.id() in keys:  # not an older, deleted version
                    content[keys[postings.id()]]["terms"][(field, word)] = postings.weight()
                postings.next()
    return content


@pytest.mark.whoosh
def test_a_rebuilt_index_on_disk_equals_the_one_kept_write_by_write(app, crowd, runner, tmp_path):
    """The session hooks have kept the app's (RAM) index; `flask search reindex` into an index
    on disk, with worker processes, must hold the same documents, words and stored text."""
    kept = _index_content(app.extensions["search_index"].index)
    app.config.update(SEARCH_STORAGE="file", SEARCH_INDEX_DIR=str(tmp_path / "index"))
    app.extensions["search_index"] = WhooshBackend(app)
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    rebuilt = _index_content(app.extensions["search_index"].index)
    members = {key for key in kept if key.startswith("member:")}
    assert members == {member_key(crowd[n].id) for n in ("ana", "ben")}
    assert rebuilt == kept
