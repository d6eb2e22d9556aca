"""The node admin's data console: read-only SQL over the node's database, in the spirit of Datasette,
built on sqlite-utils. `cryb db` and the admin routes (http/db_routes.py) call these functions.

Each query gets a connection of its own, run in a worker thread: not one of the node's readers, which
a slow query would hold while requests wait for it. Three guards stand around it: the file is opened
read-only (mode=ro, query_only), an authorizer lets only reads through (private columns read as NULL),
and a progress handler stops it when its time budget runs out. Every query and export is written to
the audit log with its SQL text, never its results.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import io
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
import pysqlite3.dbapi2 as sqlite3
from msgspec import Meta

from cryb_node import db as dbmod
from cryb_node import lazy
from cryb_node.clock import Clock
from cryb_node.config import ConsoleSection
from cryb_node.problems import Problem
from cryb_node.services import AUDIT

if TYPE_CHECKING:
    import sqlite_utils
else:  # ~7 MiB and 70 ms at start for a page node admins open now and then
    sqlite_utils = lazy.module("sqlite_utils")

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)

# The core's own private columns (each plugin declares its own: Plugin.private_columns).
CORE_PRIVATE: dict[str, tuple[str, ...]] = {
    "event_content": ("content",),  # every event's payload, direct messages included
    "rate_state": ("key",),  # "ip:<address>" keys of the rate limits and the sign-in throttle
    # After an ANALYZE, sample keys of every index: token hashes and blind indexes among them.
    "sqlite_stat4": ("sample",),
}
# Names that by the project's conventions hold secrets or sealed PII (token_hash, email_ct, ...),
# hidden in every table even when its plugin forgot to declare them.
PRIVATE_NAME = re.compile(r"(_hash|_ct|(^|_)token)$|secret|password|^salt$", re.IGNORECASE)

# Read-only introspection: their argument is a table or index name, never a setting.
READ_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list"}
)
# load_extension would run native code; fts3_tokenizer can be made to call any address; randomblob
# and zeroblob allocate up to 1 GB in a single step that the time budget cannot interrupt.
DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "randomblob", "zeroblob"})
_STATEMENTS = {
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_ATTACH: "ATTACH",
    sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_PRAGMA: "PRAGMA",
    sqlite3.SQLITE_TRANSACTION: "BEGIN/COMMIT",
    sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    **{getattr(sqlite3, f"SQLITE_{verb}_{what}"): f"{verb} {what.replace('_', ' ')}"
       for verb in ("CREATE", "DROP")
       for kind in ("", "TEMP_") for what in (f"{kind}{o}" for o in ("TABLE", "INDEX", "VIEW", "TRIGGER"))},
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
    sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
}  # fmt: skip
_SCHEMA_WRITES = (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE)
# Roughly how many bytes of values one answer carries before it is cut short (truncated).
MAX_RESULT_BYTES = 8 * 1024 * 1024
# Queries and exports running at once; more wait their turn (each holds a worker thread).
CONCURRENT = 2


class QueryIn(msgspec.Struct, forbid_unknown_fields=True):
    sql: Annotated[str, Meta(min_length=1, max_length=100_000)]
    limit: Annotated[int, Meta(ge=1)] | None = None


class QueryResult(msgspec.Struct):
    columns: list[str]
    # Values as SQLite gives them; a BLOB as {"$base64": true, "encoded": ...} (sqlite-utils' form).
    rows: list[list[Any]]
    truncated: bool  # there were more rows than `limit` (or than fit in one answer)
    limit: int
    hidden: list[str]  # private columns ("table.column") the query touched: read as NULL
    took_ms: int


class ColumnInfo(msgspec.Struct):
    name: str
    type: str
    pk: bool
    private: bool  # read as NULL by the console


class TableInfo(msgspec.Struct):
    name: str
    kind: Literal["table", "view"]
    rows: int | None  # None: not counted within the time budget
    columns: list[ColumnInfo]


class Tables(msgspec.Struct):
    tables: list[TableInfo]


ExportFormat = Literal["csv", "json"]


class ExportQuery(msgspec.Struct, forbid_unknown_fields=True):
    table: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    sql: Annotated[str, Meta(min_length=1, max_length=100_000)] | None = None
    format: ExportFormat = "csv"


def private_columns(plugins: Iterable[Any]) -> dict[str, frozenset[str]]:
    """table -> private columns: the core's and those each loaded plugin declares."""
    out: dict[str, set[str]] = {t: set(cols) for t, cols in CORE_PRIVATE.items()}
    for loaded in plugins:
        for table, cols in loaded.plugin.private_columns().items():
            out.setdefault(table, set()).update(cols)
    return {t: frozenset(c) for t, c in out.items()}


