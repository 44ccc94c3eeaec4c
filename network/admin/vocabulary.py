"""IME merges and renames concepts of the expertise vocabulary (issue 8).

The vocabulary grows from the shipped file and from free tags IME maps; over time it gathers
duplicates ("Hidrología" and "Hidrología superficial") and labels worth correcting. Both changes
go through members.vocabulary, which moves members' expertise, writes the audit entry and
announces the change, so that events and needs follow in their own domains. What a merge
touches in all of them is counted here, the one place that reads them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy import func, select, union
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from network.admin import bp
from network.errors import ValidationError
from network.events.models import event_topics
from network.extensions import db
from network.forms import apply_error, page_arg
from network.geo import current_language
from network.members import vocabulary as member_vocabulary
from network.members.models import Concept, Sector, profile_concepts
from network.needs.models import need_nice_concepts, need_required_concepts
from network.security import ime_required
from network.text import fold

PER_PAGE = 50
_required = DataRequired(message=_l("This field is required."))
_synonyms_hint = _l("One per line, or separated by semicolons.")


class ConceptRenameForm(FlaskForm):
    label_es = StringField(_l("Label in Spanish"), validators=[_required, Length(max=160)])
    label_en = StringField(_l("Label in English"), validators=[_required, Length(max=160)])
    synonyms_es = TextAreaField(
        _l("Synonyms in Spanish"),
        validators=[Length(max=4000)],
        description=_synonyms_hint,
        render_kw={"rows": 4},
    )
    synonyms_en = TextAreaField(
        _l("Synonyms in English"),
        validators=[Length(max=4000)],
        description=_synonyms_hint,
        render_kw={"rows": 4},
    )


class ConceptMergeForm(FlaskForm):
    target = StringField(
        _l("Merge into (slug or label of the concept to keep)"),
        validators=[_required, Length(max=160)],
    )
    across_sectors = BooleanField(_l("Merge even if the two concepts are in different sectors"))


# ---------------------------------------------------------------- read side


@dataclass(frozen=True)
class Usage:
    """How many members, needs and events hold a concept: what a merge or a rename touches."""

    members: int = 0
    needs: int = 0
    events: int = 0


def list_concepts(*, sector: Sector | None, text: str, page: int) -> Pagination:
    """A page of concepts, by sector then label in the viewer's language, optionally of one
    sector or matching a text in either language (accents ignored, like the autocomplete)."""
    language = current_language()
    query = select(Concept).join(Concept.sector).options(selectinload(Concept.sector))
    if sector is not None:
        query = query.where(Concept.sector_id == sector.id)
    if fold(text):
        query = query.where(Concept.search_text.contains(fold(text), autoescape=True))
    order = (
        (Sector.label_en, Concept.label_en)
        if language == "en"
        else (Sector.label_es, Concept.label_es)
    )
    query = query.order_by(*order, Concept.id)
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)


def count_usage(concept_ids: list[int]) -> dict[int, Usage]:
    """Usage of these concepts: one grouped query per kind of holder, whatever their number."""
    if not concept_ids:
        return {}

    def grouped(table: Any, column: Any) -> dict[int, int]:
        rows = db.session.execute(
            select(table.c.concept_id, func.count(column))
            .where(table.c.concept_id.in_(concept_ids))
            .group_by(table.c.concept_id)
        )
        return {concept_id: count for concept_id, count in rows}

    members = grouped(profile_concepts, profile_concepts.c.profile_id)
    events = grouped(event_topics, event_topics.c.event_id)
    # A need counts once per concept, whether it requires the concept or only would like it.
    pairs = union(
        select(need_required_concepts.c.need_id, need_required_concepts.c.concept_id),
        select(need_nice_concepts.c.need_id, need_nice_concepts.c.concept_id),
    ).subquery()
    needs = grouped(pairs, pairs.c.need_id)
    return {
        cid: Usage(members.get(cid, 0), needs.get(cid, 0), events.get(cid, 0))
        for cid in concept_ids
    }


def _sectors() -> list[Sector]:
    language = current_language()
    return sorted(db.session.scalars(select(Sector)), key=lambda s: fold(s.label(language)))


# ---------------------------------------------------------------- pages


@bp.route("/concepts")
@ime_required
def concepts() -> str:
    """The vocabulary with what uses each concept, to spot duplicates and unused concepts."""
    sectors = _sectors()
    sector_slug = request.args.get("sector", "")
    sector = next((s for s in sectors if s.slug == sector_slug), None)
    text = request.args.get("q", "").strip()[:160]
    pagination = list_concepts(sector=sector, text=text, page=page_arg())
    return render_template(
        "admin/concepts.html",
        pagination=pagination,
        usage=count_usage([c.id for c in pagination.items]),
        sectors=sectors,
        sector=sector,
        text=text,
    )


def _concept_page(
    concept: Concept, rename_form: ConceptRenameForm, merge_form: ConceptMergeForm
) -> str:
    return render_template(
        "admin/concept.html",
        concept=concept,
        usage=count_usage([concept.id])[concept.id],
        rename_form=rename_form,
        merge_form=merge_form,
    )


def _synonyms_for_form(value: str) -> str:
    return "\n".join(s for s in value.split(";") if s.strip())


@bp.route("/concepts/<int:concept_id>", methods=["GET", "POST"])
@ime_required
def concept(concept_id: int) -> str | Response:
    """Rename a concept: its labels and synonyms in both languages."""
    concept = db.get_or_404(Concept, concept_id)
    form = ConceptRenameForm()
    if request.method == "GET":
        form.label_es.data, form.label_en.data = concept.label_es, concept.label_en
        form.synonyms_es.data = _synonyms_for_form(concept.synonyms_es)
        form.synonyms_en.data = _synonyms_for_form(concept.synonyms_en)
    if form.validate_on_submit():
        try:
            member_vocabulary.rename_concept(
                current_user, concept, member_vocabulary.ConceptLabels.parse(form.data)
            )
        except ValidationError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _("“%(label)s” has been saved.", label=concept.label(current_language())), "success"
            )
            return redirect(url_for("admin.concept", concept_id=concept.id))
    return _concept_page(concept, form, ConceptMergeForm(formdata=None))


@bp.route("/concepts/<int:concept_id>/merge", methods=["POST"])
@ime_required
def merge_concept(concept_id: int) -> str | Response:
    """Merge this concept into another one, which is kept; this one is deleted."""
    source = db.get_or_404(Concept, concept_id)
    form = ConceptMergeForm()
    if form.validate_on_submit():
        try:
            target = member_vocabulary.concept_named("target", form.target.data)
            source_label = source.label(current_language())
            moved = count_usage([source.id])[source.id]
            member_vocabulary.merge_concepts(
                current_user, source, target, across_sectors=form.across_sectors.data
            )
        except ValidationError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "“%(source)s” has been merged into “%(target)s”: %(members)d members, "
                    "%(needs)d needs and %(events)d events moved.",
                    source=source_label,
                    target=target.label(current_language()),
                    members=moved.members,
                    needs=moved.needs,
                    events=moved.events,
                ),
                "success",
            )
            return redirect(url_for("admin.concept", concept_id=target.id))
    rename_form = ConceptRenameForm(formdata=None, obj=source)
    rename_form.synonyms_es.data = _synonyms_for_form(source.synonyms_es)
    rename_form.synonyms_en.data = _synonyms_for_form(source.synonyms_en)
    return _concept_page(source, rename_form, form)
