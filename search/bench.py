"""`make bench`: full-text search on 100,000 synthetic members, with SQLite FTS5 as the reference.

Run as `.venv/bin/python -m search.bench [--members N] [--reuse]`. It deletes and recreates
`instance/bench/` (or BENCH_DIR) and keeps everything there (the SQLite database, the Whoosh
index, the FTS5 reference database, `results.json`), so it never touches the development
database or index. `--reuse` measures the corpus already there instead (no seeding, no reindex).

What it measures, in one run:

- `reindex_s`: the real rebuild path, `flask search reindex` (`all_documents` into
  the backend's `rebuild`), invoked through the CLI;
- `search_p50_ms`/`search_p95_ms`/`slowest_query_ms`: `search.queries.search(..., with_facets=True)`
  for viewers built by `build_viewer` as the search page builds them, with the process's reused
  searcher, over a fixed set of varied queries (accents, two words, concept synonyms, facet
  filters, typos, and inputs that look like query syntax), asked `--passes` times each;
- `fts5_p50_ms`/`fts5_p95_ms`: the same queries against SQLite FTS5 given the same words, concept
  expansion and visibility columns (`search.fts5ref`), with the same page of candidates and a total;
- `distinct_*`: what people typing different things get. `--distinct` queries from
  `search.querymix` (none of the fixed set), each asked once, for the next viewer in turn, after a
  warm-up on other words; the same on FTS5, and how many totals both engines agree on;
- `page_*`: the whole search page (GET /search?q=..., signed in as a member, through the test
  client) against the bare `search()` call it makes, on the same distinct queries;
- `first_search_ms`: the first search page (signed in, over HTTP) of a freshly started gunicorn
  worker, started as in production (`--config python:network.serving wsgi:app`, whose hook warms
  the worker before it takes requests), once the worker says it is ready;
- `single_update_ms`: one profile save through the ORM and a commit, until the new text is found
  by a search (the session hooks write the index after the commit).

The corpus is generated, not made with Faker per row: Faker (es_MX, en_US) fills pools of names,
jobs, companies and sentences once, and rows combine them with a seeded random generator, so runs
are reproducible; rows go in with SQLAlchemy Core `insert()` executemany in batches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import time
import unicodedata
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask_login import AnonymousUserMixin
from sqlalchemy import func, insert, select
from sqlalchemy import text as sql_text

from chapters.models import Chapter, ChapterMembership, Node
from chapters.services import load_structure
from network import create_app
from network.auth.models import User
from network.config import ROOT
from network.dashboard.bench import time_dashboard
from network.db import db, utcnow
from network.members.models import (
    Concept,
    EducationEntry,
    FreeTag,
    Profile,
    ProfileLanguage,
    ProfileMode,
    profile_concepts,
)
from network.members.profile_input import parse_profile
from network.members.queries import build_viewer
from network.members.services import update_profile
from network.members.vocabulary import load_vocabulary
from network.needs.bench import time_ranking
from network.needs.models import Need
from network.organisations.models import Organisation
from search import fts5ref
from search.backends import get_backend
from search.facets import facet_labels
from search.fts5ref import Fts5Reference
from search.queries import kind_counts, load_results, search
from search.querymix import distinct_queries

# BENCH_DIR=...: another folder, so two benches (or a bench and a load test) can run side by side.
BENCH_DIR = Path(os.environ.get("BENCH_DIR") or ROOT / "instance" / "bench")
SEED = 2026
BATCH = 5_000  # members per bulk-insert batch

TARGETS = {
    "search_p50_ms": 30.0,
    "search_p95_ms": 150.0,
    "reindex_s": 180.0,
    "single_update_ms": 200.0,
    "slowest_query_ms": 1000.0,
    "rank_ms": 300.0,
    # Issue 19: what signed-in users typing different things get.
    "distinct_ratio_p95": 3.0,
    "page_ratio_median": 1.3,
    "first_search_ms": 200.0,
}
DISTINCT = 200  # distinct queries measured, each asked once
WARM_UP = 100  # other distinct queries asked first, not measured
PAGE_WARM_UP = 5  # search pages rendered before the timed ones
FRESH_RUNS = 3  # freshly started processes timing their first search

# ---------------------------------------------------------------- the query set

# (text, facet filters). At least 40, as varied as real use: accents or not, one and two words,
# concept labels and synonyms in either language, names, places, plurals, typos (the fuzzy
# fallback), facet filters, and inputs that look like phrase/prefix/boolean syntax: those are
# plain words to us, and are here to show that they stay bounded.
QUERIES: tuple[tuple[str, dict[str, str]], ...] = (
    ("hidrología", {}),
    ("hidrologia", {}),
    ("hydrology", {}),
    ("agua potable", {}),
    ("energía solar", {}),
    ("photovoltaics", {}),
    ("inteligencia artificial", {}),
    ("machine learning", {}),
    ("neural networks", {}),
    ("salud pública", {}),
    ("telehealth", {}),
    ("cambio climático", {}),
    ("venture capital", {}),
    ("blockchain", {}),
    ("ingenieros", {}),
    ("engineer", {}),
    ("López", {}),
    ("pena", {}),
    ("García Hernández", {}),
    ("María", {}),
    ("maria hidrologia", {}),
    ("Houston", {}),
    ("São Paulo", {}),
    ("Alemania", {}),
    ("Germany", {}),
    ("Sonora", {}),
    ("Oaxaca agricultura", {}),
    ("UNAM", {}),
    ("doctorado", {}),
    ("francés", {}),
    ("desarrollo", {}),
    ("proyecto", {}),
    ("ingeniera en energía solar en Texas", {}),
    ("hidrologja", {}),
    ("inteligensia", {}),
    ("bio*", {}),
    ('"agua potable"', {}),
    ("AND OR NOT", {}),
    ("hidro* OR (sonora", {}),
    ("title:x", {}),
    ("hidrología", {"country": "US"}),
    ("ingeniero", {"language": "fr"}),
    ("salud", {"mentoring": "yes"}),
    ("energía", {"sector": "energy"}),
    ("agua", {"state": "MX-SON"}),
    ("software", {"mode": "mentoring"}),
    ("investigación", {"region": "europe"}),
    ("datos", {"chapter": "madrid", "language": "en"}),
)

VIEWERS = ("member", "anonymous", "organisation", "coordinator", "ime")

# ---------------------------------------------------------------- synthetic corpus

INSTITUTIONS = (
    "UNAM",
    "IPN",
    "Tecnológico de Monterrey",
    "Universidad Autónoma Metropolitana",
    "Universidad de Guadalajara",
    "BUAP",
    "UANL",
    "El Colegio de México",
    "CIDE",
    "Cinvestav",
    "ITAM",
    "Universidad Iberoamericana",
    "Universidad de Sonora",
    "Universidad Veracruzana",
    "MIT",
    "Stanford University",
    "UC Berkeley",
    "UCLA",
    "University of Texas at Austin",
    "Arizona State University",
    "University of Toronto",
    "McGill University",
    "Universidad Complutense de Madrid",
    "Universitat de Barcelona",
    "Sorbonne Université",
    "TU München",
    "ETH Zürich",
    "Imperial College London",
    "University of Oxford",
    "KU Leuven",
    "Universidade de São Paulo",
    "Universidad de Buenos Aires",
)
DEGREES_ES = ("Licenciatura en", "Ingeniería en", "Maestría en", "Doctorado en", "Especialidad en")
DEGREES_EN = ("BSc in", "BEng in", "MSc in", "PhD in", "MBA,")
FREE_TAGS = (
    "gestión de proyectos",
    "liderazgo",
    "python",
    "docker",
    "kubernetes",
    "excel avanzado",
    "scrum",
    "six sigma",
    "negociación",
    "oratoria",
    "power bi",
    "tableau",
    "autocad",
    "solidworks",
    "matlab",
    "r",
    "sql",
    "gis",
    "lean manufacturing",
    "emprendimiento",
    "comunicación científica",
    "divulgación",
    "periodismo de datos",
    "diseño ux",
    "rust",
    "react",
    "ciberseguridad ofensiva",
    "economía conductual",
    "sostenibilidad corporativa",
    "finanzas verdes",
    "mentoría de startups",
    "política educativa",
    "derecho migratorio",
)
EXTRA_LANGUAGES = ("fr", "de", "pt", "it", "zh", "ja", "nl", "ko")
MODES = ("remote_advice", "mentoring", "short_visit", "teaching", "investment", "research")
TIERS = ("public", "members", "organisations", "coordinators", "ime", "private")
TIER_WEIGHTS = (15, 50, 15, 8, 5, 7)
# Profile fields with a visibility column (network.visibility.PROFILE_FIELDS).
VISIBILITY_FIELDS = (
    "email",
    "phone",
    "headline",
    "bio",
    "country",
    "city",
    "state_of_origin",
    "timezone",
    "languages",
    "position",
    "education",
    "links",
    "expertise",
    "modes",
    "days_per_year",
    "mentoring",
    "open_to_requests",
    "chapters",
)
INTRO_ES = (
    "{job} con {years} años de experiencia en {c1} y {c2}.",
    "Trabajo en {employer}, en {city}, en temas de {c1}.",
    "Me especializo en {c1}; antes colaboré en proyectos de {s1} con equipos de {state}.",
)
INTRO_EN = (
    "{job} with {years} years of experience in {c1} and {c2}.",
    "I work at {employer} in {city} on {c1}.",
    "My focus is {c1}; before that I worked on {s1} projects with teams from {state}.",
)
OUTRO_ES = "Me interesa colaborar con universidades y gobiernos de {state} en {c2}."
OUTRO_EN = "I would like to work with universities and governments in {state} on {c2}."


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


@dataclass
class Pools:
    """What Faker is asked for once; every row is a random combination of these."""

    first_es: list[str]
    first_en: list[str]
    last_es: list[str]
    last_en: list[str]
    jobs_es: list[str]
    jobs_en: list[str]
    companies: list[str]
    sentences_es: list[str]
    sentences_en: list[str]


def make_pools(seed: int) -> Pools:
    # Faker is a development-only dependency used only to seed; importing this module (as the
    # load test does for make_app) must not need it.
    from faker import Faker  # noqa: PLC0415

    es, en = Faker("es_MX"), Faker("en_US")
    es.seed_instance(seed)
    en.seed_instance(seed)

    def unique(make: Callable[[], str], n: int) -> list[str]:
        return sorted({make() for _ in range(n)})

    return Pools(
        first_es=unique(es.first_name, 4000),
        first_en=unique(en.first_name, 3000),
        last_es=unique(es.last_name, 6000),
        last_en=unique(en.last_name, 3000),
        jobs_es=unique(es.job, 3000),
        jobs_en=unique(en.job, 3000),
        companies=unique(es.company, 1500) + unique(en.company, 1500),
        sentences_es=[es.sentence(nb_words=8) for _ in range(20_000)],
        sentences_en=[en.sentence(nb_words=8) for _ in range(20_000)],
    )


@dataclass
class Reference:
    """The rows of the real structure and vocabulary the synthetic members point at."""

    chapters: list[dict[str, Any]]
    chapter_weights: list[float]
    nodes: list[dict[str, Any]]
    concepts_by_sector: dict[int, list[dict[str, Any]]]
    sector_ids: list[int]
    organisation_id: int


@dataclass
class Batch:
    """One batch of rows for every table a member touches."""

    users: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    concepts: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    languages: list[dict[str, Any]] = field(default_factory=list)
    modes: list[dict[str, Any]] = field(default_factory=list)
    education: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)


def _member_rows(
    member_id: int,
    rng: random.Random,
    pools: Pools,
    ref: Reference,
    now: datetime,
    coordinators_left: dict[int, int],
    batch: Batch,
) -> None:
    """Append one synthetic member (account, profile and its children) to the batch."""
    spanish = rng.random() < 0.72
    if spanish:
        first = rng.choice(pools.first_es)
        name = f"{first} {rng.choice(pools.last_es)} {rng.choice(pools.last_es)}"
    else:
        first = rng.choice(pools.first_en)
        name = f"{first} {rng.choice(pools.last_en)}"
    home = rng.choices(ref.chapters, weights=ref.chapter_weights)[0]
    node = rng.choice(ref.nodes) if rng.random() < 0.92 else None
    sector = rng.choice(ref.sector_ids)
    in_sector = ref.concepts_by_sector[sector]
    picked = rng.sample(in_sector, k=min(len(in_sector), rng.randint(2, 4)))
    if rng.random() < 0.3:
        picked.append(rng.choice(ref.concepts_by_sector[rng.choice(ref.sector_ids)]))
    picked = list({c["id"]: c for c in picked}.values())
    c1, c2 = picked[0], picked[-1]
    job = rng.choice(pools.jobs_es if spanish else pools.jobs_en)
    employer = rng.choice(pools.companies + list(INSTITUTIONS[:8]))
    words = {
        "job": job,
        "years": rng.randint(2, 30),
        "employer": employer,
        "city": home["city"],
        "state": node["name"] if node else "México",
        "c1": (c1["label_es"] if spanish else c1["label_en"]).lower(),
        "c2": (c2["label_es"] if spanish else c2["label_en"]).lower(),
        "s1": rng.choice((c1["synonyms_es"] if spanish else c1["synonyms_en"]).split(";")),
    }
    intro, outro = (INTRO_ES, OUTRO_ES) if spanish else (INTRO_EN, OUTRO_EN)
    filler = rng.choices(pools.sentences_es if spanish else pools.sentences_en, k=11)
    bio = " ".join([rng.choice(intro).format(**words), *filler, outro.format(**words)])
    user_email = f"{_ascii(first)}.{member_id}@{rng.choice(('correo.mx', 'mail.com', 'uni.edu'))}"
    confirmed = rng.random() > 0.02  # a few never confirmed their address: not searchable
    batch.users.append(
        {
            "id": member_id,
            "email": user_email,
            "full_name": name,
            "password_hash": "!bench",
            "preferred_language": "es" if spanish else "en",
            "role": "member",
            "email_confirmed_at": now - timedelta(days=900) if confirmed else None,
            "auth_stamp": f"{member_id:016x}",
            "created_at": now - timedelta(days=900),
        }
    )
    preset = rng.random()
    if preset < 0.15:  # "make my profile public"
        tiers = {f: "public" for f in VISIBILITY_FIELDS if f not in {"email", "phone"}}
    elif preset < 0.65:  # the defaults
        tiers = {}
    else:  # chosen field by field
        tiers = {f: rng.choices(TIERS, TIER_WEIGHTS)[0] for f in VISIBILITY_FIELDS}
    defaults = {
        "email": "private",
        "phone": "private",
        "days_per_year": "organisations",
        "open_to_requests": "organisations",
    }
    visibility = {
        f"{f}_visibility": tiers.get(f, defaults.get(f, "members")) for f in VISIBILITY_FIELDS
    }
    open_to_mentoring = rng.random() < 0.3
    batch.profiles.append(
        {
            "id": member_id,
            "user_id": member_id,
            "name_public": preset < 0.15 or rng.random() < 0.1,
            "headline": (f"{job} en {employer}" if spanish else f"{job} at {employer}")[:160],
            "bio": bio,
            "country": home["country"],
            "city": home["city"],
            "state_of_origin_id": node["id"] if node else None,
            "timezone": home["timezone"],
            "position": job[:160],
            "employer": employer[:160],
            "website": "",
            "linkedin": "",
            "orcid": "",
            "phone": f"+{rng.randint(1, 99)} {rng.randint(100, 999)} "
            f"{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            "days_per_year": rng.choice((None, 2, 5, 10, 20, 30)),
            "open_to_mentoring": open_to_mentoring,
            "mentor_capacity": rng.randint(1, 4) if open_to_mentoring else 0,
            "open_to_requests": rng.random() < 0.6,
            "confirmed_at": now - timedelta(days=rng.randint(0, 900)),
            "last_nudged_at": None,
            "created_at": now - timedelta(days=900),
            "updated_at": now,
            **visibility,
        }
    )
    batch.concepts += [{"profile_id": member_id, "concept_id": c["id"]} for c in picked]
    if rng.random() < 0.2:
        batch.tags += [
            {"profile_id": member_id, "tag": tag}
            for tag in rng.sample(FREE_TAGS, rng.randint(1, 2))
        ]
    codes = ["es", "en"] if spanish else ["en", "es"]
    if rng.random() < 0.25:
        codes.append(rng.choice(EXTRA_LANGUAGES))
    levels = ["native", rng.choice(("C2", "C1", "B2")), "B1"]
    batch.languages += [
        {"profile_id": member_id, "code": code, "level": levels[i], "position": i}
        for i, code in enumerate(codes)
    ]
    batch.modes += [
        {"profile_id": member_id, "mode": m} for m in rng.sample(MODES, rng.randint(1, 3))
    ]
    degrees = DEGREES_ES if spanish else DEGREES_EN
    for position in range(rng.randint(1, 3)):
        subject = rng.choice(picked)
        batch.education.append(
            {
                "profile_id": member_id,
                "degree": rng.choice(degrees).rstrip(" ,"),
                "field": subject["label_es"] if spanish else subject["label_en"],
                "institution": rng.choice(INSTITUTIONS),
                "year": rng.randint(1985, 2024),
                "position": position,
            }
        )
    chapters = [home]
    if rng.random() < 0.12:
        chapters.append(rng.choice(ref.chapters))
    for chapter in {c["id"]: c for c in chapters}.values():
        role, status = "member", "approved"
        if coordinators_left.get(chapter["id"], 0) > 0:
            coordinators_left[chapter["id"]] -= 1
            role = "coordinator"
        elif rng.random() < 0.04:
            status = "pending"
        batch.memberships.append(
            {
                "user_id": member_id,
                "chapter_id": chapter["id"],
                "status": status,
                "role": role,
                "message": "",
                "requested_at": now - timedelta(days=800),
                "decided_at": now - timedelta(days=799) if status == "approved" else None,
                "decided_by_id": None,
            }
        )


def seed_corpus(members: int, seed: int) -> dict[str, int]:
    """The real structure and vocabulary through their loaders, then `members` synthetic members
    in bulk. Returns the user ids the benchmark's viewers are built from."""
    load_structure(with_chapters=True)
    load_vocabulary()
    db.session.add(
        Organisation(
            slug="secihti", name="Secretaría de Ciencia", kind="ministry", verified_at=utcnow()
        )
    )
    db.session.commit()
    rng = random.Random(seed)
    now = utcnow()
    chapters = [
        {"id": c.id, "city": c.city, "country": c.country, "timezone": c.timezone}
        for c in db.session.scalars(select(Chapter).order_by(Chapter.id))
    ]
    concepts: dict[int, list[dict[str, Any]]] = {}
    for c in db.session.scalars(select(Concept).order_by(Concept.id)):
        concepts.setdefault(c.sector_id, []).append(
            {
                "id": c.id,
                "label_es": c.label_es,
                "label_en": c.label_en,
                "synonyms_es": c.synonyms_es or c.label_es,
                "synonyms_en": c.synonyms_en or c.label_en,
            }
        )
    ref = Reference(
        chapters=chapters,
        # A few big chapters and a long tail, as in the real network.
        chapter_weights=[1 / (rank + 1) ** 0.7 for rank in range(len(chapters))],
        nodes=[{"id": n.id, "name": n.name} for n in db.session.scalars(select(Node))],
        concepts_by_sector=concepts,
        sector_ids=sorted(concepts),
        organisation_id=db.session.scalar(select(Organisation.id)),
    )
    pools = make_pools(seed)
    first_id = (db.session.scalar(select(func.max(User.id))) or 0) + 1
    coordinators_left = {c["id"]: 2 for c in chapters}
    tables = (
        ("users", User.__table__),
        ("profiles", Profile.__table__),
        ("concepts", profile_concepts),
        ("tags", FreeTag.__table__),
        ("languages", ProfileLanguage.__table__),
        ("modes", ProfileMode.__table__),
        ("education", EducationEntry.__table__),
        ("memberships", ChapterMembership.__table__),
    )
    with db.engine.begin() as connection:
        for start in range(first_id, first_id + members, BATCH):
            batch = Batch()
            for member_id in range(start, min(start + BATCH, first_id + members)):
                _member_rows(member_id, rng, pools, ref, now, coordinators_left, batch)
            for attribute, table in tables:
                rows = getattr(batch, attribute)
                if rows:
                    connection.execute(insert(table), rows)
        staff_id = first_id + members
        connection.execute(
            insert(User.__table__),
            [
                {
                    "id": staff_id,
                    "email": "org@bench.mx",
                    "full_name": "Organisation User",
                    "password_hash": "!bench",
                    "preferred_language": "es",
                    "role": "organisation",
                    "organisation_id": ref.organisation_id,
                    "email_confirmed_at": now,
                    "auth_stamp": "org",
                    "created_at": now,
                },
                {
                    "id": staff_id + 1,
                    "email": "ime@bench.mx",
                    "full_name": "IME Admin",
                    "password_hash": "!bench",
                    "preferred_language": "es",
                    "role": "ime",
                    "organisation_id": None,
                    "email_confirmed_at": now,
                    "auth_stamp": "ime",
                    "created_at": now,
                },
            ],
        )
    return bench_user_ids()