def is_private(private: Mapping[str, frozenset[str]], table: str, column: str) -> bool:
    return column in private.get(table, ()) or bool(PRIVATE_NAME.search(column))


class Guard:
    """A read-only connection to the node's database and the checks on all it runs. Used by one
    thread at a time; open it, run one operation under ``budget``, close it."""

    def __init__(
        self, path: Path, private: Mapping[str, frozenset[str]], busy_timeout_ms: int, clock: Clock
    ) -> None:
        self.clock = clock  # the node's: the time budgets run on it
        self.conn = dbmod.connect(path, busy_timeout_ms=busy_timeout_ms, readonly=True)
        self.conn.row_factory = None
        # mode=ro already refuses writes to the file; query_only also refuses temporary tables.
        self.conn.execute("PRAGMA query_only = 1")
        self.private = private
        self.hidden: set[str] = set()
        self.refused: str | None = None
        self.timed_out = False
        self.budget_ms = 0
        self.truncated = False  # an export stopped at its row cap
        self._deadline = float("inf")
        self.conn.set_authorizer(self._authorize)
        self.conn.set_progress_handler(self._progress, 1000)
        # No plugins: third-party sqlite-utils plugins could register functions on this connection.
        self.db = lazy.ready(sqlite_utils).Database(
            self.conn, recursive_triggers=False, execute_plugins=False
        )

    def close(self) -> None:
        self.conn.close()

    def budget(self, ms: int) -> contextlib.AbstractContextManager[None]:
        """Run the block (and any later ``checked`` one) with ``ms`` milliseconds to spare from now;
        SQLite errors become Problems."""
        self.budget_ms, self.timed_out, self.refused = ms, False, None
        self._deadline = self.clock.monotonic() + ms / 1000
        return self.checked()

    @contextlib.contextmanager
    def checked(self) -> Iterator[None]:
        """SQLite errors raised in the block become Problems (the deadline stays where it is)."""
        try:
            yield
        except (sqlite3.Error, sqlite3.Warning) as err:
            raise self.problem(err) from None

    def _progress(self) -> int:
        if self.clock.monotonic() >= self._deadline:
            self.timed_out = True
            return 1  # SQLite stops the statement: "interrupted"
        return 0

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
    ) -> int:
        if action == sqlite3.SQLITE_READ:
            if arg1 and arg2 and is_private(self.private, arg1, arg2):
                self.hidden.add(f"{arg1}.{arg2}")
                return sqlite3.SQLITE_IGNORE  # the column reads as NULL, in WHERE clauses too
            return sqlite3.SQLITE_OK
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in DENIED_FUNCTIONS:
                return self._refuse(f"the function {arg2}() is not allowed in the data console")
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in READ_PRAGMAS:
            return sqlite3.SQLITE_OK
        if (arg1 or "").startswith("sqlite_") and action in _SCHEMA_WRITES:
            return self._refuse(
                "changing the schema (CREATE, DROP, ALTER) is not allowed: the data console only reads"
            )
        what = _STATEMENTS.get(action, "a statement that changes the database")
        if action == sqlite3.SQLITE_PRAGMA:
            what = f"PRAGMA {arg1}"
        return self._refuse(f"{what} is not allowed: the data console only reads (SELECT)")

    def _refuse(self, reason: str) -> int:
        self.refused = self.refused or reason
        return sqlite3.SQLITE_DENY

    def problem(self, err: BaseException) -> Problem:
        if self.refused:
            return Problem("query_not_allowed", 400, self.refused, field="sql")
        if self.timed_out:
            return Problem(
                "query_timeout", 422,
                f"the query ran past its {self.budget_ms} ms budget and was stopped", field="sql",
            )  # fmt: skip
        if "one statement at a time" in str(err):
            return Problem("multiple_statements", 400, "run one statement at a time", field="sql")
        return Problem("invalid_sql", 400, str(err), field="sql")

    def execute(self, sql: str) -> tuple[list[str], sqlite3.Cursor]:
        """Prepare and start one statement; its column names (duplicates renamed as sqlite-utils
        does: id, id_2) and the cursor. Call inside ``budget``."""
        # sqlite-utils' execute, not its query(): query() yields dicts, so an empty result would
        # have no column names to show.
        cursor = self.db.execute(sql)
        if cursor.description is None:
            raise Problem("invalid_sql", 400, "the statement returns no rows", field="sql")
        return lazy.ready(sqlite_utils).utils.dedupe_keys(d[0] for d in cursor.description), cursor

    def query(self, sql: str, limit: int, budget_ms: int) -> QueryResult:
        started = self.clock.monotonic()
        rows: list[list[Any]] = []
        truncated, size = False, 0
        with self.budget(budget_ms):
            columns, cursor = self.execute(sql)
            for row in cursor:
                if len(rows) >= limit or size > MAX_RESULT_BYTES:
                    truncated = True
                    break
                rows.append([json_value(v) for v in row])
                size += sum(len(v) if isinstance(v, str | bytes) else 8 for v in row)
            cursor.close()
        took = int((self.clock.monotonic() - started) * 1000)
        return QueryResult(columns, rows, truncated, limit, sorted(self.hidden), took)

    def tables(self, budget_ms: int) -> Tables:
        """Columns for every table and view (the schema only: no budget), then row counts within
        the budget; tables it leaves uncounted show ``rows: None``."""
        with self.checked():
            found: list[tuple[Any, Literal["table", "view"]]] = [(t, "table") for t in self.db.tables]
            found += [(v, "view") for v in self.db.views]
            columns = {
                item.name: [
                    ColumnInfo(c.name, c.type, bool(c.is_pk), is_private(self.private, item.name, c.name))
                    for c in item.columns
                ]
                for item, _ in found
            }
        with self.budget(budget_ms):
            return Tables([TableInfo(i.name, k, self._count(i), columns[i.name]) for i, k in found])

    def _count(self, item: sqlite_utils.db.Queryable) -> int | None:
        if self.timed_out:
            return None  # the budget is spent: the remaining tables are listed without counts
        try:
            return item.count
        except sqlite3.OperationalError:
            if self.timed_out:
                return None
            raise

    def export_rows(
        self, table: str | None, sql: str | None, max_rows: int
    ) -> tuple[list[str], Iterator[tuple]]:
        """Column names and an iterator over at most ``max_rows`` rows (``self.truncated`` tells
        whether there were more). Call inside ``budget``; iterate inside it too."""
        self.truncated = False
        if table is not None:
            if table not in {*self.db.table_names(), *self.db.view_names()}:
                raise Problem("not_found", 404, f"no table or view named {table!r}", field="table")
            found = self.db[table]
            columns = [c.name for c in found.columns]
            rows: Iterator[tuple] = (tuple(r.values()) for r in found.rows_where(limit=max_rows + 1))
        else:
            assert sql is not None
            columns, rows = self.execute(sql)
        return columns, self._capped(rows, max_rows)

    def _capped(self, rows: Iterator[tuple], max_rows: int) -> Iterator[tuple]:
        for n, row in enumerate(rows):
            if n == max_rows:
                self.truncated = True
                return
            yield row


