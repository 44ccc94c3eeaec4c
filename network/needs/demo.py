"""Demo needs for `flask demo seed`: open needs of the demo organisation (one in Sonora that fits
the demo member), a draft, a completed one with an outcome, and a pending request to the demo
member so that every side of the consent flow can be tried at once."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from chapters.models import Node
from network.auth.models import User
from network.db import db, utcnow
from network.members.models import Concept, Sector
from network.needs.models import ContactRequest, ContactStatus, NeedStatus, Outcome
from network.needs.services import NeedData, change_status, post_need

NEEDS = [
    (
        "Modelo hidrológico de la cuenca del río Sonora",
        "water",
        "MX-SON",
        ["hydrology", "water-governance"],
        ["water-treatment"],
        20,
        "open",
        "La Comisión Estatal del Agua necesita **calibrar un modelo hidrológico** de la cuenca "
        "para planear el abasto de Hermosillo. Buscamos asesoría a distancia y, si es posible, "
        "una visita corta.",
    ),
    (
        "Plataforma de telesalud para comunidades rurales de Oaxaca",
        "health",
        "MX-OAX",
        ["telemedicine", "health-informatics"],
        ["public-health"],
        30,
        "open",
        "Queremos diseñar una plataforma de consulta a distancia para 40 centros de salud.",
    ),
    (
        "Estrategia nacional de almacenamiento de energía",
        "energy",
        None,
        ["energy-storage", "energy-policy"],
        ["smart-grids", "solar-photovoltaics"],
        15,
        "open",
        "Revisión de la hoja de ruta de almacenamiento para la red eléctrica nacional.",
    ),
    (
        "Aprendizaje automático para la vigilancia epidemiológica",
        "health",
        "MX-CMX",
        ["machine-learning", "epidemiology"],
        [],
        10,
        "draft",
        "Borrador: modelos de alerta temprana con datos de urgencias.",
    ),
    (
        "Taller de gobernanza del agua en Zacatecas",
        "water",
        "MX-ZAC",
        ["water-governance"],
        [],
        5,
        "completed",
        "Taller de dos días con el organismo operador del agua.",
    ),
    # More open needs across sectors, so that IME's supply-vs-demand table has demand to show.
    (
        "Refuerzo sísmico de escuelas en Guerrero",
        "infrastructure_transport",
        "MX-GRO",
        ["earthquake-engineering", "structural-engineering"],
        [],
        15,
        "open",
        "Revisión de criterios de refuerzo para 120 escuelas públicas.",
    ),
    (
        "Agricultura de precisión para productores de Sinaloa",
        "agriculture_food",
        "MX-SIN",
        ["precision-agriculture", "soil-science"],
        ["agronomy"],
        20,
        "open",
        "Sensores y mapas de suelo para reducir el uso de agua y fertilizantes.",
    ),
    (
        "Ciberseguridad del padrón de programas sociales",
        "software_ai",
        None,
        ["cybersecurity", "cloud-computing"],
        [],
        20,
        "open",
        "Auditoría de la arquitectura y plan de respuesta a incidentes.",
    ),
    (
        "Evaluación de yacimientos de litio en Sonora",
        "mining_materials",
        "MX-SON",
        ["critical-minerals", "geology"],
        ["metallurgy"],
        25,
        "in_progress",
        "Acompañamiento técnico a la evaluación de reservas.",
    ),
    (
        "Hidrógeno verde para el corredor industrial del Bajío",
        "energy",
        "MX-GUA",
        ["green-hydrogen"],
        ["energy-efficiency"],
        20,
        "open",
        "Estudio de factibilidad para la industria automotriz de Guanajuato.",
    ),
    (
        "Energías renovables para comunidades aisladas de Baja California Sur",
        "energy",
        "MX-BCS",
        # A broader concept: its candidates are the solar, wind, geothermal... experts.
        ["renewable-energy"],
        ["energy-storage"],
        20,
        "open",
        "Sistemas solares y eólicos con almacenamiento para 30 localidades sin red eléctrica; "
        "buscamos quien revise el diseño y capacite a los operadores locales.",
    ),
    (
        "Monitoreo satelital de la Selva Lacandona",
        "aerospace",
        "MX-CHP",
        ["remote-sensing", "satellite-systems"],
        [],
        15,
        "open",
        "Detección temprana de deforestación con imágenes satelitales.",
    ),
    (
        "Programa de retorno de talento científico",
        "public_policy_law",
        None,
        ["migration-policy", "program-evaluation"],
        [],
        10,
        "open",
        "Diseño y evaluación de incentivos para investigadores que regresan a México.",
    ),
]


def seed_demo_needs(
    organisation_user: User, member: User, people: list[User], rng: random.Random
) -> int:
    """Post the demo needs as the demo organisation's user; returns how many."""
    db.session.flush()
    concepts = {c.slug: c for c in db.session.scalars(select(Concept))}
    sectors = {s.slug: s for s in db.session.scalars(select(Sector))}
    nodes = {n.code: n for n in db.session.scalars(select(Node))}
    today = date.today()
    # Needs were posted over the past year (the dashboard counts them by period); a generator of
    # their own leaves every other demo choice as it was.
    posted = random.Random(len(NEEDS))
    for title, sector, state, required, nice, effort, status, text in NEEDS:
        need = post_need(
            organisation_user,
            NeedData(
                title=title,
                description=text,
                sector=sectors[sector],
                required=[concepts[s] for s in required],
                nice=[concepts[s] for s in nice],
                languages=["es"],
                modes=["remote_advice", "short_visit"],
                effort_days=effort,
                starts_on=today + timedelta(days=30),
                ends_on=today + timedelta(days=150),
                node=nodes.get(state) if state else None,
                remote=True,
                status=NeedStatus.OPEN if status != "draft" else NeedStatus.DRAFT,
            ),
        )
        need.opened_at = need.created_at = utcnow() - timedelta(days=posted.randint(50, 330))
        if status == "in_progress":
            change_status(organisation_user, need, NeedStatus.IN_PROGRESS)
        if need.node is not None and need.node.code == "MX-SON" and "hydrology" in required:
            # A request for the demo member to answer (added directly: no e-mail from the CLI).
            db.session.add(
                ContactRequest(
                    need=need,
                    organisation_id=need.organisation_id,
                    member_id=member.id,
                    sender=organisation_user,
                    message="Hola, vimos tu experiencia en hidrología en "
                    "Madrid. ¿Te interesaría asesorarnos con el modelo de la cuenca?",
                )
            )
        if status == "completed":
            expert = rng.choice(people)
            db.session.add(
                ContactRequest(
                    need=need,
                    organisation_id=need.organisation_id,
                    member_id=expert.id,
                    sender=organisation_user,
                    message="¿Nos acompañas en el taller?",
                    status=ContactStatus.ACCEPTED,
                    answered_at=utcnow() - timedelta(days=40),
                    created_at=utcnow() - timedelta(days=45),
                )
            )
            change_status(organisation_user, need, NeedStatus.COMPLETED)
            db.session.add(
                Outcome(
                    need=need,
                    member_id=expert.id,
                    days=3,
                    rating=5,
                    achieved="Taller impartido a 25 personas del organismo.",
                    confirmed_at=utcnow(),
                )
            )
    db.session.flush()
    return len(NEEDS)