def bench_user_ids() -> dict[str, int]:
    """The accounts the benchmark's signed-in viewers are built from, found again on a reused
    corpus: a member, the coordinator of the first chapter (who reads that chapter's
    "coordinators" tier), the organisation's user and IME's administrator."""
    first_chapter = db.session.scalar(select(func.min(Chapter.id)))
    coordinator = db.session.scalar(
        select(ChapterMembership.user_id)
        .where(
            ChapterMembership.role == "coordinator",
            ChapterMembership.chapter_id == first_chapter,
        )
        .order_by(ChapterMembership.user_id)
        .limit(1)
    )
    member = db.session.scalar(
        select(User.id)
        .where(User.role == "member", User.email_confirmed_at.is_not(None), User.id != coordinator)
        .order_by(User.id)
        .limit(1)
    )
    staff = {
        email: uid
        for email, uid in db.session.execute(
            select(User.email, User.id).where(User.email.in_(["org@bench.mx", "ime@bench.mx"]))
        )
    }
    return {
        "member": member,
        "coordinator": coordinator,
        "organisation": staff["org@bench.mx"],
        "ime": staff["ime@bench.mx"],
    }


def forget_bench_need() -> None:
    """`network.needs.bench` makes its organisation (slug "bench-org"), user and need anew on
    every run: on a reused corpus, the previous run's go first (their slug and e-mail are
    unique), through the ORM, so the index drops the need too."""
    organisation = db.session.scalar(select(Organisation).where(Organisation.slug == "bench-org"))
    if organisation is None:
        return
    for need in db.session.scalars(select(Need).where(Need.organisation_id == organisation.id)):
        db.session.delete(need)
    for user in db.session.scalars(select(User).where(User.organisation_id == organisation.id)):
        db.session.delete(user)
    db.session.delete(organisation)
    db.session.commit()


