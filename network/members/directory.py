"""The directory's pages from per-worker lists of matching members, kept until the data changes.

Why: a directory page is a filter over every listed member, ordered by name or by date, with a
page number. SQL answers it by walking the whole ordered match for the count and again up to the
page's OFFSET; at 100,000 members that took 240 ms at the median and 740 ms on deep pages with a
filter, for every page of every visitor. Here the ordered ids of the members matching a filter
for a set of visibility tiers are computed once per worker and *page generation* (the number that
every write touching page data increases, see `network.pagecache`), so the count is a length and
a page is a slice; only the 24 profiles shown are loaded.

Privacy: what a viewer may filter on depends on their tiers (shared by every viewer alike: the
anonymous, members, organisations, IME), plus two things of their own: their own profile (they
see all of it) and, for coordinators, their chapters' members' fields shown to coordinators. The
shared list is made for a viewer stripped of those two (same tiers), and the viewer's own matches
among those few members are merged in at their place, by the same order, on every request. So no
list is ever shared between viewers who may see different things.

The cache is `network.pagecache.app_cache`: `functools.lru_cache`, one per app, with the
generation in the key.
"""

from __future__ import annotations

import dataclasses
from array import array
from bisect import bisect_left
from typing import Any

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from wtforms import SelectChoice

from chapters import queries as chapter_queries
from network.auth.models import User
from network.db import db
from network.geo import country_choices, language_names
from network.members.models import MODE_LABELS, Profile
from network.members.queries import (
    DirectoryFilters,
    directory_query,
    eager_profiles,
    list_concepts,
    list_sectors,
    listed_members,
)
from network.pagecache import app_cache, read_generation
from network.visibility import Viewer

# Lists kept per worker: 4 bytes per match per array (ids and ranks), 0.8 MB for 100,000
# members; 64 filters and tier sets at most, about 50 MB in the worst case.
MAX_LISTS = 64


@dataclasses.dataclass(frozen=True)
class Matches:
    """Profile ids matching one filter for one tier set, in display order, with their ranks."""

    ids: array
    ranks: array  # ascending: the position of each id in the order of every listed member


def _order(sort: str) -> tuple[Any, ...]:
    if sort == "recent":
        return (Profile.confirmed_at.desc(), Profile.id)
    return (User.full_name, Profile.id)


def _ranks(generation: int, sort: str) -> dict[int, int]:
    """Every listed member's position in this order (the database decides the collation)."""
    query = listed_members().with_only_columns(Profile.id).order_by(*_order(sort))
    return {pid: rank for rank, pid in enumerate(db.session.scalars(query))}


def _matches(generation: int, viewer: Viewer, filters: DirectoryFilters) -> Matches | None:
    """None if a match has no rank: the data moved without a new generation (a write that the
    generation hooks do not see); the caller then asks the database directly."""
    ranks = app_cache(_ranks, 4)(generation, filters.sort)
    ids = array(
        "i", db.session.scalars(directory_query(viewer, filters).with_only_columns(Profile.id))
    )
    try:
        return Matches(ids, array("i", (ranks[pid] for pid in ids)))
    except KeyError:
        return None


def _shared_viewer(viewer: Viewer) -> Viewer:
    """The viewer reduced to what decides their tiers for a member they have no link to: what
    remains is shared with every viewer of the same kind (`tiers_for` of anyone else is the
    same; their own profile and coordinated members are merged in per request)."""
    return Viewer(
        is_signed_in=viewer.is_signed_in,
        is_verified_organisation=viewer.is_verified_organisation,
        is_ime=viewer.is_ime,
    )


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
    """One page of the directory: from the cached lists, or from the database when there is no
    generation to key them on (its row is missing) or the lists cannot be trusted."""
    generation = read_generation()
    shared = None
    if generation is not None:
        shared = app_cache(_matches, MAX_LISTS)(generation, _shared_viewer(viewer), filters)
    if shared is None:
        return db.paginate(
            eager_profiles(directory_query(viewer, filters)),
            page=page,
            per_page=per_page,
            error_out=False,
        )
    own_ids = set(viewer.coordinated_member_ids)
    if viewer.user_id is not None:
        own_ids.add(viewer.user_id)
    extra: list[tuple[int, int]] = []  # (rank, id) of matches only this viewer has
    if own_ids:
        ranks = app_cache(_ranks, 4)(generation, filters.sort)
        query = directory_query(viewer, filters).where(Profile.user_id.in_(sorted(own_ids)))
        for pid in db.session.scalars(query.order_by(None).with_only_columns(Profile.id)):
            rank = ranks.get(pid)
            if rank is None:  # not listed at this generation's start: see _matches
                continue
            at = bisect_left(shared.ranks, rank)
            if at < len(shared.ids) and shared.ids[at] == pid:
                continue  # everyone with these tiers sees this match already
            extra.append((rank, pid))
        extra.sort()
    # Where each extra lands in the merged order: after the shared matches ranked before it.
    extra_at = [bisect_left(shared.ranks, rank) + n for n, (rank, _pid) in enumerate(extra)]

    def page_ids(offset: int, limit: int) -> list[int]:
        ids = []
        before = bisect_left(extra_at, offset)  # extras placed before this page
        for position in range(offset, min(offset + limit, len(shared.ids) + len(extra))):
            if before < len(extra_at) and extra_at[before] == position:
                ids.append(extra[before][1])
                before += 1
            else:
                ids.append(shared.ids[position - before])
        return ids

    return _ListPagination(
        page=page,
        per_page=per_page,
        error_out=False,
        page_ids=page_ids,
        total=len(shared.ids) + len(extra),
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
