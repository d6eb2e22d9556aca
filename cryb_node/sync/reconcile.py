"""Range-based set reconciliation (negentropy-style) over a scope's (hlc, event id) items: repairs
whatever the vectors missed (events that came by another path, a peer's bookkeeping bug, a restore).

Both sides fingerprint the same ranges; equal fingerprints end a range, different ones are split
into sub-ranges by the responder until they are small enough to list their ids. The fingerprint is
sha256(sum of ids as 256-bit little-endian integers mod 2^256 || count)[:16] (negentropy V1).
Each side only counts what it may share with the other (policy.py), so private events never make
ranges differ forever.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Sequence

import msgspec

from cryb_node.db import Database
from cryb_node.events import EventBody

from .vectors import Withhold, scope_where
from .wire import Range, RangeReply

Item = tuple[int, bytes]
LOW: Item = (0, b"")
HIGH: Item = ((1 << 63) - 1, b"\xff" * 32)
LEAF = 48  # a range with at most this many items is answered with its ids
FANOUT = 16
MOD = 1 << 256
_decode_body = msgspec.msgpack.Decoder(EventBody).decode


def fingerprint(ids: Sequence[bytes]) -> bytes:
    total = 0
    for i in ids:
        total = (total + int.from_bytes(i, "little")) % MOD
    return hashlib.sha256(total.to_bytes(32, "little") + len(ids).to_bytes(8, "little")).digest()[:16]


async def items(db: Database, scope: str, withhold: Withhold | None = None) -> list[Item]:
    """The scope's (hlc, id) pairs we hold (and may share), sorted.

    An event we hold only as its signed skeleton, whose payload was never erased here, is not held
    yet: a payload is dropped only by a signed erasure, so the skeleton came from a peer that
    stripped or withheld it. Leaving it out keeps its range different until a peer that holds the
    payload (or the erasure) has sent it."""
    where, params = scope_where(scope)
    bare = "CASE WHEN c.event_id IS NULL AND x.event_id IS NULL THEN 1 END"
    content = "c.content" if withhold is not None else "NULL"
    rows = await db.fetchall(
        f"SELECT e.hlc, e.id, e.body, {content} AS content, {bare} AS skeleton FROM events e"
        " LEFT JOIN event_content c ON c.event_id = e.id LEFT JOIN erased_content x ON x.event_id = e.id"
        f" WHERE {where}",
        params,
    )
    out: list[Item] = []
    for r in rows:
        body = r["body"]
        if r["skeleton"] and _decode_body(body).content_hash is not None:
            continue  # a skeleton, not erased: the payload is still owed to us
        if withhold is not None and await withhold(bytes(body), r["content"]):
            continue
        out.append((r["hlc"], bytes(r["id"])))
    out.sort()
    return out


class ItemSet:
    def __init__(self, sorted_items: list[Item]) -> None:
        self.items = sorted_items

    def slice(self, lo: Item, hi: Item) -> list[Item]:
        return self.items[bisect.bisect_left(self.items, lo) : bisect.bisect_left(self.items, hi)]

    def summary(self, lo: Item, hi: Item) -> Range:
        part = self.slice(lo, hi)
        (lo_hlc, lo_id), (hi_hlc, hi_id) = lo, hi
        return Range(lo_hlc, lo_id, hi_hlc, hi_id, len(part), fingerprint([i for _, i in part]))

    def root(self) -> Range:
        return self.summary(LOW, HIGH)


def bounds(r: Range) -> tuple[Item, Item]:
    return (r.lo_hlc, r.lo_id), (r.hi_hlc, r.hi_id)


def answer(mine: ItemSet, ranges: list[Range]) -> list[RangeReply]:
    """The responder's step: for each range whose fingerprint differs, our ids or a finer split."""
    out: list[RangeReply] = []
    for r in ranges:
        lo, hi = bounds(r)
        part = mine.slice(lo, hi)
        ids = [i for _, i in part]
        if len(ids) == r.count and fingerprint(ids) == r.fp:
            continue
        if len(part) <= LEAF:
            out.append(RangeReply(r, ids=ids))
            continue
        step = -(-len(part) // FANOUT)
        cuts = [lo] + [part[k] for k in range(step, len(part), step)] + [hi]
        out.append(RangeReply(r, split=[mine.summary(a, b) for a, b in itertools.pairwise(cuts)]))
    return out


def step(mine: ItemSet, replies: list[RangeReply]) -> tuple[set[bytes], set[bytes], list[Range]]:
    """The initiator's step: (ids to fetch, ids to send, ranges still to compare)."""
    want: set[bytes] = set()
    give: set[bytes] = set()
    again: list[Range] = []
    for rep in replies:
        if rep.ids is not None:
            lo, hi = bounds(rep.range)
            ours = {i for _, i in mine.slice(lo, hi)}
            theirs = set(rep.ids)
            want |= theirs - ours
            give |= ours - theirs
            continue
        for sub in rep.split or []:
            lo, hi = bounds(sub)
            summary = mine.summary(lo, hi)
            if (summary.count, summary.fp) == (sub.count, sub.fp):
                continue
            again.append(summary)  # with our fingerprint: the responder lists or splits its side
    return want, give, again