# ---------------------------------------------------------------- measuring


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample at or above p % of all samples."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def make_app(bench_dir: Path, postgres_url: str | None = None) -> Any:
    """The app on the throwaway database and index; nothing of it lives outside bench_dir.

    With a PostgreSQL URL: that database (emptied first) and the PostgreSQL search backend."""
    os.environ["INSTANCE_PATH"] = str(bench_dir)  # create_app's instance folder
    backend = {"SEARCH_BACKEND": "postgres"} if postgres_url else {"SEARCH_BACKEND": "whoosh"}
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": postgres_url or f"sqlite:///{bench_dir / 'bench.db'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            **backend,
            "SECRET_KEY": "bench-only",
            "SEARCH_STORAGE": "file",
            "SEARCH_INDEX_DIR": str(bench_dir / "index"),
            "MAIL_SENDER": "memory",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


def time_reindex(app: Any) -> tuple[float, str]:
    """`flask search reindex`, exactly as an operator runs it."""
    runner = app.test_cli_runner()
    start = time.perf_counter()
    result = runner.invoke(args=["search", "reindex"])
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise RuntimeError(f"reindex failed: {result.output}\n{result.exception!r}")
    return elapsed, result.output.strip().splitlines()[-1]


# ---------------------------------------------------------------- a corpus kept for --reuse


