"""One generation of the index: an SQLite file (``<data>/search/g<ms>/search.db``) with the documents'
stored fields (``docs``), their FTS5 postings (``fts``) and the index's own bookkeeping (``meta``).

The file is apart from the node's database on purpose: it is a cache derivable from it, so it is not
replicated by Litestream nor part of a backup (indexing writes several times the bytes of the
content it indexes), and a rebuild fills a new file while the old one serves, then swaps. The meta
row (the last event position applied) is written in the same transaction as the documents, so the
index and its offset cannot disagree after a crash.

Every method runs on the calling thread's connection: the indexer's writer thread, the rebuild's
thread, or a searcher thread (read-only).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import msgspec
import pysqlite3.dbapi2 as sqlite3

from cryb_node import db as dbmod

from .documents import DDL, KINDS, ROWID_SPAN, Doc, Meta

log = logging.getLogger(__name__)

FILE = "search.db"
_INSERT_DOC = "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_FTS = "INSERT INTO fts (rowid, stitle, sbody, wtitle, wbody, tags) VALUES (?, ?, ?, ?, ?, ?)"


class Corrupt(Exception):
    pass


class Store:
    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.count = 0  # documents, kept by the writer (count(*) reads every row)

    @classmethod
    def create(cls, folder: Path, busy_timeout_ms: int = 5000) -> Store:
        folder.mkdir(parents=True, exist_ok=True)
        conn = dbmod.connect(folder / FILE, busy_timeout_ms=busy_timeout_ms)
        conn.row_factory = None
        conn.executescript(DDL)
        store = cls(folder / FILE, conn)
        store.write_meta(Meta())
        return store

    @classmethod
    def open(cls, folder: Path, busy_timeout_ms: int = 5000, *, readonly: bool = False) -> Store:
        path = folder / FILE
        if not path.is_file():
            raise Corrupt(f"{path} is missing")
        conn = dbmod.connect(path, busy_timeout_ms=busy_timeout_ms, readonly=readonly)
        conn.row_factory = None
        store = cls(path, conn)
        if not readonly:
            with contextlib.suppress(sqlite3.DatabaseError):  # read_meta reports a damaged file
                store.count = store.documents()
        return store

    def close(self) -> None:
        self.conn.close()

    # -- bookkeeping -----------------------------------------------------------------------------

    def read_meta(self) -> Meta:
        """The meta row, after touching every table: a damaged file fails here, not mid-search."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE id = 1").fetchone()
            if row is None:
                raise Corrupt("the index has no meta row")
            self.conn.execute("SELECT max(id) FROM docs").fetchone()
            self.conn.execute("SELECT rowid FROM fts WHERE fts MATCH 'kmessage' LIMIT 1").fetchall()
            return msgspec.json.decode(row[0], type=Meta)
        except (sqlite3.DatabaseError, msgspec.DecodeError) as err:
            raise Corrupt(f"{type(err).__name__}: {err}") from err

    def write_meta(self, meta: Meta) -> None:
        self.conn.execute(
            "INSERT INTO meta (id, value) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET value = excluded.value",
            (msgspec.json.encode(meta),),
        )

    # -- writing ---------------------------------------------------------------------------------

    def _remove(self, rowid: int) -> None:
        self.conn.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
        self.conn.execute("DELETE FROM docs WHERE id = ?", (rowid,))
        self.count -= 1

    def remove_keys(self, keys: Iterable[str]) -> int:
        n = 0
        for key in keys:
            row = self.conn.execute("SELECT id FROM docs WHERE key = ?", (key,)).fetchone()
            if row is not None:
                self._remove(row[0])
                n += 1
        return n

    def remove_authors(self, authors: Iterable[str]) -> int:
        n = 0
        for author in authors:
            for (rowid,) in self.conn.execute("SELECT id FROM docs WHERE author = ?", (author,)).fetchall():
                self._remove(rowid)
                n += 1
        return n

    def put(self, docs: Iterable[Doc], *, fresh: bool = False) -> int:
        """Insert or replace each document by key (``fresh``: the caller knows none is present)."""
        docs = list(docs)
        if fresh and len(docs) > 1:
            # The bulk path: two executemany in a savepoint; a rowid two documents of the same
            # millisecond share (rare) undoes it and takes the path below.
            c = self.conn
            c.execute("SAVEPOINT bulk")
            try:
                c.executemany(_INSERT_DOC, [(d.rowid(), *d.row()) for d in docs])
                c.executemany(_INSERT_FTS, [(d.rowid(), *d.columns()) for d in docs])
            except sqlite3.IntegrityError:
                c.execute("ROLLBACK TO bulk")
                c.execute("RELEASE bulk")
            else:
                c.execute("RELEASE bulk")
                self.count += len(docs)
                return len(docs)
        return self._put_each(docs, fresh=fresh)

    def _put_each(self, docs: Iterable[Doc], *, fresh: bool = False) -> int:
        """Insert or replace each document by key (``fresh``: the caller knows none is present)."""
        c = self.conn
        n = 0
        for d in docs:
            if not fresh:
                old = c.execute("SELECT id FROM docs WHERE key = ?", (d.key,)).fetchone()
                if old is not None:
                    self._remove(old[0])
            rowid = d.rowid()
            base = rowid & ~(ROWID_SPAN - 1)
            row = d.row()
            while True:
                try:
                    c.execute(_INSERT_DOC, (rowid, *row))
                    break
                except sqlite3.IntegrityError:
                    # Another document of the same millisecond holds this number: the next free one.
                    if c.execute("SELECT 1 FROM docs WHERE key = ?", (d.key,)).fetchone():
                        raise
                    rowid = base | ((rowid + 1) & (ROWID_SPAN - 1))
            c.execute(_INSERT_FTS, (rowid, *d.columns()))
            self.count += 1
            n += 1
        return n

    def write(self, docs: list[Doc], gone: list[str], erased: Iterable[str], meta: Meta | None) -> int:
        """One batch in one transaction: erased authors' documents out, gone keys out, documents in
        (replacing by key), and the meta row when given."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            n = self.remove_authors(sorted(erased))
            n += self.remove_keys(gone)
            n += self.put(docs)
            if meta is not None:
                self.write_meta(meta)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            self.count = self.documents()
            raise
        return n

    def optimize(self) -> None:
        """Merge every FTS5 segment into one (faster queries; tombstones of deletes are dropped)."""
        self.conn.execute("INSERT INTO fts (fts) VALUES ('optimize')")

    # -- figures ---------------------------------------------------------------------------------

    def documents(self) -> int:
        return self.conn.execute("SELECT count(*) FROM docs").fetchone()[0]

    def by_kind(self) -> dict[str, int]:
        rows = dict(self.conn.execute("SELECT kind, count(*) FROM docs GROUP BY kind").fetchall())
        return {k: rows.get(k, 0) for k in KINDS}

    def keys(self) -> Iterator[str]:
        for (key,) in self.conn.execute("SELECT key FROM docs"):
            yield key

    def segments(self) -> int:
        """FTS5 segments (the structure record: a 4-byte cookie, then varints nLevel, nSegment)."""
        row = self.conn.execute("SELECT block FROM fts_data WHERE id = 10").fetchone()
        if row is None:
            return 0
        blob: bytes = row[0]
        i = 4
        if blob[4:8] == b"\xff\x00\x00\x01":  # the "structure v2" marker of newer FTS5
            i = 8
        values: list[int] = []
        while len(values) < 2 and i < len(blob):
            v = 0
            while True:
                b = blob[i]
                i += 1
                v = (v << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
            values.append(v)
        return values[1] if len(values) == 2 else 0

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.iterdir() if p.is_file())


class StoredDoc(NamedTuple):
    """A document's stored fields: a row of ``docs``."""

    id: int
    key: str  # <kind>:<id>
    kind: str
    author: str
    community: str
    channel: str
    parent: str
    time: int
    flags: int
    title: str
    body: str


# The columns named after the fields, so a row is a StoredDoc as it comes (search reads it for each hit).
_STORED = f"SELECT {', '.join(StoredDoc._fields)} FROM docs WHERE id IN ({{}})"


def fetch_docs(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, StoredDoc]:
    """Stored fields by rowid."""
    out: dict[int, StoredDoc] = {}
    for i in range(0, len(rowids), 500):
        chunk = rowids[i : i + 500]
        for row in conn.execute(_STORED.format(",".join("?" * len(chunk))), chunk):
            doc = StoredDoc._make(row)
            out[doc.id] = doc
    return out
