"""Match sets as bitsets, for exact totals and facet counts over 100,000 members.

Whoosh is pure Python: scoring the top few hundred hits is quick (it skips blocks of postings
that cannot make the top), but counting every match of a common word, and then counting facet
values over those matches, visits each document in Python and took seconds at 100k members.
Here a posting list becomes one Python integer with a bit per document of its segment, so a
total is `bit_count()` and a facet count is `(matches & value).bit_count()`, both in C.

Bitsets are cached per segment (segments never change, except for deletions, which the live
mask removes), so a running server builds each one once; a new segment after a write gets its
own. The cache is bounded per segment and in number of segments.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from whoosh import query as Q
from whoosh.matching import ListMatcher, NullMatcher

MAX_SEGMENTS = 32
# A bitset takes up to (documents in its segment) / 8 bytes: 4,096 cached terms of a 50,000-member
# segment are at most 25 MB, plus its facet values (about 3,000, as many again at most).
MAX_TERMS_PER_SEGMENT = 4096
# Postings (document numbers and weights, 8 bytes a posting) of the words ranking read: 1,024
# words of up to 20,000 members each are at most 160 MB, most far fewer.
MAX_POSTINGS_PER_SEGMENT = 1024
# A term's document numbers (of its segment) and weights, in document order.
Postings = tuple[array, array]


def _postings(reader: Any, field_name: str, text: str) -> Postings:
    """A term's document numbers (deleted ones too) and weights, a block at a time: Whoosh's own `all_ids()`
    decodes them one posting per Python call, which was most of the cost of a cold word. Other
    matchers than Whoosh 3's leaf matcher (none here) are read one posting at a time."""
    matcher = reader.postings(field_name, text)
    # A segment with deletions wraps its postings to skip them: the bitsets mask deleted
    # documents themselves (`Leaf.live`), so read the postings underneath, a block at a time.
    while not hasattr(matcher, "_read_ids") and hasattr(matcher, "child"):
        matcher = matcher.child
    ids, weights = array("I"), array("f")
    if not hasattr(matcher, "_read_ids"):
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return ids, weights
    while matcher.is_active():
        matcher._read_ids()
        matcher._read_weights()
        ids.extend(matcher._ids)
        weights.extend(matcher._weights)
        matcher._next_block()
    return ids, weights