def corpus_members(bench_dir: Path) -> int | None:
    """How many members the corpus in bench_dir was seeded with (None: there is none).

    Seeding writes corpus.json; a corpus seeded before that counts its members' accounts."""
    marker = bench_dir / "corpus.json"
    if marker.exists():
        return int(json.loads(marker.read_text())["members"])
    path = bench_dir / "bench.db"
    if not path.exists():
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        table = User.__table__.name
        return connection.execute(f"SELECT count(*) FROM {table} WHERE role = 'member'").fetchone()[
            0
        ]
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def listed_members() -> int:
    """Members the index must hold: confirmed, not suspended, with a profile (`member_document`)."""
    return db.session.scalar(
        select(func.count(Profile.id))
        .join(Profile.user)
        .where(
            User.role == "member",
            User.email_confirmed_at.is_not(None),
            User.suspended_at.is_(None),
        )
    )


def indexed_members(app: Any) -> int:
    """Member documents in the app's Whoosh index (deleted ones not counted)."""
    with app.app_context():
        searcher = get_backend().searcher()
        return sum(1 for _ in searcher.document_numbers(kind="member"))


# ---------------------------------------------------------------- measuring


@dataclass
class Sample:
    """One query, for one viewer, in one measured pass."""

    query: str
    filters: dict[str, str]
    viewer: str
    search_ms: float
    total: int
    no_facets_ms: float
    page_reload_ms: float
    fts5_ms: float
    fts5_total: int


