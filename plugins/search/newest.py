"""Newest first without scoring and sorting every match (chat search is read newest-first).

Whoosh's sorted collector scores every match and reads its time from the column: a common word at 1M
documents is hundreds of thousands of matches, all in Python. Here each segment is walked from its
last document backwards in windows (a fresh matcher skipped to the window's start: posting blocks
are skipped, not read), each readable candidate kept in a heap of the newest ``want``. A segment's
documents are roughly in time order (a build adds rows oldest first, live changes arrive in order),
so a per-segment running maximum of the times says when no earlier document can be newer than the
page's oldest hit: the walk stops there, and the order is still exact.

The total and the facets then come from a sample (at least SAMPLE readable matches, the newest),
scaled to the documents not walked: "about N", as large chat products answer. A query whose matches
are few (by document frequencies) never comes here: it keeps the exact path.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from dataclasses import dataclass, field
from typing import Any

from . import searching

# Estimated matches (document frequencies) above which a newest-first search walks instead of
# collecting every match; below it the exact total and facets are cheap.
FAST_MIN = 5000
SAMPLE = 200  # readable matches read at least, for the estimated total and the facets
FIRST_WINDOW = 1024  # documents in the first window of a segment; each next one doubles


@dataclass
class Walk:
    hits: list[tuple[int, int]] = field(default_factory=list)  # (time, global docnum), newest first
    segments: list[tuple[Any, array[int]]] = field(default_factory=list)  # readable matches read
    read: int = 0  # readable matches read
    total: int = 0  # exact, or estimated from the part walked
    exact: bool = True

    def facets(self, counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """Facet counts of the sample scaled like the total."""
        if self.exact or not self.read:
            return counts
        f = self.total / self.read
        return {name: {k: max(1, round(n * f)) for k, n in c.items()} for name, c in counts.items()}


# segment id -> (time of each document, running maximum of those times)
_times: dict[str, tuple[array[int], array[int]]] = {}
_times_lock = threading.Lock()
_TIMES_MAX = 256  # segments kept; dropped wholesale beyond (a rebuilt entry costs one column read)


def segment_times(reader: Any) -> tuple[array[int], array[int]]:
    key = reader.segment().segment_id()
    found = _times.get(key)
    if found is not None:
        return found
    n = reader.doc_count_all()
    times = array("q", [0]) * n
    if reader.has_column("time"):
        col = reader.column_reader("time")
        for i in range(n):
            times[i] = col[i]
    top = array("q", times)
    for i in range(1, n):
        if top[i] < top[i - 1]:
            top[i] = top[i - 1]
    with _times_lock:
        if len(_times) >= _TIMES_MAX:
            _times.clear()
        _times[key] = (times, top)
    return times, top


def walk(searcher: Any, q: Any, want: int) -> Walk:
    """The ``want`` newest documents ``q`` matches (``q`` carries the reader's scope: searching.Allowed);
    ``want`` 0: only the sample, for a total and facets."""
    out = Walk()
    heap: list[tuple[int, int]] = []
    leaves = []
    for sub, offset in searcher.leaf_searchers():
        n = sub.reader().doc_count_all()
        if n:
            times, top = segment_times(sub.reader())
            leaves.append((top[n - 1], sub, offset, n, times, top))
    leaves.sort(key=lambda leaf: leaf[0], reverse=True)
    walked = all_docs = 0
    for *_, n, _, _ in leaves:
        all_docs += n
    for newest, sub, offset, n, times, top in leaves:
        if out.read >= SAMPLE and (not want or (len(heap) >= want and newest < heap[0][0])):
            break  # this segment and every later one are older than the whole page
        docs = array("i")
        out.segments.append((sub.reader(), docs))
        hi, width = n, FIRST_WINDOW
        while hi > 0:
            if out.read >= SAMPLE and (not want or (len(heap) >= want and top[hi - 1] < heap[0][0])):
                break  # nothing before hi is newer than the page's oldest hit
            lo = max(0, hi - width)
            m = q.matcher(sub)
            if lo and m.is_active() and m.id() < lo:
                m.skip_to(lo)
            found: list[int] = []
            while m.is_active():
                d = m.id()
                if d >= hi:
                    break
                found.append(d)
                m.next()
            docs.extend(found)
            out.read += len(found)
            for d in found if want else ():
                item = (times[d], d + offset)
                if len(heap) < want:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
            walked += hi - lo
            hi, width = lo, width * 2
    out.hits = sorted(heap, reverse=True)
    out.exact = walked >= all_docs
    out.total = out.read if out.exact else max(out.read, round(out.read * all_docs / max(1, walked)))
    return out


def facet_counts(w: Walk, fieldnames: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """The facets of the sample, scaled to the estimated total."""
    return w.facets(searching.facet_counts(w.segments, fieldnames))
