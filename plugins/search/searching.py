"""Running one search on the index file (in a worker thread, on a read-only connection of its own).

The reader's scope goes into the MATCH expression as tag tokens (readable channels, people, public
and member communities), so FTS5 intersects it with the query in C and totals, facets and snippets
only ever count readable documents.

Two paths, chosen by reading the newest FAST_MIN + 1 matches (FTS5 walks its postings from the newest
and stops there; rowids only, the stored fields are read for the page and the facets):

- few matches: exact. The page sorted by time or bm25, the exact total, facets over every match.
- many: the page without visiting every match. Newest (or oldest) first is ``ORDER BY rowid`` (rowids
  are reversed times), which FTS5 answers by walking its postings and stopping after the page.
  By relevance, bm25 ranks the newest RELEVANCE_WINDOW matches (a chat search wants the recent best;
  ranking every match of a common word at 1M documents scores hundreds of thousands). The total and
  facets are estimated from the newest FAST_MIN + 1 matches already read (facets from the newest
  SAMPLE), scaled by the share of the index's documents they span (Spread: a cached sample of the
  rowids, never a count): "about N" (``total_exact`` false), as large chat products answer.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysqlite3.dbapi2 as sqlite3

from cryb_node import db as dbmod

from .build import Match, conjoin
from .documents import ROWID_SPAN, WEIGHTS, fold, rowid_of_time, tag_id
from .store import FILE, StoredDoc, fetch_docs

# Reading a match costs most when the words are common and the expression is a phrase or several
# words: at 1M documents a walk of 1,001 scoped matches of "music garden" took 64 ms (loaded machine),
# 5,000 of a common word by relevance 24 ms. Beyond these counts the total is "about N".
FAST_MIN = 200  # matches above which a search takes the fast path
SAMPLE = 200  # newest readable matches read at least for an estimated total and facets
RELEVANCE_WINDOW = 2000  # newest matches ranked by bm25 on the fast path
EXPAND_MAX = 256  # words a wildcard may stand for
READER_MMAP = 0x7FFF0000  # bytes of the index file a reader maps (SQLite's default upper bound, ~2 GB)
READER_CACHE_KIB = 16384  # page cache per reader connection
_BM25 = "bm25(fts, " + ", ".join(str(w) for w in WEIGHTS) + ")"


class Readers:
    """Read-only connections to the index file, reused across searches (one per worker thread at a
    time); a new generation's path opens new ones and the old ones are closed."""

    def __init__(self, busy_timeout_ms: int = 5000) -> None:
        self.busy_timeout_ms = busy_timeout_ms
        self._lock = threading.Lock()
        self._idle: dict[Path, list[sqlite3.Connection]] = {}
        self._spreads: dict[Path, Spread] = {}

    def get(self, path: Path) -> sqlite3.Connection:
        with self._lock:
            for stale in [p for p in self._idle if p != path]:
                for conn in self._idle.pop(stale):
                    conn.close()
            pool = self._idle.get(path)
            if pool:
                return pool.pop()
        conn = dbmod.connect(path, busy_timeout_ms=self.busy_timeout_ms, readonly=True)
        conn.row_factory = None
        # FTS5 reads its doclists through SQLite's pages: mapped, a page costs no read() and no copy
        # into the cache (at 1M documents a scoped walk of 1,001 matches joined to their stored
        # fields took 14 ms with the default 2 MB cache, 6 with the file mapped and a larger cache).
        # The index file never shrinks (no VACUUM, no auto_vacuum), so a mapping stays valid.
        conn.execute(f"PRAGMA mmap_size = {READER_MMAP}")
        conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, fts, col)")
        return conn

    def put(self, path: Path, conn: sqlite3.Connection) -> None:
        with self._lock:
            if path.name == FILE and path.exists():
                self._idle.setdefault(path, []).append(conn)
                return
        conn.close()

    def spread(self, path: Path, conn: sqlite3.Connection, documents: int) -> Spread:
        """The index file's Spread, made anew when ``documents`` has moved away from it."""
        with self._lock:
            known = self._spreads.get(path)
        if known is not None and known.fresh(documents):
            return known
        made = Spread(conn, documents)
        with self._lock:
            self._spreads = {path: made}  # an older generation's is dropped
        return made

    def close(self) -> None:
        with self._lock:
            self._spreads = {}
            for pool in self._idle.values():
                for conn in pool:
                    conn.close()
            self._idle.clear()