def _from_ids(ids: Any, size: int) -> int:
    buffer = bytearray((size >> 3) + 1)
    for docnum in ids:
        buffer[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(buffer, "little")


@dataclass
class _SegmentCache:
    terms: OrderedDict[tuple[str, str], int] = field(default_factory=OrderedDict)
    fields: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    orders: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    postings: OrderedDict[tuple[str, str], Postings] = field(default_factory=OrderedDict)


_cache: OrderedDict[str, _SegmentCache] = OrderedDict()
_lock = threading.Lock()


def _segment_cache(segment_id: str) -> _SegmentCache:
    with _lock:
        cache = _cache.get(segment_id)
        if cache is None:
            cache = _cache[segment_id] = _SegmentCache()
            while len(_cache) > MAX_SEGMENTS:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(segment_id)
        return cache


class Leaf:
    """One segment of the searcher's index, with its documents' bitsets."""

    def __init__(self, reader: Any, offset: int) -> None:
        self.reader = reader
        self.offset = offset
        self.size = reader.doc_count_all()
        segment = reader.segment()
        self.cache = _segment_cache(segment.segment_id() if segment else f"ram-{id(reader)}")
        self.live = (1 << self.size) - 1
        if reader.has_deletions():
            deleted = reader.deleted_docs_set  # a cached property of segment readers
            self.live &= ~_from_ids(deleted() if callable(deleted) else deleted, self.size)

    def term(self, field_name: str, text: str) -> int:
        """The live documents holding this term in this field."""
        key = (field_name, text)
        cached = self.cache.terms.get(key)
        if cached is not None:
            with _lock, contextlib.suppress(KeyError):
                self.cache.terms.move_to_end(key)  # least recently used goes first
        else:
            if (field_name, text) in self.reader:
                cached = _from_ids(self.postings(field_name, text)[0], self.size)
            else:
                cached = 0
            with _lock:
                self.cache.terms[key] = cached
                while len(self.cache.terms) > MAX_TERMS_PER_SEGMENT:
                    self.cache.terms.popitem(last=False)
        return cached & self.live

    def postings(self, field_name: str, text: str) -> Postings:
        """This term's document numbers (of the segment, deleted ones too) and weights, cached
        like the bitsets: ranking reads the weights of a few hundred members from them."""
        key = (field_name, text)
        cached = self.cache.postings.get(key)
        if cached is None:
            if key in self.reader:
                cached = _postings(self.reader, *key)
            else:
                cached = (array("I"), array("f"))
            with _lock:
                self.cache.postings[key] = cached
                while len(self.cache.postings) > MAX_POSTINGS_PER_SEGMENT:
                    self.cache.postings.popitem(last=False)
        return cached

    def weight(self, field_name: str, text: str, docnum: int) -> float:
        """The weight of this term in one document of the segment (0 if it does not hold it)."""
        ids, weights = self.postings(field_name, text)
        position = bisect.bisect_left(ids, docnum)
        return weights[position] if position < len(ids) and ids[position] == docnum else 0.0

    def values(self, field_name: str) -> dict[str, list[tuple[str, int]]]:
        """Every "tier|value" term of a facet field, as tier -> [(value, documents)]. Built once
        per segment, so it may still hold documents deleted since: only intersect it with a
        match set (live only)."""
        values = self.cache.fields.get(field_name)
        if values is None:
            values = {}
            for text, _info in self.reader.iter_field(field_name):
                token = text.decode() if isinstance(text, bytes) else str(text)
                tier, _, value = token.partition("|")
                if value:
                    ids = self.reader.postings(field_name, token).all_ids()
                    values.setdefault(tier, []).append((value, _from_ids(ids, self.size)))
            self.cache.fields[field_name] = values
        return values

    def values_in(self, field_name: str, tiers: tuple[str, ...]) -> list[tuple[str, int]]:
        """[(value, documents holding it in one of these tiers)]: the union, cached per set of
        tiers, halves the work of counting for a member (public + members) and more for IME."""
        key = f"{field_name}|{','.join(tiers)}"
        merged = self.cache.fields.get(key)
        if merged is None:
            union: dict[str, int] = {}
            by_tier = self.values(field_name)
            for tier in tiers:
                for value, documents in by_tier.get(tier, ()):
                    union[value] = union.get(value, 0) | documents
            merged = self.cache.fields[key] = list(union.items())  # type: ignore[assignment]
        return merged  # type: ignore[return-value]

    def column(self, name: str) -> list[Any]:
        """Every document's value of a column, cached (reading a column per hit is slower)."""
        values = self.cache.columns.get(name)
        if values is None:
            values = self.cache.columns[name] = list(self.reader.column_reader(name))
        return values

    def order(self, column: str) -> list[tuple[int, Any]]:
        """(docnum, value) of every document, highest value of the column first."""
        order = self.cache.orders.get(column)
        if order is None:
            values = self.column(column)
            order = sorted(enumerate(values), key=lambda item: item[1], reverse=True)
            self.cache.orders[column] = order
        return order

    def at_least(self, field_name: str, kind: str, lowest: int) -> int:
        """The live documents of this kind whose stored `field_name` is at least `lowest` (an
        event's end): their values are read once per segment, sorted, so a request only
        bisects. For the small kinds only (events), whose documents are few."""
        key = f"{field_name}|{kind}"
        order = self.cache.orders.get(key)
        if order is None:
            found = self.term("kind", kind)
            order = sorted(
                (self.reader.stored_fields(docnum).get(field_name) or 0, docnum)
                for docnum in ids(found)
            )
            self.cache.orders[key] = order
        start = bisect.bisect_left(order, (lowest, -1))
        return _from_ids((docnum for _value, docnum in order[start:]), self.size) & self.live

    def holds(self, field_name: str, text: str, bit: int) -> int:
        """`bit` (one document of this segment) if that document holds this term, else 0: a
        skip through the postings to one document, not a bitset of all of them (a viewer's
        own hidden tiers hold one member's words)."""
        if not bit or (field_name, text) not in self.reader:
            return 0
        docnum = bit.bit_length() - 1
        postings = self.reader.postings(field_name, text)
        postings.skip_to(docnum)
        return bit if postings.is_active() and postings.id() == docnum else 0


def newest(leaves_: list[Leaf], matches: list[int], column: str, limit: int) -> list[int]:
    """Document numbers (of the whole index) of the matching documents with the highest values
    of `column`, highest first: a walk down each segment's cached order, not a sort."""
    candidates: list[tuple[Any, int]] = []
    for leaf, found in zip(leaves_, matches, strict=True):
        if not found:
            continue
        if found.bit_count() * 16 < leaf.size:  # few: sorting them beats walking the order
            value_of = leaf.column(column)
            best = sorted(ids(found), key=value_of.__getitem__, reverse=True)[:limit]
            candidates += [(value_of[d], leaf.offset + d) for d in best]
            continue
        flags = found.to_bytes((leaf.size >> 3) + 1, "little")
        taken = 0
        for docnum, value in leaf.order(column):
            if flags[docnum >> 3] >> (docnum & 7) & 1:
                candidates.append((value, leaf.offset + docnum))
                taken += 1
                if taken == limit:
                    break
    candidates.sort(key=lambda item: item[0], reverse=True)
    return [docnum for _value, docnum in candidates[:limit]]


def ids(bits: int) -> list[int]:
    """The document numbers set in a bitset, in order (a scan in C, not a loop over bits)."""
    digits = bin(bits)[:1:-1]  # least significant first
    found: list[int] = []
    position = digits.find("1")
    while position >= 0:
        found.append(position)
        position = digits.find("1", position + 1)
    return found


class Among(Q.Query):
    """A query matching given documents (per segment reader), each with a score of nothing:
    intersected with the words, Whoosh scores exactly these documents and no others."""

    def __init__(self, by_reader: dict[int, list[int]]) -> None:
        self.by_reader = by_reader
        self.boost = 1.0

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"Among({sum(map(len, self.by_reader.values()))} documents)"

    def is_leaf(self) -> bool:
        return True

    def estimate_size(self, ixreader: Any) -> int:
        return len(self.by_reader.get(id(ixreader), ()))

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        found = self.by_reader.get(id(searcher.reader()))
        return ListMatcher(found, all_weights=0.0) if found else NullMatcher()


def among(leaves_: list[Leaf], matches: list[int]) -> Among:
    return Among(
        {id(leaf.reader): ids(found) for leaf, found in zip(leaves_, matches, strict=True) if found}
    )


def leaves(searcher: Any) -> list[Leaf]:
    return [Leaf(reader, offset) for reader, offset in searcher.ixreader.leaf_readers()]


def leaf_bit(leaves_: list[Leaf], global_docnum: int) -> tuple[int, int]:
    """(leaf index, bit) of a document number of the whole index."""
    for position, leaf in enumerate(leaves_):
        if leaf.offset <= global_docnum < leaf.offset + leaf.size:
            return position, 1 << (global_docnum - leaf.offset)
    return -1, 0
