"""Demo profiles that read like real members': one profession decides the headline, the position,
the employer, a bilingual bio and the expertise concepts, so a demo shown to a ministry agrees
with itself (no hydrologist working as a proof-reader, no random words)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from faker.providers.person.es_MX import Provider as _SpanishNames

# Spanish forms carry gender marks: {o} -> o/a, {a} -> ""/a (investigador/a), {e} -> e/a (jefe/a).
# Employers starting with "@" are kinds named after the member's city; others are fictional firms.


@dataclass(frozen=True)
class Profession:
    """One line of the table: everything a profile of this profession says about itself."""

    key: str
    title: tuple[str, str]  # Spanish (with gender marks), English
    keyword: tuple[str, str]  # a stem every bio in that language contains, lower case, no accents
    positions: tuple[tuple[str, str], ...]
    employers: tuple[str, ...]
    concepts: tuple[str, ...]  # the first is always chosen; slugs of the shipped vocabulary
    focus: tuple[tuple[str, str], ...]
    activities: tuple[tuple[str, str], ...]  # first person: "coordino …" / "coordinate …"
    offers: tuple[tuple[str, str], ...]


_CITY_EMPLOYERS = {
    "@university": ("Universidad de {city}", "University of {city}"),
    "@hospital": ("Hospital General de {city}", "{city} General Hospital"),
    "@city": ("Ayuntamiento de {city}", "City of {city}"),
    "@school": ("Colegio Internacional de {city}", "{city} International School"),
    "@research": ("Centro de Investigación de {city}", "{city} Research Centre"),
}
# Chapters abroad whose working language is Spanish get Spanish institution names.
SPANISH_SPEAKING = {"MX", "ES", "AR", "CL", "CO", "PE", "CR", "PA"}
_ENGLISH_CITY_NAMES = {
    "München": "Munich",
    "København": "Copenhagen",
    "Wien": "Vienna",
    "Genève": "Geneva",
    "Zürich": "Zurich",
    "Milano": "Milan",
    "Roma": "Rome",
    "Lisboa": "Lisbon",
    "Warszawa": "Warsaw",
    "Bruxelles": "Brussels",
    "Montréal": "Montreal",
    "Québec": "Quebec City",
    "São Paulo": "São Paulo",
}


def _load_professions() -> tuple[Profession, ...]:
    """The table lives beside the vocabulary it refers to (data/professions.json)."""
    rows = json.loads((Path(__file__).parent / "data" / "professions.json").read_text("utf-8"))

    def pairs(items: list[list[str]]) -> tuple[tuple[str, str], ...]:
        return tuple((spanish, english) for spanish, english in items)

    return tuple(
        Profession(
            key=row["key"],
            title=(row["title"][0], row["title"][1]),
            keyword=(row["keyword"][0], row["keyword"][1]),
            positions=pairs(row["positions"]),
            employers=tuple(row["employers"]),
            concepts=tuple(row["concepts"]),
            focus=pairs(row["focus"]),
            activities=pairs(row["activities"]),
            offers=pairs(row["offers"]),
        )
        for row in rows
    )


PROFESSIONS = _load_professions()
BY_KEY = {profession.key: profession for profession in PROFESSIONS}

_OPENINGS = (
    ("Soy {title} y me especializo en {focus}.", "I am {a_title} specialising in {focus}."),
    (
        "Soy {title}; mi trabajo se centra en {focus}.",
        "I am {a_title} whose work centres on {focus}.",
    ),
    (
        "Como {title}, llevo {years} años dedicad{o} a {focus}.",
        "As {a_title}, I have spent {years} years on {focus}.",
    ),
)
_CURRENT = (
    (
        "Trabajo en {employer}{where}, donde {activity}.",
        "I work at {employer}{where}, where I {activity}.",
    ),
    (
        "Desde hace {years} años trabajo en {employer}{where}, donde {activity}.",
        "For {years} years I have been at {employer}{where}, where I {activity}.",
    ),
)
_ORIGIN = ("Soy originari{o} de {state}.", "I am originally from {state}.")
_OFFERS = (
    (
        "Me interesa colaborar con instituciones mexicanas en {offer}.",
        "I would like to work with Mexican institutions on {offer}.",
    ),
    (
        "Puedo apoyar a universidades y gobiernos en México con {offer}.",
        "I can help universities and governments in Mexico with {offer}.",
    ),
)
_HEADLINES = (
    ("{Title}, {employer}", "{Title}, {employer}"),
    ("{Title} · {focus}", "{Title} · {focus}"),
)


@dataclass(frozen=True)
class DemoProfile:
    """The words of one demo profile, all from one profession."""

    profession: Profession
    headline: str
    position: str
    employer: str
    bio: str
    concept_slugs: list[str]


def is_female(first_name: str) -> bool:
    """Spanish titles agree with the person ("hidróloga"); Faker's own name lists decide."""
    if first_name in _SpanishNames.first_names_female:
        return True
    if first_name in _SpanishNames.first_names_male:
        return False
    return first_name.endswith("a")


