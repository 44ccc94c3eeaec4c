"""The directory's pages from per-worker bitsets of its filters, kept until the data changes.

Why: a directory page is a filter over every listed member, ordered by name or by date, with a
page number. SQL answers it by walking the whole ordered match for the count and again up to the
page's OFFSET; at 100,000 members that took 240 ms at the median and 740 ms on deep pages with a
filter, for every page of every visitor. Here every listed member has a place in each order, and
each filter (country, chapter, region, state, sector, concept, language, mode, mentoring) is kept
as one bitset per value over those places, built for all its values by one query. A page is then
an AND of a few bitsets, its count a `bit_count()` and its rows the set bits from an offset; only
the 24 profiles shown are loaded. Everything is keyed by the *page generation* (the number that
every write touching page data increases, see `network.pagecache`), so a change shows at once.

Privacy: what a viewer may filter on depends on their tiers (shared by every viewer alike: the
anonymous, members, organisations, IME), plus two things of their own: their own profile (they
see all of it) and, for coordinators, their chapters' members' fields shown to coordinators. The
shared bitsets are made for a viewer stripped of those two (same tiers), and the viewer's own
matches among those few members come from `directory_query` and are merged in at their place on
every request. `directory_query` stays the rule of record: the tests compare both, page by page,
for every viewer of the access matrix.

The cache is `network.pagecache.app_cache`: `functools.lru_cache`, one per app, with the
generation in the key. Bitsets are Python integers (as in `search.backends.whoosh_bitsets`):
AND, OR and counting run in C.
"""

from __future__ import annotations

import dataclasses
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import literal, select
from wtforms import SelectChoice

from chapters import queries as chapter_queries
from chapters.models import Chapter, ChapterMembership, MembershipStatus, Node, Region
from network.auth.models import User
from network.db import db
from network.geo import country_choices, language_names
from network.members.models import (
    MODE_LABELS,
    Concept,
    Profile,
    ProfileLanguage,
    ProfileMode,
    Sector,
    profile_concepts,
)
from network.members.queries import (
    DirectoryFilters,
    directory_query,
    eager_profiles,
    list_concepts,
    list_sectors,
    listed_members,
    name_clause,
    visible_clause,
)
from network.members.vocabulary import narrower_of
from network.pagecache import app_cache, read_generation
from network.visibility import Viewer

# Bitsets kept per worker: one per facet value and tier kind, a bit per listed member (12.5 KB at
# 100,000 members). Facets are built whole, one query each, for every value at once.
MAX_FACETS = 256


@dataclasses.dataclass(frozen=True)
class Order:
    """Every listed member in one display order, at one generation."""

    ids: array  # profile ids, in order
    position: dict[int, int]  # profile id -> its place in `ids`

    def bits(self, pids: Iterable[int]) -> int:
        """The bitset (bit n: the member at place n) of these profiles; unlisted ones drop."""
        buffer = bytearray((len(self.ids) >> 3) + 1)
        position = self.position
        for pid in pids:
            at = position.get(pid)
            if at is not None:
                buffer[at >> 3] |= 1 << (at & 7)
        return int.from_bytes(buffer, "little")


def _sort_columns(sort: str) -> tuple[Any, ...]:
    if sort == "recent":
        return (Profile.confirmed_at.desc(), Profile.id)
    return (User.full_name, Profile.id)


def _order(generation: int, sort: str) -> Order:
    """Listed members in this order (the database decides the collation, as for SQL pages)."""
    query = listed_members().with_only_columns(Profile.id).order_by(*_sort_columns(sort))
    ids = array("i", db.session.scalars(query))
    return Order(ids, {pid: n for n, pid in enumerate(ids)})