@dataclass
class DistinctSample:
    """One query of the distinct pass, asked once of each engine for one viewer."""

    query: str
    viewer: str
    search_ms: float
    total: int
    fts5_ms: float
    fts5_total: int


@dataclass
class PageSample:
    """One query as the signed-in member's whole search page, and as the bare search call."""

    query: str
    page_ms: float
    bare_ms: float

    @property
    def ratio(self) -> float:
        return self.page_ms / max(self.bare_ms, 1e-9)


def build_viewers(app: Any, user_ids: dict[str, int]) -> dict[str, Any]:
    """Viewers as the search page builds them (`build_viewer` of the signed-in user)."""
    with app.test_request_context():
        viewers = {name: build_viewer(db.session.get(User, uid)) for name, uid in user_ids.items()}
        viewers["anonymous"] = build_viewer(AnonymousUserMixin())
    return viewers


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = call()
    return value, (time.perf_counter() - start) * 1000


def run_searches(
    app: Any, viewers: dict[str, Any], fts: Fts5Reference, passes: int
) -> list[Sample]:
    """Every query of QUERIES, `passes` times, each pass with the next viewer for each query.

    A first pass, not counted, warms what a running server has warm (the searcher, caches)."""
    samples: list[Sample] = []
    for number in range(passes + 1):
        for position, (text, filters) in enumerate(QUERIES):
            name = VIEWERS[(position + number) % len(VIEWERS)]
            viewer = viewers[name]
            with app.test_request_context():
                result, search_ms = _timed(
                    lambda: search(text, viewer, filters=filters, with_facets=True)  # noqa: B023
                )
                start = time.perf_counter()
                load_results(result, viewer, "es")
                facet_labels(result.facets, "es")
                kind_counts(text, viewer, {"members": result.total})
                page_reload_ms = (time.perf_counter() - start) * 1000
                _, no_facets_ms = _timed(
                    lambda: search(text, viewer, filters=filters, with_facets=False)  # noqa: B023
                )
            fts5_total, fts5_ms = _timed(lambda: fts.search(text, filters, viewer))  # noqa: B023
            if number:
                samples.append(
                    Sample(
                        text,
                        filters,
                        name,
                        search_ms,
                        result.total,
                        no_facets_ms,
                        page_reload_ms,
                        fts5_ms,
                        fts5_total,
                    )
                )
    return samples


def ask_once(
    app: Any, viewers: dict[str, Any], fts: Fts5Reference, queries: list[str]
) -> list[DistinctSample]:
    """Each query once, of our search (as the page asks it: with facets) and of FTS5, for the
    next viewer in turn: no query is warm in either engine when it is timed."""
    samples = []
    for position, text in enumerate(queries):
        name = VIEWERS[position % len(VIEWERS)]
        viewer = viewers[name]
        with app.test_request_context():
            result, search_ms = _timed(lambda: search(text, viewer, with_facets=True))  # noqa: B023
        fts5_total, fts5_ms = _timed(lambda: fts.search(text, {}, viewer))  # noqa: B023
        samples.append(DistinctSample(text, name, search_ms, result.total, fts5_ms, fts5_total))
    return samples


def signed_in_client(app: Any, user_id: int) -> Any:
    """A test client with the member's session, as Flask-Login keeps it after signing in."""
    client = app.test_client()
    with app.app_context():
        session_id = db.session.get(User, user_id).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def _search_page(client: Any, text: str) -> None:
    response = client.get("/search", query_string={"q": text})
    if response.status_code != 200:
        raise RuntimeError(f"the search page for {text!r} answered {response.status}")
    if SIGNED_IN_MARK not in response.data:
        raise RuntimeError(f"the search page for {text!r} was answered to a signed-out visitor")


def time_pages(
    app: Any, user_id: int, viewer: Any, queries: list[str], warm: list[str]
) -> list[PageSample]:
    """GET /search?q=... signed in as the member, against the bare `search()` call the page
    makes for the same query; the order alternates, so neither always finds the other's work
    warm. A few pages of other words first: templates compile on a worker's first pages."""
    client = signed_in_client(app, user_id)
    for text in warm[:PAGE_WARM_UP]:
        _search_page(client, text)
    size = app.config["SEARCH_PAGE_SIZE"]
    samples = []
    for position, text in enumerate(queries):

        def bare(text: str = text) -> None:
            with app.test_request_context():
                search(text, viewer, per_page=size, with_facets=True)

        def page(text: str = text) -> None:
            _search_page(client, text)

        if position % 2:
            _, bare_ms = _timed(bare)
            _, page_ms = _timed(page)
        else:
            _, page_ms = _timed(page)
            _, bare_ms = _timed(bare)
        samples.append(PageSample(text, page_ms, bare_ms))
    return samples


