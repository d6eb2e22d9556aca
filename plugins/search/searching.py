"""The fast paths of a search (profiled at 100k documents; see bench/search.py):

- one open searcher per thread, reopened only when the index has a new generation (opening one reads
  every segment's table of contents and was ~7 ms of each query);
- the permission scope checked on each candidate the text query finds (one array lookup in the cached
  channel codes below) instead of intersecting with a union of every readable channel's postings:
  Whoosh's ConstantScoreQuery listed every readable document on each query, and even a skipping
  intersection made a phrase matcher test positions at every readable document;
- facets counted from per-segment arrays of value codes, cached by segment (segments never change),
  instead of Whoosh's column categorizers, which re-read a whole column per query.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter
from typing import Any

from whoosh import collectors, matching
from whoosh import query as wq
from whoosh.index import Index


class ZeroScore(wq.WrappingQuery):
    """Matches what its child matches and adds nothing to the score: who may read a document must
    not change how it ranks. Unlike ConstantScoreQuery it never materialises the child's matches,
    so the intersection with the text query skips through it."""

    def _rewrap(self, child: wq.Query) -> wq.Query:
        return self.__class__(child)

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        m = self.child.matcher(searcher, context)
        if isinstance(m, matching.NullMatcherClass):
            return m
        return _ZeroMatcher(m)


class _ZeroMatcher(matching.WrappingMatcher):
    def _replacement(self, newchild: Any) -> Any:
        return _ZeroMatcher(newchild)

    def supports_block_quality(self) -> bool:
        return False

    def max_quality(self) -> float:
        return 0.0

    def block_quality(self) -> float:
        return 0.0

    def score(self) -> float:
        return 0.0


class Allowed(wq.WrappingQuery):
    """Its child's matches restricted to documents the searcher may read: a content document whose
    channel is in ``channels``, any user, a community that is public or in ``communities``. Checked on
    each candidate of the child (which must be selective: the text query), so it costs nothing per
    readable document."""

    def __init__(self, child: wq.Query, channels: frozenset[str], communities: frozenset[str]) -> None:
        super().__init__(child)
        self.channels, self.communities = channels, communities

    def _rewrap(self, child: wq.Query) -> wq.Query:
        return self.__class__(child, self.channels, self.communities)

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        m = self.child.matcher(searcher, context)
        if isinstance(m, matching.NullMatcherClass):
            return m
        return _CheckedMatcher(m, self._check(searcher.reader()))

    def _check(self, reader: Any) -> Any:
        chan_values, chan = _segment_codes(reader, "channel")
        kind_values, kind = _segment_codes(reader, "kind")
        comm_values, comm = _segment_codes(reader, "community")
        _, public = _segment_codes(reader, "public")
        chans = {i for i, v in enumerate(chan_values) if v in self.channels}
        user = kind_values.index("user") if "user" in kind_values else -2
        community = kind_values.index("community") if "community" in kind_values else -2
        comms = {i for i, v in enumerate(comm_values) if v in self.communities}

        def ok(docnum: int) -> bool:
            c = chan[docnum]
            if c >= 0:
                return c in chans
            k = kind[docnum]
            if k == user:
                return True
            return k == community and (public[docnum] >= 0 or comm[docnum] in comms)

        return ok


class _CheckedMatcher(matching.WrappingMatcher):
    def __init__(self, child: Any, ok: Any) -> None:
        super().__init__(child)
        self._ok = ok
        self._settle()

    def _settle(self) -> None:
        child, ok = self.child, self._ok
        while child.is_active() and not ok(child.id()):
            child.next()

    def _replacement(self, newchild: Any) -> Any:
        return _CheckedMatcher(newchild, self._ok)

    def copy(self) -> Any:
        return _CheckedMatcher(self.child.copy(), self._ok)

    def replace(self, minquality: float = 0) -> Any:
        if not self.child.is_active():
            return matching.NullMatcher()
        r = self.child.replace(minquality)
        return self if r is self.child else _CheckedMatcher(r, self._ok)

    def next(self) -> None:
        self.child.next()
        self._settle()

    def skip_to(self, docnum: int) -> None:
        self.child.skip_to(docnum)
        self._settle()

    def all_ids(self) -> Any:
        # Stepped, not the child's all_ids: Whoosh's intersection makes a set of EACH side's ids, so
        # "garden zyx" read every posting of "garden" (profile, 100k documents: a fifth of all query
        # time); stepping skips through the common side's blocks to the rare side's documents.
        child, ok = self.child, self._ok
        while child.is_active():
            d = child.id()
            if ok(d):
                yield d
            child.next()

    # Block qualities pass through: the child's are upper bounds of the readable documents' scores
    # too, so a top-N by relevance can skip whole posting blocks (service.SearchService._top).
    def skip_to_quality(self, minquality: float) -> int:
        skipped = self.child.skip_to_quality(minquality)
        self._settle()
        return skipped


class Searchers:
    """One searcher per thread and index (Whoosh readers keep file positions: not shareable between
    threads), reused while the index has not changed."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, ix: Index) -> Any:
        cur = getattr(self._local, "cur", None)
        if cur is not None and cur[0] is ix and cur[1].up_to_date():
            return cur[1]
        # Not Searcher.refresh(): in Whoosh-Reloaded 2.7.5 it adds the old generation's segments
        # (compared by identity) to the new reader, so a deleted document could still be found.
        self.drop()
        s = ix.searcher()
        self._local.cur = (ix, s)
        # An index with no segment yet (a build's first moments) has a reader without a segment.
        _prune_codes({r.segment().segment_id() for r, _ in s.reader().leaf_readers() if r.segment()})
        return s

    def drop(self) -> None:
        """Forget this thread's searcher (after an error: the next search opens a fresh one)."""
        cur = getattr(self._local, "cur", None)
        self._local.cur = None
        if cur is not None:
            try:
                cur[1].close()
            except Exception:
                pass