def _facet_rows(facet: str, viewer: Viewer) -> Any:
    """(profile id, value) for every member whose `facet` this viewer may filter on: the same
    rules as `directory_query`, for every value at once (the tests hold the two together)."""
    match facet:
        case "population":
            return (
                listed_members()
                .where(name_clause(viewer))
                .with_only_columns(Profile.id, literal(""))
            )
        case "country":
            return select(Profile.id, Profile.country).where(visible_clause("country", viewer))
        case "chapter" | "region":
            value = Chapter.slug if facet == "chapter" else Region.slug
            query = (
                select(Profile.id, value)
                .join(ChapterMembership, ChapterMembership.user_id == Profile.user_id)
                .join(Chapter, Chapter.id == ChapterMembership.chapter_id)
                .where(
                    ChapterMembership.status == MembershipStatus.APPROVED,
                    visible_clause("chapters", viewer),
                )
            )
            return (
                query.join(Region, Region.id == Chapter.region_id) if facet == "region" else query
            )
        case "state":
            return (
                select(Profile.id, Node.code)
                .join(Node, Node.id == Profile.state_of_origin_id)
                .where(visible_clause("state_of_origin", viewer))
            )
        case "sector" | "concept":
            value = Sector.slug if facet == "sector" else Concept.id
            return (
                select(Profile.id, value)
                .join(profile_concepts, profile_concepts.c.profile_id == Profile.id)
                .join(Concept, Concept.id == profile_concepts.c.concept_id)
                .join(Sector, Sector.id == Concept.sector_id)
                .where(visible_clause("expertise", viewer))
            )
        case "language":
            return (
                select(Profile.id, ProfileLanguage.code)
                .join(ProfileLanguage, ProfileLanguage.profile_id == Profile.id)
                .where(visible_clause("languages", viewer))
            )
        case "mode":
            return (
                select(Profile.id, ProfileMode.mode)
                .join(ProfileMode, ProfileMode.profile_id == Profile.id)
                .where(visible_clause("modes", viewer))
            )
        case "mentoring":
            return select(Profile.id, literal("y")).where(
                visible_clause("mentoring", viewer), Profile.open_to_mentoring.is_(True)
            )
    raise ValueError(facet)


def _facet(generation: int, viewer: Viewer, sort: str, facet: str) -> dict[Any, int]:
    """value -> bitset of the members with that value that this kind of viewer may filter on."""
    order = app_cache(_order, 4)(generation, sort)
    holders: dict[Any, list[int]] = {}
    for pid, value in db.session.execute(_facet_rows(facet, viewer)):
        holders.setdefault(value, []).append(pid)
    return {value: order.bits(pids) for value, pids in holders.items()}


def _matching(generation: int, viewer: Viewer, filters: DirectoryFilters) -> int:
    """The shared bitset of the members matching every filter, for this kind of viewer."""

    def facet(name: str) -> dict[Any, int]:
        return app_cache(_facet, MAX_FACETS)(generation, viewer, filters.sort, name)

    bits = facet("population")[""] if facet("population") else 0
    for name in ("country", "chapter", "region", "state", "sector", "language", "mode"):
        wanted = getattr(filters, name)
        if wanted:
            bits &= facet(name).get(wanted, 0)
    if filters.concept:
        # A broader concept ("Renewable energy") lists the experts of the concepts under it too.
        chosen = db.session.scalar(select(Concept.id).where(Concept.slug == filters.concept))
        held = facet("concept")
        either = 0
        if chosen is not None:
            for concept_id in {chosen} | narrower_of({chosen})[chosen]:
                either |= held.get(concept_id, 0)
        bits &= either
    if filters.mentoring:
        bits &= facet("mentoring").get("y", 0)
    return bits


FACETS = ("population", "country", "chapter", "region", "state", "sector", "concept")
FACETS += ("language", "mode", "mentoring")


def warm(viewer: Viewer) -> None:
    """Build every filter's bitsets for this kind of viewer in both orders (a worker's start)."""
    generation = read_generation()
    if generation is None:
        return
    for sort in ("name", "recent"):
        for name in FACETS:
            app_cache(_facet, MAX_FACETS)(generation, _shared_viewer(viewer), sort, name)


def _shared_viewer(viewer: Viewer) -> Viewer:
    """The viewer reduced to what decides their tiers for a member they have no link to: what
    remains is shared with every viewer of the same kind (`tiers_for` of anyone else is the
    same; their own profile and coordinated members are merged in per request)."""
    return Viewer(
        is_signed_in=viewer.is_signed_in,
        is_verified_organisation=viewer.is_verified_organisation,
        is_ime=viewer.is_ime,
    )


