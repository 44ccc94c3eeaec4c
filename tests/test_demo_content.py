"""Demo profiles a ministry could be shown: each reads as one person of one profession."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from sqlalchemy import select

from network.auth.models import User
from network.cli import seed_demo_network
from network.extensions import db
from network.members.demo import PROFESSIONS, SPANISH_SPEAKING, is_female
from network.members.models import Profile

VOCABULARY = Path(__file__).parents[1] / "network" / "members" / "data" / "concepts.json"


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _forms(text: str) -> set[str]:
    """Both gendered forms of a Spanish template ("hidrólog{o}" -> hidrólogo, hidróloga)."""
    return {_gendered_form(text, False), _gendered_form(text, True)}


def _gendered_form(text: str, female: bool) -> str:
    if female:
        return text.replace("{o}", "a").replace("{a}", "a").replace("{e}", "a")
    return text.replace("{o}", "o").replace("{a}", "").replace("{e}", "e")


def _positions(profession) -> set[str]:
    return {form for es, en in profession.positions for form in (*_forms(es), en)}


def _titles(profession) -> set[str]:
    spanish, english = profession.title
    return {title[:1].upper() + title[1:] for title in (*_forms(spanish), english)}


def test_the_table_names_only_concepts_of_the_shipped_vocabulary():
    shipped = {concept["slug"] for concept in json.loads(VOCABULARY.read_text())["concepts"]}
    assert 25 <= len(PROFESSIONS) <= 40
    for profession in PROFESSIONS:
        assert set(profession.concepts) <= shipped, profession.key
        # Positions of different professions never coincide, so a position names one profession.
        others = set().union(*(_positions(p) for p in PROFESSIONS if p is not profession))
        assert not _positions(profession) & others, profession.key


def test_sixty_seeded_members_each_read_as_one_profession_in_both_languages(app):
    with app.app_context():
        seed_demo_network(members=60)
        db.session.commit()
        rows = db.session.execute(select(User, Profile).join(Profile)).all()
        assert len(rows) >= 60
        seen = set()
        for user, profile in rows:
            matching = [p for p in PROFESSIONS if profile.position in _positions(p)]
            assert len(matching) == 1, (profile.position, profile.headline)
            (profession,) = matching
            seen.add(profession.key)
            # The headline opens with the same profession's title, in the person's gender.
            assert any(profile.headline.startswith(title) for title in _titles(profession)), (
                profile.headline,
                profession.key,
            )
            slugs = {concept.slug for concept in profile.concepts}
            assert 2 <= len(slugs) <= 4 and slugs <= set(profession.concepts), profession.key
            assert profession.concepts[0] in slugs
            # A bio in both languages, each paragraph built from the profession's own phrases.
            spanish, english = profile.bio.split("\n\n")
            if user.preferred_language == "en":
                spanish, english = english, spanish
            assert profession.keyword[0] in _folded(spanish), (profession.key, spanish)
            assert profession.keyword[1] in _folded(english), (profession.key, english)
            assert spanish.startswith(("Soy ", "Como ")) and english.startswith(("I am ", "As "))
            # Spanish agrees with the person: "Soy hidróloga", never "hidrólogo" for Ximena.
            template = profession.title[0]
            female = is_female(user.full_name.split()[0])
            own = _gendered_form(template, female)
            assert own in spanish, (own, spanish)
            if _gendered_form(template, not female) != own:
                assert _gendered_form(template, not female) + " " not in spanish
            assert any(es in spanish for es, _ in profession.activities)
            assert any(en in english for _, en in profession.activities)
            assert profile.employer in profile.bio
            assert profile.state_of_origin.name in spanish
            # Institutions are named in the chapter country's language.
            if profile.employer.startswith(("Universidad de ", "University of ")):
                assert profile.employer.startswith("Universidad") == (
                    profile.country in SPANISH_SPEAKING
                )
        assert len(seen) >= 15  # sixty people are not all in the same trade


def test_the_demo_hydrologist_stays_a_hydrologist(app):
    with app.app_context():
        seed_demo_network(members=3)
        db.session.commit()
        profile = db.session.scalar(
            select(Profile).join(User).where(User.email == "miembro@demo.redglobal.mx")
        )
        assert profile.headline == "Hidróloga, Universidad Complutense de Madrid"
        assert re.search(r"hidr[oó]log", _folded(profile.position))
        assert profile.employer == "Universidad Complutense de Madrid"
        assert "Soy hidróloga" in profile.bio or "Como hidróloga" in profile.bio
        assert "Sonora" in profile.bio
        assert {c.slug for c in profile.concepts} == {"hydrology", "water-governance"}