@dataclass(frozen=True)
class Scope:
    """What one user may search: readable channels (VIEW_CHANNEL + READ_HISTORY, and their DMs)
    and the communities they belong to (for community documents of private communities)."""

    channels: frozenset[str]
    communities: frozenset[str]

    def expr(self) -> str:
        """Any readable document, as tag tokens."""
        communities = " OR ".join(["fpublic", *sorted(tag_id("g", c) for c in self.communities)])
        readable = [*sorted(tag_id("c", c) for c in self.channels), "kuser"]
        readable.append(f"(kcommunity AND ({communities}))")
        return "tags : (" + " OR ".join(readable) + ")"


@dataclass
class Found:
    hits: list[tuple[int, float]] = field(default_factory=list)  # (rowid, score), in order
    rows: dict[int, StoredDoc] = field(default_factory=dict)  # stored fields by rowid
    total: int = 0
    exact: bool = True
    facets: dict[str, Counter[str]] | None = None


class Query:
    """One MATCH with the reader's scope and a rowid range, and the SQL around it."""

    def __init__(self, conn: sqlite3.Connection, match: Match, scope: Scope) -> None:
        self.conn = conn
        self.match = match
        full = conjoin([*([match.expr] if match.expr is not None else []), scope.expr()])
        assert isinstance(full, str)
        self.expr = full
        self.where = "fts MATCH ?"
        self.args: list[Any] = [full]
        # Rowids run newest first: the latest time is the lowest rowid.
        self.lo = rowid_of_time(match.hi) if match.hi is not None else None
        self.hi = rowid_of_time(match.lo) | (ROWID_SPAN - 1) if match.lo is not None else None
        if self.lo is not None:
            self.where += " AND fts.rowid >= ?"
            self.args.append(self.lo)
        if self.hi is not None:
            self.where += " AND fts.rowid <= ?"
            self.args.append(self.hi)

    def count_upto(self, n: int) -> int:
        sql = f"SELECT count(*) FROM (SELECT fts.rowid FROM fts WHERE {self.where} LIMIT ?)"
        return self.conn.execute(sql, (*self.args, n)).fetchone()[0]

    def by_time(self, newest: bool, limit: int, offset: int) -> list[tuple[int, float]]:
        order = "ASC" if newest else "DESC"
        sql = f"SELECT fts.rowid FROM fts WHERE {self.where} ORDER BY fts.rowid {order} LIMIT ? OFFSET ?"
        return [(r, 0.0) for (r,) in self.conn.execute(sql, (*self.args, limit, offset))]

    def by_rank(self, candidates: list[int], limit: int, offset: int) -> list[tuple[int, float]]:
        """The best of ``candidates`` (matches, newest first) by bm25.

        Ranked by the query's own expression, the reader's scope left out: bm25 first counts the
        documents of every phrase in the expression (its IDF), the scope's tags included although they
        weigh nothing, a walk of every readable channel's whole posting list (at 1M documents 10
        channels took most of a rare word's 40 ms). The candidates already are the readable matches;
        the scores are the same (a phrase of the weightless tags column adds 0)."""
        if not candidates:
            return []
        expr, args = self.expr, list(self.args[1:])
        if isinstance(self.match.expr, str):
            expr = self.match.expr
        where = self.where + " AND fts.rowid >= ? AND fts.rowid <= ?"
        # ``+``: a filter on the rows FTS5 yields (never a lookup per candidate).
        sql = (
            f"SELECT fts.rowid, {_BM25} AS s FROM fts WHERE {where}"
            " AND +fts.rowid IN (SELECT value FROM json_each(?)) ORDER BY s, fts.rowid LIMIT ? OFFSET ?"
        )
        params = (expr, *args, min(candidates), max(candidates), json.dumps(candidates), limit, offset)
        # bm25 is lower for better matches; the API's score is higher for better ones.
        return [(r, -s) for r, s in self.conn.execute(sql, params)]

    def walk(self, limit: int) -> list[int]:
        """The newest ``limit`` matches' rowids (FTS5 stops after them)."""
        sql = f"SELECT fts.rowid FROM fts WHERE {self.where} ORDER BY fts.rowid LIMIT ?"
        return [r for (r,) in self.conn.execute(sql, (*self.args, limit))]

    def groups(self, rowids: list[int]) -> list[tuple[int, str, str, str]]:
        """(rowid, community, channel, kind) of these documents."""
        out: list[tuple[int, str, str, str]] = []
        for i in range(0, len(rowids), 5000):
            chunk = json.dumps(rowids[i : i + 5000])
            out += self.conn.execute(
                "SELECT id, community, channel, kind FROM docs WHERE id IN (SELECT value FROM json_each(?))",
                (chunk,),
            ).fetchall()
        return out

    def documents(self, since: int | None = None) -> int:
        """Documents of the index in the query's time range (``since``: that rowid and newer), counted
        on the one posting list every document has."""
        sql, args = "SELECT count(*) FROM fts WHERE fts MATCH 'tags : any'", []
        for bound, op in ((since, "<="), (self.lo, ">="), (self.hi, "<=")):
            if bound is not None:
                sql += f" AND rowid {op} ?"
                args.append(bound)
        return self.conn.execute(sql, args).fetchone()[0]