def _places(bits: int, start: int, count: int) -> list[int]:
    """The places of set bits number `start` to `start + count - 1` (in increasing order)."""
    places: list[int] = []
    block = 4096
    skipped, base = 0, 0
    while bits >> base and len(places) < count:
        chunk = (bits >> base) & ((1 << block) - 1)
        ones = chunk.bit_count()
        if skipped + ones <= start:
            skipped += ones
        else:
            data = chunk.to_bytes(block // 8, "little")
            for n, byte in enumerate(data):
                while byte:
                    low = byte & -byte
                    if skipped >= start:
                        places.append(base + n * 8 + low.bit_length() - 1)
                        if len(places) == count:
                            return places
                    skipped += 1
                    byte ^= low
        base += block
    return places


class _ListPagination(Pagination):
    """Flask-SQLAlchemy's pagination (pages, links, totals) over a merged id list."""

    def _query_items(self) -> list[Any]:
        ids: list[int] = self._query_args["page_ids"](self._query_offset, self.per_page)
        if not ids:
            return []
        rows = db.session.scalars(eager_profiles(select(Profile).where(Profile.id.in_(ids))))
        by_id = {p.id: p for p in rows}
        return [by_id[pid] for pid in ids if pid in by_id]

    def _query_count(self) -> int:
        return self._query_args["total"]


def paginate_directory(
    viewer: Viewer, filters: DirectoryFilters, page: int, per_page: int
) -> Pagination:
    """One page of the directory: from the kept bitsets, or from the database when there is no
    generation to key them on (its row is missing)."""
    generation = read_generation()
    if generation is None:
        return db.paginate(
            eager_profiles(directory_query(viewer, filters)),
            page=page,
            per_page=per_page,
            error_out=False,
        )
    order = app_cache(_order, 4)(generation, filters.sort)
    shared = _matching(generation, _shared_viewer(viewer), filters)
    own_ids = set(viewer.coordinated_member_ids)
    if viewer.user_id is not None:
        own_ids.add(viewer.user_id)
    extra: list[int] = []  # places of the matches only this viewer has
    if own_ids:
        query = directory_query(viewer, filters).where(Profile.user_id.in_(sorted(own_ids)))
        for pid in db.session.scalars(query.order_by(None).with_only_columns(Profile.id)):
            at = order.position.get(pid)
            if at is not None and not shared >> at & 1:
                extra.append(at)
        extra.sort()
    # Where each extra lands in the merged order: after the shared matches placed before it.
    extra_at = [(shared & ((1 << at) - 1)).bit_count() + n for n, at in enumerate(extra)]

    def page_ids(offset: int, limit: int) -> list[int]:
        before = bisect_left(extra_at, offset)  # extras placed before this page
        end = offset + limit
        mine = [(extra_at[n], extra[n]) for n in range(before, len(extra)) if extra_at[n] < end]
        places = _places(shared, offset - before, limit - len(mine))
        merged, k = [], 0
        for position in range(offset, offset + len(places) + len(mine)):
            if k < len(mine) and mine[k][0] == position:
                merged.append(mine[k][1])
                k += 1
            else:
                merged.append(places[position - offset - k])
        return [order.ids[at] for at in merged]

    return _ListPagination(
        page=page,
        per_page=per_page,
        error_out=False,
        page_ids=page_ids,
        total=shared.bit_count() + len(extra),
    )


def filter_choices(language: str) -> dict[str, list[SelectChoice]]:
    """The directory filters' options in this language, built once per page generation
    (chapters, regions and the vocabulary change with the data; 700 options and six queries
    cost more than the page's own query)."""
    generation = read_generation()
    if generation is None:
        return _filter_choices(generation, language)
    return app_cache(_filter_choices, 8)(generation, language)


def _filter_choices(generation: int | None, language: str) -> dict[str, list[SelectChoice]]:
    anything = SelectChoice("", _("Any"))
    choices: dict[str, list[SelectChoice]] = {}
    choices["country"] = [anything, *country_choices(language)]
    choices["region"] = [
        anything,
        *(SelectChoice(r.slug, r.name(language)) for r in chapter_queries.list_regions()),
    ]
    choices["chapter"] = [
        anything,
        *(SelectChoice(c.slug, c.name) for c in chapter_queries.list_chapters()),
    ]
    choices["state"] = [
        anything,
        *(SelectChoice(n.code, n.name) for n in chapter_queries.list_nodes()),
    ]
    choices["sector"] = [
        anything,
        *sorted(
            (SelectChoice(s.slug, s.label(language)) for s in list_sectors()),
            key=lambda c: c.label,
        ),
    ]
    concepts = sorted(list_concepts(), key=lambda c: c.label(language).casefold())
    choices["concept"] = [anything, *(SelectChoice(c.slug, c.label(language)) for c in concepts)]
    names = language_names(language)
    choices["language"] = [
        anything,
        *(
            SelectChoice(code, names[code])
            for code in ("es", "en", "fr", "de", "pt", "it", "zh", "ja", "ko")
            if code in names
        ),
    ]
    choices["mode"] = [
        anything,
        *(SelectChoice(str(m), str(label)) for m, label in MODE_LABELS.items()),
    ]
    return choices
