"""Search across members, events, chapters and needs."""

from __future__ import annotations

from marshmallow.fields import Boolean, Dict, Float, Integer, List, Nested, String

from network.api.pagination import PageArgs
from network.api.schemas.fields import QueryString, Response
from network.api.schemas.members import MemberOut
from search.queries import KINDS, NEED_STATUS_FILTERS
from search.schema import FACETS


class _SearchArgs(PageArgs):
    q = QueryString(
        load_default="",
        metadata={"description": "What to look for (may be empty for events, or with a filter)."},
    )
    kind = QueryString(
        choices=KINDS,
        load_default="members",
        metadata={"description": "members (default), events, chapters or needs."},
    )
    mentor = QueryString(
        metadata={"description": "true: members open to mentoring with room for a mentee."}
    )
    when = QueryString(
        choices=("upcoming", "past"),
        metadata={"description": "Events: upcoming (default) or past."},
    )
    format = QueryString(
        choices=("in_person", "online"),
        metadata={"description": "Events: in_person or online (hybrid events are both)."},
    )
    remote = QueryString(choices=("yes", "no"), metadata={"description": "Needs: yes or no."})
    status = QueryString(
        choices=NEED_STATUS_FILTERS,
        metadata={"description": "Needs: open (default), in_progress, completed or all."},
    )


# One filter parameter per facet of the index.
SearchArgs = type(
    "SearchArgs",
    (_SearchArgs,),
    {
        "__doc__": "What to search for, in which kind, filtered how, and which page.",
        **{
            name: QueryString(
                metadata={
                    "description": f"Only results with this {name} (events: country, region, "
                    "chapter, concept, language)."
                }
            )
            for name in FACETS
        },
    },
)


class WhyOut(Response):
    """One reason a result matched: the field, what matched there, the query word, and how."""

    field = String(required=True)
    matched = String(required=True)
    query = String(required=True)
    via = String(required=True)


class EventHitOut(Response):
    """An event found by search: when and where, never its online link (see the event itself,
    which shows the link to hosts and confirmed attendees)."""

    starts_at = String(required=True)
    ends_at = String(required=True)
    starts_at_utc = String(required=True)
    timezone = String(required=True)
    format = String(required=True)
    city = String(required=True)
    country = String(required=True, allow_none=True)
    language = String(required=True)
    visibility = String(required=True)
    chapters = List(String(), required=True)


class NeedHitOut(Response):
    """A development need found by search (see the need itself for everything else)."""

    organisation = String(required=True)
    status = String(required=True)
    state = String(required=True, allow_none=True)
    remote = Boolean(required=True)
    required_concepts = List(String(), required=True)


class SearchHitOut(Response):
    kind = String(required=True)
    id = Integer(required=True)
    title = String(required=True)
    url = String(required=True)
    score = Float(required=True)
    why = List(Nested(WhyOut), required=True)
    fields = Nested(MemberOut, allow_none=True)
    event = Nested(EventHitOut, allow_none=True)
    need = Nested(NeedHitOut, allow_none=True)


class SearchOut(Response):
    """Search results with facet counts; only what the caller may see is searched or counted.
    `kinds` counts the results of each kind for the same words (upcoming events only)."""

    total = Integer(required=True)
    page = Integer(required=True)
    results = List(Nested(SearchHitOut), required=True)
    facets = Dict(allow_none=True)
    corrected = String(allow_none=True)
    kinds = Dict(allow_none=True)