def _facets(rows: list[tuple[int, str, str, str]], scale: float = 1.0) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {"community": Counter(), "channel": Counter(), "kind": Counter()}
    for _, community, channel, kind in rows:
        out["community"][community] += 1
        out["channel"][channel] += 1
        out["kind"][kind] += 1
    if scale != 1.0:
        for counts in out.values():
            for k in counts:
                counts[k] = max(1, round(counts[k] * scale))
    return out


def run(
    conn: sqlite3.Connection,
    match: Match,
    scope: Scope,
    *,
    sort: str,
    has_text: bool,
    offset: int,
    limit: int,
    facets: bool,
    documents: int | None = None,
    spread: Callable[[], Spread] | None = None,
) -> Found:
    """``documents``: how many the index holds, if the caller knows (else counted when needed);
    ``spread``: where they lie along the rowids (else counted when needed)."""
    q = Query(conn, match, scope)
    out = Found()
    by_rank = sort == "relevance" and has_text
    # The newest matches: all of them when they are few (the exact path), else the sample the
    # estimate is made from (and the window ranked by relevance). One walk, FTS5's postings only.
    want = max(FAST_MIN, SAMPLE) + 1
    ids = q.walk(max(want, RELEVANCE_WINDOW) if by_rank else want)
    if len(ids) <= FAST_MIN:
        if by_rank:
            out.hits = q.by_rank(ids, limit, offset)
        else:
            ordered = ids if sort != "old" else ids[::-1]
            out.hits = [(r, 0.0) for r in ordered[offset : offset + limit]]
        out.total = len(ids)
        if facets:
            out.facets = _facets(q.groups(ids))
    else:
        if by_rank:
            out.hits = q.by_rank(ids[:RELEVANCE_WINDOW], limit, offset)
        elif sort != "old" and offset + limit <= len(ids):
            out.hits = [(r, 0.0) for r in ids[offset : offset + limit]]
        else:
            out.hits = q.by_time(sort != "old", limit, offset)
        sample = ids[:want]
        out.total, out.exact = len(sample), True
        if len(sample) == want:
            # The sample's share of the documents it spans, over all of them: "about N".
            since = sample[-1]
            where = spread() if spread is not None else None
            known = documents if q.lo is None and q.hi is None else None
            if known is None and where is not None:
                known = where.between(q.lo, q.hi)
            everything = known if known is not None else q.documents()
            covered = where.between(q.lo, since if q.hi is None else min(since, q.hi)) if where else None
            covered = max(1, covered if covered is not None else q.documents(since=since))
            out.total = max(FAST_MIN + 1, round(len(sample) * max(everything, covered) / covered))
            out.exact = False
        if facets:
            # Facets of the newest SAMPLE, scaled: each costs a read of the document's stored fields.
            rows = q.groups(sample[:SAMPLE] or sample)
            out.facets = _facets(rows, out.total / max(1, len(rows)))
    out.rows = fetch_docs(conn, [r for r, _ in out.hits])
    return out


