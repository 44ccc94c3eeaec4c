"""`rank_ms` for `make bench`: rank every bench member for one need with 3 required and 3
nice-to-have concepts, top 20 returned, median of 20 runs (target: 300 ms on 2 cores).

The need asks for the most widely held concepts of one sector, so the candidate set is as large
as the corpus makes it: the figure is a worst case for a need in that sector, not a lucky one.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from sqlalchemy import func, select

from chapters.models import Node
from network.auth.models import User
from network.db import db, utcnow
from network.members.models import Concept, profile_concepts
from network.needs.models import Need, NeedStatus
from network.needs.ranking import rank_candidates
from network.needs.services import NeedData, post_need
from network.organisations.models import Organisation, OrganisationKind
from network.security import Role


def _bench_need() -> Need:
    """A verified organisation's need for the most held concepts of the busiest sector."""
    counts = db.session.execute(
        select(Concept, func.count(profile_concepts.c.profile_id).label("n"))
        .join(profile_concepts, profile_concepts.c.concept_id == Concept.id)
        .group_by(Concept.id)
        .order_by(func.count(profile_concepts.c.profile_id).desc())
    ).all()
    by_sector: dict[int, list[Concept]] = {}
    for concept, _n in counts:
        by_sector.setdefault(concept.sector_id, []).append(concept)
    concepts = next(group for group in by_sector.values() if len(group) >= 6)[:6]
    organisation = Organisation(
        slug="bench-org", name="Bench", kind=OrganisationKind.MINISTRY, verified_at=utcnow()
    )
    user = User(
        email="bench@bench.gob.mx",
        full_name="Bench",
        password_hash="-",
        role=Role.ORGANISATION,
        organisation=organisation,
        email_confirmed_at=utcnow(),
    )
    db.session.add_all([organisation, user])
    db.session.flush()
    node = db.session.scalar(select(Node).order_by(Node.id))
    need = post_need(
        user,
        NeedData(
            title="Benchmark need",
            sector=concepts[0].sector,
            required=concepts[:3],
            nice=concepts[3:],
            languages=["es", "en"],
            modes=["remote_advice", "short_visit"],
            effort_days=20,
            node=node,
            status=NeedStatus.OPEN,
        ),
    )
    db.session.commit()
    return need


def time_ranking(app: Any, runs: int = 20) -> dict[str, float]:
    """Median and slowest time of ranking the bench corpus for one need, and its candidates."""
    with app.test_request_context():
        need = _bench_need()
        timings = []
        total = 0
        for _ in range(runs):
            db.session.expire_all()
            need = db.session.get(Need, need.id)
            started = time.perf_counter()
            ranking = rank_candidates(need, limit=20)
            timings.append((time.perf_counter() - started) * 1000)
            total = ranking.total
        return {
            "rank_ms": statistics.median(timings),
            "rank_max_ms": max(timings),
            "rank_candidates": total,
        }
