"""Schema migrations: the core's (cryb_migrations) and each plugin's, applied in order, checksummed.

A migration is a file ``NNNN_name.sql`` in a source folder. Each is applied in its own transaction
and recorded in ``schema_migrations`` with the sha256 of its text; a recorded migration whose file has
changed since stops the node, because the schema on disk no longer matches what the code expects.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.abc import Traversable
from typing import TYPE_CHECKING, NamedTuple

from cryb_node.db import Connection, sqlite3

if TYPE_CHECKING:
    from cryb_node.clock import Clock
    from cryb_node.plugins import Loaded

NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    source     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (source, version)
) STRICT;
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    source: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    source: str
    version: int
    name: str
    state: str  # applied | pending | modified | missing
    applied_at: str | None


def discover(source: str, folder: Traversable | None) -> list[Migration]:
    if folder is None or not folder.is_dir():
        return []
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        m = NAME.match(entry.name)
        if not m:
            raise MigrationError(f"{source}: migration file {entry.name} must be named NNNN_name.sql")
        found.append(Migration(source, int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{source}: two migrations share a version number")
    return found


class Applied(NamedTuple):
    """A migration recorded in schema_migrations."""

    name: str
    checksum: str
    applied_at: str


def _applied(conn: Connection) -> dict[tuple[str, int], Applied]:
    conn.executescript(BOOTSTRAP)
    rows = conn.execute("SELECT source, version, name, checksum, applied_at FROM schema_migrations")
    return {(r["source"], r["version"]): Applied(r["name"], r["checksum"], r["applied_at"]) for r in rows}


def status(conn: Connection, migrations: list[Migration]) -> list[MigrationStatus]:
    applied = _applied(conn)
    out: list[MigrationStatus] = []
    known = set()
    for mig in migrations:
        known.add((mig.source, mig.version))
        rec = applied.get((mig.source, mig.version))
        if rec is None:
            out.append(MigrationStatus(mig.source, mig.version, mig.name, "pending", None))
        elif rec.checksum != mig.checksum:
            out.append(MigrationStatus(mig.source, mig.version, mig.name, "modified", rec.applied_at))
        else:
            out.append(MigrationStatus(mig.source, mig.version, mig.name, "applied", rec.applied_at))
    for (source, version), rec in sorted(applied.items()):
        if (source, version) not in known and source in {m.source for m in migrations}:
            out.append(MigrationStatus(source, version, rec.name, "missing", rec.applied_at))
    return out


def check(conn: Connection, migrations: list[Migration]) -> None:
    """Raise MigrationError if an applied migration was edited since."""
    bad = [s for s in status(conn, migrations) if s.state == "modified"]
    if bad:
        names = ", ".join(f"{s.source}/{s.version:04d}_{s.name}.sql" for s in bad)
        raise MigrationError(
            f"applied migration changed on disk: {names}. Restore the original file; "
            "schema changes go in a new migration."
        )


def apply(conn: Connection, migrations: list[Migration], clock: Clock) -> list[Migration]:
    """Apply every pending migration in order, each in its own transaction (``clock`` dates them).
    Returns those applied."""
    check(conn, migrations)
    applied = _applied(conn)
    done: list[Migration] = []
    for mig in migrations:
        if (mig.source, mig.version) in applied:
            continue
        now = datetime.fromtimestamp(clock.time(), UTC).isoformat(timespec="seconds")
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would COMMIT first; run the script statement by statement instead.
            for stmt in statements(mig.sql):
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_migrations (source, version, name, checksum, applied_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (mig.source, mig.version, mig.name, mig.checksum, now),
            )
            conn.execute("COMMIT")
        except Exception as err:
            conn.execute("ROLLBACK")
            raise MigrationError(f"{mig.source}/{mig.version:04d}_{mig.name}.sql failed: {err}") from err
        done.append(mig)
    return done


def statements(sql: str) -> list[str]:
    """Split a script into complete statements (sqlite3.complete_statement knows about triggers)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf)
            buf = ""
    if buf.strip() and not _only_comments(buf):
        raise MigrationError(f"incomplete SQL statement at end of migration: {buf.strip()[:60]}")
    return out


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


def all_migrations(plugins: list[Loaded]) -> list[Migration]:
    """The core's migrations, then each enabled plugin's, in load order."""
    found = discover("core", resources.files("cryb_migrations"))
    for loaded in plugins:
        found += discover(loaded.plugin.name, loaded.plugin.migrations())
    return found