class Spread:
    """Where the index's documents lie along the rowids: the rowids divisible by ``step`` (a prime, so
    about one document in ``step``, spread like the times are; picked by SQLite in C over the posting
    list every document has, never row by row in Python: at 1M documents ~80 ms, against 0.5 s for
    every 244th row read into Python), kept per index file and made anew as the index changes. An
    estimate then needs no count of the documents in a range (at 1M documents counting took up to
    45 ms a search, and a rare word's sample spans most of the index); a range holding few of the
    marks is counted instead (cheap: few documents), so a small range is exact."""

    MARKS = 4096  # rowids kept, about
    EXACT_BELOW = 64  # marks in a range under which it is counted instead

    def __init__(self, conn: sqlite3.Connection, documents: int) -> None:
        self.documents = documents
        self.step = _prime_from(documents // self.MARKS) if documents > self.MARKS else 1
        sql = "SELECT rowid FROM fts WHERE fts MATCH 'tags : any' AND rowid % ? = 0 ORDER BY rowid"
        rows = conn.execute(sql, (self.step,))
        self.marks = [r for (r,) in rows]

    def fresh(self, documents: int) -> bool:
        """Close enough to an index holding ``documents`` (changes move an estimate by ~1 in 50)."""
        return abs(documents - self.documents) <= max(self.step, documents // 50)

    def between(self, lo: int | None, hi: int | None) -> int | None:
        """About how many documents have rowids from ``lo`` to ``hi`` (None: unbounded); None if the
        range holds too few marks to say (count it)."""
        a = bisect.bisect_left(self.marks, lo) if lo is not None else 0
        b = bisect.bisect_right(self.marks, hi) if hi is not None else len(self.marks)
        if self.step > 1 and b - a < self.EXACT_BELOW:
            return None
        return max(0, b - a) * self.step


def _prime_from(n: int) -> int:
    n = max(2, n)
    while any(n % d == 0 for d in range(2, int(n**0.5) + 1)):
        n += 1
    return n


# -- the vocabulary: wildcards and "did you mean" -------------------------------------------------


def _terms(conn: sqlite3.Connection, start: str) -> list[tuple[str, int]]:
    """Words as written (both word columns) starting with ``start``, with document frequencies."""
    end = start[:-1] + chr(ord(start[-1]) + 1)
    rows = conn.execute(
        "SELECT term, sum(doc) FROM temp.vocab WHERE term >= ? AND term < ? AND col IN ('wtitle', 'wbody')"
        " GROUP BY term",
        (start, end),
    )
    return rows.fetchall()


def expand(conn: sqlite3.Connection, pattern: str) -> list[str]:
    """The words a wildcard (``gen?ral``, ``ge*al``) stands for, most frequent first."""
    pattern = fold(pattern)
    head = re.split(r"[*?]", pattern, maxsplit=1)[0]
    rx = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))
    found = [(t, n) for t, n in _terms(conn, head) if rx.fullmatch(t)]
    found.sort(key=lambda tn: -tn[1])
    return [t for t, _ in found[:EXPAND_MAX]]


def frequency(conn: sqlite3.Connection, word: str) -> int:
    row = conn.execute(
        "SELECT sum(doc) FROM temp.vocab WHERE term = ? AND col IN ('wtitle', 'wbody')", (word,)
    ).fetchone()
    return row[0] or 0


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count one), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def suggest(conn: sqlite3.Connection, word: str, maxdist: int = 2) -> str | None:
    """The nearest indexed word (same first letter, within ``maxdist`` edits), most frequent first."""
    best: tuple[int, int, str] | None = None
    for term, n in _terms(conn, word[0]):
        if term == word or not term.isalpha():
            continue
        d = _distance(word, term, maxdist)
        if d <= maxdist and (best is None or (d, -n, term) < best):
            best = (d, -n, term)
    return best[2] if best else None