def _gendered(text: str, female: bool) -> str:
    marks = {
        "{o}": "a" if female else "o",
        "{a}": "a" if female else "",
        "{e}": "a" if female else "e",
    }
    for mark, letter in marks.items():
        text = text.replace(mark, letter)
    return text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bare(focus: str) -> str:
    """A focus without its article, for a headline: "la economía circular" -> "economía circular"."""
    for article in ("la ", "el ", "los ", "las ", "the "):
        if focus.startswith(article):
            return focus[len(article) :]
    return focus


def employer_name(template: str, city: str, country: str, language: str | None = None) -> str:
    """A fictional firm as it is, or an institution of the member's city: in the local language
    for the profile's employer field, in the bio's language (`language`) inside a bio."""
    if not template.startswith("@"):
        return template
    spanish, english = _CITY_EMPLOYERS[template]
    if language == "es" or (language is None and country in SPANISH_SPEAKING):
        return spanish.format(city=city)
    return english.format(city=_ENGLISH_CITY_NAMES.get(city, city))


# Institutions take an article in a sentence ("trabajo en la Universidad de…", "at the City of…").
_SPANISH_ARTICLES = {
    "Universidad": "la",
    "Clínica": "la",
    "Hospital": "el",
    "Ayuntamiento": "el",
    "Colegio": "el",
    "Centro": "el",
    "Banco": "el",
    "Instituto": "el",
    "Museo": "el",
    "Observatorio": "el",
    "Hogar": "el",
}


def _in_sentence(name: str, language: str) -> str:
    first = name.split()[0]
    if language == "es":
        article = _SPANISH_ARTICLES.get(first)
        return f"{article} {name}" if article else name
    if first in _SPANISH_ARTICLES or name.startswith(("University of", "City of")):
        return f"the {name}"
    return f"the {name}" if name.endswith("Research Centre") else name


def demo_profile(
    rng: random.Random,
    *,
    first_name: str,
    city: str,
    country: str,
    language: str,
    state: str | None = None,
    profession: str | None = None,
    employer: str | None = None,
) -> DemoProfile:
    """A coherent profile: headline and position in the member's language, a bio in both (the
    member's language first), and two to four of the profession's concepts."""
    chosen = BY_KEY[profession] if profession else rng.choice(PROFESSIONS)
    female = is_female(first_name)
    template = employer or rng.choice(chosen.employers)
    employer = employer_name(template, city, country)
    english = language == "en"
    side = 1 if english else 0
    title = (_gendered(chosen.title[0], female), chosen.title[1])
    focus = rng.choice(chosen.focus)
    position = _gendered(rng.choice(chosen.positions)[side], female)
    headline = rng.choice(_HEADLINES)[side].format(
        Title=_capital(title[side]), employer=employer, focus=_bare(focus[side])
    )
    years = rng.randint(3, 22)
    parts = [rng.choice(_OPENINGS), rng.choice(_CURRENT)]
    if state:
        parts.append(_ORIGIN)
    parts.append(rng.choice(_OFFERS))
    activity, offer = rng.choice(chosen.activities), rng.choice(chosen.offers)
    paragraphs = []
    for index, lang in enumerate(("es", "en")):
        local_city = city if lang == "es" else _ENGLISH_CITY_NAMES.get(city, city)
        named = employer_name(template, city, country, lang)
        article = "an" if title[1][0].lower() in "aeiou" else "a"
        values = {
            "title": title[index],
            "a_title": f"{article} {title[1]}",
            "focus": focus[index],
            "years": years,
            "employer": _in_sentence(named, lang),
            # "…en la Universidad de Madrid" says where already.
            "where": "" if local_city in named else (f", en {city}", f" in {local_city}")[index],
            "activity": activity[index],
            "offer": offer[index],
            "state": state or "",
        }
        sentences = [_gendered(part[index], female).format(**values) for part in parts]
        paragraphs.append(" ".join(sentences).replace(" a el ", " al ").replace(" de el ", " del "))
    if english:
        paragraphs.reverse()
    core, *others = chosen.concepts
    slugs = [core, *rng.sample(others, k=rng.randint(1, min(3, len(others))))]
    return DemoProfile(chosen, headline[:160], position, employer, "\n\n".join(paragraphs), slugs)


# Messages people write when asking to join a chapter (shown to its coordinators).
JOIN_MESSAGES = (
    "Acabo de mudarme a la ciudad y me gustaría participar en las actividades del capítulo.",
    "Me interesa dar una charla y apoyar las mentorías con estudiantes en México.",
    "Trabajo en la zona desde hace años y quisiera conocer a otros profesionistas mexicanos.",
    "I moved here for work recently and would like to help with the chapter's events.",
    "I'd be glad to mentor students and join the chapter's projects with Mexican universities.",
)
