"""Running one search on the index file (in a worker thread, on a read-only connection of its own).

The reader's scope goes into the MATCH expression as tag tokens (readable channels, people, public
and member communities), so FTS5 intersects it with the query in C and totals, facets and snippets
only ever count readable documents.

Two paths, chosen by reading the newest FAST_MIN + 1 matches (FTS5 walks its postings from the newest
and stops there):

- few matches: exact. The page sorted by time or bm25, the exact total, facets over every match.
- many: the page without visiting every match. Newest (or oldest) first is ``ORDER BY rowid`` (rowids
  are reversed times), which FTS5 answers by walking its postings and stopping after the page.
  By relevance, bm25 ranks the newest RELEVANCE_WINDOW matches (a chat search wants the recent best;
  ranking every match of a common word at 1M documents scores hundreds of thousands). The total and
  facets are estimated from the newest FAST_MIN + 1 matches already read, scaled by the share of the
  index's documents they span: "about N" (``total_exact`` false), as large chat products answer.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysqlite3.dbapi2 as sqlite3

from cryb_node import db as dbmod

from .build import Match, conjoin
from .schema import ROWID_SPAN, WEIGHTS, fold, rowid_of_time, tag_id
from .store import FILE, fetch_docs

FAST_MIN = 1000  # matches above which a search takes the fast path
SAMPLE = 200  # newest readable matches read at least for an estimated total and facets
RELEVANCE_WINDOW = 5000  # newest matches ranked by bm25 on the fast path
EXPAND_MAX = 256  # words a wildcard may stand for
_BM25 = "bm25(fts, " + ", ".join(str(w) for w in WEIGHTS) + ")"


class Readers:
    """Read-only connections to the index file, reused across searches (one per worker thread at a
    time); a new generation's path opens new ones and the old ones are closed."""

    def __init__(self, busy_timeout_ms: int = 5000) -> None:
        self.busy_timeout_ms = busy_timeout_ms
        self._lock = threading.Lock()
        self._idle: dict[Path, list[sqlite3.Connection]] = {}

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
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, fts, col)")
        return conn

    def put(self, path: Path, conn: sqlite3.Connection) -> None:
        with self._lock:
            if path.name == FILE and path.exists():
                self._idle.setdefault(path, []).append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
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
    rows: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # stored fields by rowid
    total: int = 0
    exact: bool = True
    facets: dict[str, Counter[str]] | None = None


class Query:
    """One MATCH with the reader's scope and a rowid range, and the SQL around it."""

    def __init__(self, conn: sqlite3.Connection, match: Match, scope: Scope) -> None:
        self.conn = conn
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

    def by_rank(self, limit: int, offset: int, since: int | None = None) -> list[tuple[int, float]]:
        where, args = self.where, list(self.args)
        if since is not None:
            where += " AND fts.rowid <= ?"
            args.append(since)
        sql = f"SELECT fts.rowid, {_BM25} AS s FROM fts WHERE {where} ORDER BY s, fts.rowid LIMIT ? OFFSET ?"
        # bm25 is lower for better matches; the API's score is higher for better ones.
        return [(r, -s) for r, s in self.conn.execute(sql, (*args, limit, offset))]

    def nth_newest(self, n: int) -> int | None:
        sql = f"SELECT fts.rowid FROM fts WHERE {self.where} ORDER BY fts.rowid LIMIT 1 OFFSET ?"
        row = self.conn.execute(sql, (*self.args, n - 1)).fetchone()
        return row[0] if row else None

    def groups(self, limit: int | None = None) -> list[tuple[int, str, str, str]]:
        """(rowid, community, channel, kind) of the matches, newest first (``limit``: the newest)."""
        sql = (
            "SELECT d.id, d.community, d.channel, d.kind FROM fts JOIN docs d ON d.id = fts.rowid"
            f" WHERE {self.where} ORDER BY fts.rowid"
        )
        args = list(self.args)
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return self.conn.execute(sql, args).fetchall()

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
) -> Found:
    """``documents``: how many the index holds, if the caller knows (else counted when needed)."""
    q = Query(conn, match, scope)
    out = Found()
    by_rank = sort == "relevance" and has_text
    # The newest matches with what facets count: all of them when they are few (the exact path),
    # else the sample the estimate is made from.
    want = max(FAST_MIN, SAMPLE) + 1
    rows = q.groups(want)
    if len(rows) <= FAST_MIN:
        if by_rank:
            out.hits = q.by_rank(limit, offset)
        else:
            ordered = rows if sort != "old" else rows[::-1]
            out.hits = [(r[0], 0.0) for r in ordered[offset : offset + limit]]
        out.total = len(rows)
        if facets:
            out.facets = _facets(rows)
    else:
        if by_rank:
            out.hits = q.by_rank(limit, offset, q.nth_newest(RELEVANCE_WINDOW))
        else:
            out.hits = q.by_time(sort != "old", limit, offset)
        out.total, out.exact = len(rows), True
        if len(rows) == want:
            # The sample's share of the documents it spans, over all of them: "about N".
            everything = documents if documents is not None and q.lo is None and q.hi is None else None
            if everything is None:
                everything = q.documents()
            covered = max(1, q.documents(since=rows[-1][0]))
            out.total = max(FAST_MIN + 1, round(len(rows) * max(everything, covered) / covered))
            out.exact = False
        if facets:
            out.facets = _facets(rows, out.total / len(rows))
    out.rows = fetch_docs(conn, [r for r, _ in out.hits])
    return out


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