class Recording(collectors.WrappingCollector):
    """Passes every match to the child (top N by score or time) and keeps its segment-relative number,
    for the exact total and the facet counts."""

    def __init__(self, child: Any) -> None:
        self.child = child
        self.segments: list[tuple[Any, array[int]]] = []
        self._docs: array[int] = array("i")

    def set_subsearcher(self, subsearcher: Any, offset: int) -> None:
        super().set_subsearcher(subsearcher, offset)
        self._docs = array("i")
        self.segments.append((subsearcher.reader(), self._docs))

    def collect_matches(self) -> None:
        docs, collect = self._docs, self.child.collect
        for sub_docnum in self.child.matches():
            docs.append(sub_docnum)
            collect(sub_docnum)

    def collect(self, sub_docnum: int) -> Any:
        self._docs.append(sub_docnum)
        return self.child.collect(sub_docnum)

    def total(self) -> int:
        return sum(len(d) for _, d in self.segments)


# (segment id, field) -> (values, code of each document: an index into values, -1 for none)
_codes: dict[tuple[str, str], tuple[list[str], array[int]]] = {}
_codes_lock = threading.Lock()
_CODES_MAX = 4096  # entries kept (segments x fields); dropped wholesale beyond, rebuilt on demand


def _prune_codes(current: set[str]) -> None:
    """Forget segments the newest searcher no longer has (merged away, or an old generation): a
    thread still on an older searcher just rebuilds what it needs."""
    with _codes_lock:
        for key in [k for k in _codes if k[0] not in current]:
            del _codes[key]


def _segment_codes(reader: Any, fieldname: str) -> tuple[list[str], array[int]]:
    key = (reader.segment().segment_id(), fieldname)
    found = _codes.get(key)
    if found is not None:
        return found
    values: list[str] = []
    codes = array("i", [-1]) * reader.doc_count_all()
    for i, btext in enumerate(reader.lexicon(fieldname)):
        values.append(btext.decode("utf-8"))
        for docnum in reader.postings(fieldname, btext).all_ids():
            codes[docnum] = i
    with _codes_lock:
        if len(_codes) >= _CODES_MAX:
            _codes.clear()
        _codes[key] = (values, codes)
    return values, codes


def facet_counts(
    segments: list[tuple[Any, array[int]]], fieldnames: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    """How many of the matches (segment reader, segment-relative numbers) fall on each value."""
    out: dict[str, dict[str, int]] = {}
    for fieldname in fieldnames:
        total: Counter[str] = Counter()
        for reader, docs in segments:
            if not docs:
                continue
            values, codes = _segment_codes(reader, fieldname)
            for code, n in Counter(map(codes.__getitem__, docs)).items():
                if code >= 0:
                    total[values[code]] += n
        out[fieldname] = dict(total)
    return out