SIGNED_IN_MARK = b'action="/logout"'  # the sign-out form of the navigation bar
# How production starts the app (README, docs/deploy.md): gunicorn with the settings module whose
# post_worker_init hook warms each worker before its first request; one worker here.
GUNICORN_OPTIONS = ("--config", "python:network.serving", "--no-control-socket", "--workers", "1")
# What the hook logs once the worker is warm (or gave up warming): it then takes requests.
READY_MARKS = ("Worker warmed up", "starts cold")


def server_environment(bench_dir: Path) -> dict[str, str]:
    """The environment an app server on the bench corpus gets: its settings, nothing else."""
    return {
        **os.environ,
        "INSTANCE_PATH": str(bench_dir),
        "DATABASE_URL": f"sqlite:///{bench_dir / 'bench.db'}",
        "SEARCH_BACKEND": "whoosh",
        "SEARCH_STORAGE": "file",
        "SEARCH_INDEX_DIR": str(bench_dir / "index"),
        "SECRET_KEY": "bench-only",  # make_app's: the session cookie below is signed with it
        "MAIL_SENDER": "memory",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def session_cookie(app: Any, user_id: int) -> str:
    """The Cookie header of this user's signed-in session, as the log-in form leaves it."""
    with app.app_context():
        session_id = db.session.get(User, user_id).get_id()
    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps({"_user_id": session_id, "_fresh": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_warm(log: Path, server: subprocess.Popen, timeout: float = 600.0) -> str:
    """The line in which the worker says it is warm (or starting cold), once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if any(mark in line for mark in READY_MARKS):
                return line
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped while starting:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn's worker was not ready within {timeout:.0f} s")


def _timed_page(url: str, cookie: str) -> float:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if SIGNED_IN_MARK not in body:
        raise RuntimeError(f"{url} was answered to a signed-out visitor")
    return elapsed


def time_first_searches(app: Any, user_id: int, queries: list[str], runs: int) -> list[dict]:
    """`runs` freshly started gunicorn workers, started as in production, each timing its first
    and second search page (two queries it has never seen) signed in as the member, once the
    worker says it is ready; how long starting took is reported beside."""
    cookie = session_cookie(app, user_id)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    results = []
    for run in range(runs):
        asked = queries[2 * run : 2 * run + 2]
        port = _free_port()
        log = BENCH_DIR / f"fresh-worker-{run}.log"
        with log.open("w") as output:
            started = time.perf_counter()
            server = subprocess.Popen(
                [str(gunicorn), *GUNICORN_OPTIONS, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                cwd=ROOT,
                env=server_environment(BENCH_DIR),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                ready = _wait_until_warm(log, server)
                start_s = time.perf_counter() - started
                base = f"http://127.0.0.1:{port}/search?"
                pages_ms = [_timed_page(base + urlencode({"q": q}), cookie) for q in asked]
            finally:
                server.terminate()
                server.wait(timeout=60)
        results.append(
            {"queries": asked, "start_s": start_s, "ready": ready.strip(), "pages_ms": pages_ms}
        )
    return results


def time_updates(app: Any, viewer: Any, count: int = 5) -> list[float]:
    """Profile saves through the ORM and a commit, each timed until a search finds the new text.

    The new word differs on every run: a reused corpus already holds the last run's."""
    with app.app_context():
        user_ids = db.session.scalars(
            select(Profile.user_id)
            .join(Profile.user)
            .where(
                User.email_confirmed_at.is_not(None),
                Profile.headline_visibility.in_(["public", "members"]),
            )
            .order_by(Profile.id.desc())
            .limit(count)
        ).all()
    letters = random.Random(time.time_ns())
    timings = []
    for user_id in user_ids:
        word = "vulcanologa" + "".join(letters.choice(string.ascii_lowercase) for _ in range(6))
        with app.test_request_context():
            start = time.perf_counter()
            update_profile(
                db.session.get(User, user_id), parse_profile({"headline": f"Vulcanóloga {word}"})
            )
            db.session.commit()  # the session hooks write the index after this
            while user_id not in [hit.obj_id for hit in search(word, viewer).hits]:
                if time.perf_counter() - start > 10:
                    raise RuntimeError(f"update of member {user_id} never became searchable")
                time.sleep(0.001)
            timings.append((time.perf_counter() - start) * 1000)
    return timings


# ---------------------------------------------------------------- report


def against_fts5(
    samples: list[Sample] | list[DistinctSample], prefix: str, ratio: str
) -> dict[str, float]:
    """p50/p95 of our search and of FTS5 over the same samples, and the ratio of the p95s."""
    search_ms = [s.search_ms for s in samples]
    fts5_ms = [s.fts5_ms for s in samples]
    figures = {
        f"{prefix}search_p50_ms": _percentile(search_ms, 50),
        f"{prefix}search_p95_ms": _percentile(search_ms, 95),
        f"{prefix}fts5_p50_ms": _percentile(fts5_ms, 50),
        f"{prefix}fts5_p95_ms": _percentile(fts5_ms, 95),
    }
    figures[ratio] = figures[f"{prefix}search_p95_ms"] / max(figures[f"{prefix}fts5_p95_ms"], 1e-9)
    return figures


def summarise(samples: list[Sample], updates: list[float]) -> dict[str, float]:
    return {
        **against_fts5(samples, "", "ratio_p95"),
        "single_update_ms": statistics.median(updates),
        "slowest_query_ms": max(s.search_ms for s in samples),
    }


def summarise_distinct(
    distinct: list[DistinctSample], pages: list[PageSample], first: list[dict]
) -> dict[str, float]:
    """The figures of what users get: new queries, the whole page, a fresh process."""
    return {
        **against_fts5(distinct, "distinct_", "distinct_ratio_p95"),
        "page_p50_ms": statistics.median(p.page_ms for p in pages),
        "page_bare_p50_ms": statistics.median(p.bare_ms for p in pages),
        "page_ratio_median": statistics.median(p.ratio for p in pages),
        "first_search_ms": statistics.median(run["pages_ms"][0] for run in first),
    }


def agreement(samples: list[Sample] | list[DistinctSample]) -> dict[str, Any]:
    """How many queries both engines count alike, and the first few they do not."""
    differ = [s for s in samples if s.total != s.fts5_total]
    return {
        "same_total": len(samples) - len(differ),
        "queries": len(samples),
        "differ": [
            {"query": s.query, "viewer": s.viewer, "search": s.total, "fts5": s.fts5_total}
            for s in differ[:20]
        ],
    }


def _shown(value: Any) -> str:
    if value is None:
        return "not measured"
    return f"{value:,}" if isinstance(value, int) else f"{value:.1f}"


def print_table(results: dict[str, Any]) -> None:
    figures = results["figures"]
    print(f"\nSearch benchmark, {results['date']}, {results['machine']}")
    if results.get("reused"):
        print(f"(--reuse: the corpus in {BENCH_DIR} was measured again; reindex_s is not measured)")
    print(f"{'metric':<28}{'value':>12}  target")
    rows: list[tuple[str, Any]] = [
        ("members", results["members"]),
        ("reindex_s", figures["reindex_s"]),
        ("search_p50_ms", figures["search_p50_ms"]),
        ("search_p95_ms", figures["search_p95_ms"]),
        ("fts5_p50_ms", figures["fts5_p50_ms"]),
        ("fts5_p95_ms", figures["fts5_p95_ms"]),
        ("single_update_ms", figures["single_update_ms"]),
        ("slowest_query_ms", figures["slowest_query_ms"]),
        ("search_p95 / fts5_p95", figures["ratio_p95"]),
        ("rank_ms", figures["rank_ms"]),
    ]
    distinct = results["distinct"]
    rows_distinct: list[tuple[str, Any]] = [
        ("distinct_search_p50_ms", figures["distinct_search_p50_ms"]),
        ("distinct_search_p95_ms", figures["distinct_search_p95_ms"]),
        ("distinct_fts5_p50_ms", figures["distinct_fts5_p50_ms"]),
        ("distinct_fts5_p95_ms", figures["distinct_fts5_p95_ms"]),
        ("distinct_ratio_p95", figures["distinct_ratio_p95"]),
        ("page_p50_ms", figures["page_p50_ms"]),
        ("page_bare_p50_ms", figures["page_bare_p50_ms"]),
        ("page_ratio_median", figures["page_ratio_median"]),
        ("first_search_ms", figures["first_search_ms"]),
    ]

    def show(rows: list[tuple[str, Any]]) -> None:
        for name, value in rows:
            target = TARGETS.get(name)
            mark = ""
            if target is not None and value is not None:
                mark = f"<= {target:g}  {'ok' if value <= target else 'MISSED'}"
            print(f"{name:<28}{_shown(value):>12}  {mark}")

    show(rows)
    print(
        f"\nwhat users get: {distinct['count']} distinct queries, each asked once (after "
        f"{distinct['warm_up']} others), the member's whole search page, a fresh process:"
    )
    show(rows_distinct)
    print("\nqueries both engines count alike (FTS5 given the same words, tiers and expansions):")
    for name, agreed in results["agreement"].items():
        print(f"  {name:<34}{agreed['same_total']:>6} of {agreed['queries']}")
    print("\nalso measured (not targets):")
    for name, value in results["also"].items():
        print(f"  {name:<34}{_shown(value):>12}")
    postgres = results.get("postgres")
    if postgres:
        whoosh, pg = results["figures"], postgres["figures"]
        print(f"\nPostgreSQL search backend ({postgres['server']}), same corpus and queries:")
        print(f"{'metric':<26}{'whoosh':>12}{'postgres':>12}")
        for name in (
            "reindex_s",
            "search_p50_ms",
            "search_p95_ms",
            "single_update_ms",
            "slowest_query_ms",
        ):
            print(f"{name:<26}{_shown(whoosh[name]):>12}{_shown(pg[name]):>12}")
        for name, value in postgres["also"].items():
            print(f"  {name:<34}{value:>10.1f}")
    print(f"\nwritten to {BENCH_DIR / 'results.json'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--members", type=int, default=100_000, help="synthetic members to seed")
    parser.add_argument("--passes", type=int, default=3, help="measured passes over the queries")
    parser.add_argument(
        "--distinct",
        type=int,
        default=DISTINCT,
        help="distinct queries (none of the repeated set), each asked once",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the corpus already in BENCH_DIR (database, index, FTS5 reference) if it "
        "has --members members: no seeding, no reindex (reindex_s is not measured), and the FTS5 "
        "reference rebuilt only if its layout changed",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        help="also seed this PostgreSQL database (it is EMPTIED first) with the same corpus and "
        "measure the PostgreSQL search backend (SEARCH_BACKEND=postgres) beside Whoosh",
    )
    args = parser.parse_args(argv)

    def step(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    reused = args.reuse and corpus_members(BENCH_DIR) == args.members
    if args.reuse and not reused:
        step(f"no corpus of {args.members:,} members in {BENCH_DIR}/ to reuse: building one")
    seed_s = None
    if reused:
        step(f"reusing the corpus of {args.members:,} members in {BENCH_DIR}/")
        app = make_app(BENCH_DIR)
        with app.app_context():
            db.create_all()  # tables this version added since the corpus was seeded
    else:
        shutil.rmtree(BENCH_DIR, ignore_errors=True)
        BENCH_DIR.mkdir(parents=True)
        app = make_app(BENCH_DIR)
        step(f"seeding {args.members:,} synthetic members into {BENCH_DIR}/")
        start = time.perf_counter()
        with app.app_context():
            db.create_all()
            seed_corpus(args.members, SEED)
        seed_s = time.perf_counter() - start
        step(f"seeded in {seed_s:.1f} s")
    (BENCH_DIR / "corpus.json").write_text(json.dumps({"members": args.members, "seed": SEED}))
    with app.app_context():
        user_ids = bench_user_ids()
        listed = listed_members()
    reindex_s = None
    if not reused or indexed_members(app) != listed:
        step("rebuilding the index (flask search reindex)")
        reindex_s, reindex_output = time_reindex(app)
        step(f"{reindex_output} in {reindex_s:.1f} s")
    fts5_path = BENCH_DIR / "fts5.db"
    fts5_build_s = None
    if not reused or fts5ref.stored_members(fts5_path) != listed:
        step("building the FTS5 reference")
        fts5_build_s, fts5_count = fts5ref.build(app, fts5_path)
        step(f"FTS5: {fts5_count:,} members in {fts5_build_s:.1f} s")
    step(f"searching: {len(QUERIES)} queries, {args.passes} passes")
    viewers = build_viewers(app, user_ids)
    fts = Fts5Reference(fts5_path)
    samples = run_searches(app, viewers, fts, args.passes)
    with app.app_context():
        repeated = {text for text, _ in QUERIES}
        distinct = distinct_queries(db.session, args.distinct, seed=SEED, exclude=repeated)
        warm = distinct_queries(
            db.session, WARM_UP, seed=SEED + 1, exclude=repeated | set(distinct)
        )
    step(f"distinct queries: {WARM_UP} to warm up, then {len(distinct)} asked once")
    ask_once(app, viewers, fts, warm)
    distinct_samples = ask_once(app, viewers, fts, distinct)
    step("the member's whole search page against the bare search call")
    pages = time_pages(app, user_ids["member"], viewers["member"], distinct, warm)
    step(f"the first search pages of {FRESH_RUNS} freshly started gunicorn workers")
    first = time_first_searches(app, user_ids["member"], distinct, FRESH_RUNS)
    step("timing single profile updates")
    updates = time_updates(app, viewers["member"])
    step("ranking every member for one need (20 runs)")
    if reused:
        with app.test_request_context():
            forget_bench_need()
    ranking = time_ranking(app)
    step("building every panel of the dashboard, all time (5 runs)")
    dashboard = time_dashboard(app)

    figures = {
        "reindex_s": reindex_s,
        **summarise(samples, updates),
        "rank_ms": ranking["rank_ms"],
        **summarise_distinct(distinct_samples, pages, first),
    }
    postgres = None
    if args.postgres:
        postgres = bench_postgres(args.postgres, args.members, args.passes, step)
    index_dir = BENCH_DIR / "index"
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        "members": args.members,
        "reused": reused,
        "figures": figures,
        "targets": TARGETS,
        "distinct": {"count": len(distinct), "warm_up": len(warm)},
        "agreement": {
            "repeated queries": agreement(samples),
            "distinct queries": agreement(distinct_samples),
        },
        "also": {
            "seed_s": seed_s,
            **dashboard,
            "fts5_build_s": fts5_build_s,
            "search_without_facets_p50_ms": _percentile([s.no_facets_ms for s in samples], 50),
            "search_without_facets_p95_ms": _percentile([s.no_facets_ms for s in samples], 95),
            "page_reload_p50_ms": _percentile([s.page_reload_ms for s in samples], 50),
            "page_reload_p95_ms": _percentile([s.page_reload_ms for s in samples], 95),
            "page_p95_ms": _percentile([p.page_ms for p in pages], 95),
            "first_search_max_ms": max(run["pages_ms"][0] for run in first),
            "second_search_ms": statistics.median(run["pages_ms"][1] for run in first),
            "fresh_worker_start_s": statistics.median(run["start_s"] for run in first),
            "single_update_max_ms": max(updates),
            "rank_max_ms": ranking["rank_max_ms"],
            "rank_candidates": ranking["rank_candidates"],
            "index_mib": sum(f.stat().st_size for f in index_dir.iterdir()) / 2**20,
        },
        "updates_ms": updates,
        "queries": [vars(s) for s in samples],
        "distinct_queries": [vars(s) for s in distinct_samples],
        "pages": [{**vars(p), "ratio": p.ratio} for p in pages],
        "first_search": first,
    }
    if postgres:
        results["postgres"] = postgres
    (BENCH_DIR / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print_table(results)
    return 0


def bench_postgres(url: str, members: int, passes: int, step: Callable[[str], None]) -> dict:
    """The same corpus, queries and viewers on PostgreSQL with its own search backend: the
    figures an operator weighs before moving from one app server to several. The FTS5
    reference built from the SQLite corpus checks that both backends count alike."""
    app = make_app(BENCH_DIR, url)
    step("PostgreSQL: seeding the same corpus (the database is emptied first)")
    start = time.perf_counter()
    with app.app_context():
        db.drop_all()
        db.create_all()
        user_ids = seed_corpus(members, SEED)
        db.session.execute(sql_text("ANALYZE"))
        db.session.commit()
    seed_s = time.perf_counter() - start
    step(f"PostgreSQL: seeded in {seed_s:.1f} s; rebuilding the search documents")
    reindex_s, reindex_output = time_reindex(app)
    step(f"PostgreSQL: {reindex_output} in {reindex_s:.1f} s; searching")
    viewers = build_viewers(app, user_ids)
    samples = run_searches(app, viewers, Fts5Reference(BENCH_DIR / "fts5.db"), passes)
    step("PostgreSQL: timing single profile updates")
    updates = time_updates(app, viewers["member"])
    with app.app_context():
        size = app.extensions["search_index"].size_bytes()
        version = db.session.execute(sql_text("SHOW server_version")).scalar()
        db.session.remove()
        db.engine.dispose()
    figures = {"reindex_s": reindex_s, **summarise(samples, updates)}
    return {
        "server": f"PostgreSQL {version}",
        "figures": figures,
        "also": {
            "seed_s": seed_s,
            "search_without_facets_p50_ms": _percentile([s.no_facets_ms for s in samples], 50),
            "search_without_facets_p95_ms": _percentile([s.no_facets_ms for s in samples], 95),
            "page_reload_p95_ms": _percentile([s.page_reload_ms for s in samples], 95),
            "documents_mib": size / 2**20,
        },
        "queries": [vars(s) for s in samples],
    }


if __name__ == "__main__":
    sys.exit(main())