# -- file formats ---------------------------------------------------------------------------------


def blob_of(value: Any) -> bytes | None:
    """The bytes of a BLOB, given as bytes or in sqlite-utils' JSON form; None for anything else."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict) and value.get("$base64") is True:
        return base64.b64decode(value["encoded"])
    return None


def _csv_value(value: Any) -> Any:
    blob = blob_of(value)
    return value if blob is None else blob.hex()


def csv_lines(columns: list[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV (Excel dialect) with a header row; a BLOB as hex."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def json_value(value: Any) -> Any:
    """A BLOB in sqlite-utils' JSON form ({"$base64": true, "encoded": ...}, which its
    ``decode_base64_values`` reads back); anything else as it is."""
    if isinstance(value, bytes):
        return {"$base64": True, "encoded": base64.b64encode(value).decode("ascii")}
    return value


def json_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    """A JSON array of objects, one row per line, as `sqlite-utils query --json` writes it (that
    writer lives in sqlite-utils' CLI module, which loads its plugins on import)."""
    keys = lazy.ready(sqlite_utils).utils.dedupe_keys(columns)
    sep = "["
    for row in rows:
        yield sep + msgspec.json.encode(dict(zip(keys, map(json_value, row), strict=True))).decode()
        sep = ",\n "
    yield "[]\n" if sep == "[" else "]\n"


def _batched(lines: Iterator[str], size: int = 64 * 1024) -> Iterator[bytes]:
    parts: list[str] = []
    held = 0
    for line in lines:
        parts.append(line)
        held += len(line)
        if held >= size:
            yield "".join(parts).encode()
            parts, held = [], 0
    if parts:
        yield "".join(parts).encode()


# -- the service ----------------------------------------------------------------------------------


def _audit_sql(sql: str) -> str:
    return sql if len(sql) <= 4000 else sql[:4000] + "…"


class Export:
    """A started export: iterate it for the file's bytes, then ``close`` it (which audits it)."""

    def __init__(
        self, console: DataConsole, guard: Guard, chunks: Iterator[bytes], *, name: str, fmt: str,
        audit: dict[str, Any],
    ) -> None:  # fmt: skip
        self._console, self._guard, self._chunks = console, guard, chunks
        self.filename = f"{name}.{fmt}"
        self.content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        self.rows_cap = console.settings.export_max_rows
        self._audit = audit
        self._outcome = "aborted"
        self._closed = False

    @property
    def truncated(self) -> bool:
        return self._guard.truncated

    async def __aiter__(self) -> AsyncIterator[bytes]:
        end = object()
        while True:
            # Each chunk is read in a worker thread; the progress handler's deadline spans them all.
            chunk = await asyncio.to_thread(self._next, end)
            if not isinstance(chunk, bytes):  # the end marker
                self._outcome = "ok"
                return
            yield chunk

    def _next(self, end: object) -> bytes | object:
        with self._guard.checked():
            return next(self._chunks, end)

    async def close(self, outcome: str | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        # A cancelled request may leave a chunk being read in its thread: stop that statement first.
        self._guard.conn.interrupt()
        await asyncio.to_thread(self._guard.close)
        self._console._slots.release()
        await self._console.audit(
            "db.export", outcome=outcome or self._outcome, truncated=self.truncated, **self._audit
        )


class DataConsole:
    """One per node (the routes' and the CLI's): the settings, the private columns, the turns."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.settings: ConsoleSection = node.config.db.console
        self.private = private_columns(node.plugins)
        self._slots = asyncio.Semaphore(CONCURRENT)

    def _open(self) -> Guard:
        return Guard(self.node.db_path, self.private, self.node.config.db.busy_timeout_ms, self.node.clock)

    async def _run(self, fn: Any, *args: Any) -> Any:
        def work() -> Any:
            guard = self._open()
            try:
                return fn(guard, *args)
            finally:
                guard.close()

        async with self._slots:
            return await asyncio.to_thread(work)

    async def audit(
        self, action: str, *, actor_id: str | None = None, ip: str | None = None, **detail: Any
    ) -> None:
        audit = self.node.services.get(AUDIT)
        if audit is None:  # the users plugin is disabled: this node keeps no audit log
            return
        await self.node.db.write(lambda conn: audit.record(conn, action, actor_id=actor_id, ip=ip, **detail))

    async def tables(self) -> Tables:
        """Every table and view with its columns and row count."""
        return await self._run(Guard.tables, self.settings.timeout_ms)

    async def query(
        self,
        sql: str,
        limit: int | None = None,
        *,
        actor_id: str | None = None,
        ip: str | None = None,
        via: str = "http",
    ) -> QueryResult:
        """Run one read-only statement; at most ``limit`` rows (default and most from the settings)."""
        s = self.settings
        if limit is not None and limit > s.max_rows:
            raise Problem(
                "invalid_field", 400, f"limit is at most {s.max_rows} (db.console.max_rows)", field="limit"
            )
        limit = limit or min(s.default_rows, s.max_rows)
        outcome, result = "error", None
        try:
            result = await self._run(Guard.query, sql, limit, s.timeout_ms)
            outcome = "ok"
            return result
        except Problem as problem:
            outcome = problem.code
            raise
        finally:
            await self.audit(
                "db.query", actor_id=actor_id, ip=ip, via=via, sql=_audit_sql(sql), outcome=outcome,
                rows=len(result.rows) if result else 0, truncated=bool(result and result.truncated),
            )  # fmt: skip

    async def export(
        self,
        *,
        table: str | None,
        sql: str | None,
        fmt: ExportFormat,
        actor_id: str | None = None,
        ip: str | None = None,
        via: str = "http",
    ) -> Export:
        """Start an export of a table (or view) or of a query's rows as CSV or JSON. Refusals, bad
        SQL and unknown tables raise here, before any byte is sent."""
        if (table is None) == (sql is None):
            raise Problem("invalid_query", 400, "name a table or give sql, not both", field="table")
        detail: dict[str, Any] = {"via": via, "format": fmt, "actor_id": actor_id, "ip": ip}
        detail.update({"table": table} if table is not None else {"sql": _audit_sql(sql or "")})
        s = self.settings
        await self._slots.acquire()
        guard: Guard | None = None
        try:
            guard = await asyncio.to_thread(self._open)

            def start() -> Iterator[bytes]:
                with guard.budget(s.export_timeout_ms):
                    columns, rows = guard.export_rows(table, sql, s.export_max_rows)
                    lines = csv_lines if fmt == "csv" else json_lines
                    return _batched(lines(columns, rows))

            chunks = await asyncio.to_thread(start)
        except BaseException as err:
            if guard is not None:
                await asyncio.to_thread(guard.close)
            self._slots.release()
            outcome = err.code if isinstance(err, Problem) else "error"
            await self.audit("db.export", outcome=outcome, **detail)
            raise
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", table) if table is not None else "query"
        return Export(self, guard, chunks, name=name, fmt=fmt, audit=detail)
