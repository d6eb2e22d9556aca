"""Upgrades: a backup before migrations touch an existing database, and a dry run that applies the
pending migrations to a copy to report what they change and how long they take.

Rollback is the reverse: stop the node, put `data/backups/pre-upgrade-*.db` back as `data/cryb.db`,
start the previous binary.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryb_node import migrate
from cryb_node.clock import Clock
from cryb_node.db import Connection, connect

BACKUP_DIR = "backups"
KEEP = 3


class UpgradeError(migrate.MigrationError):
    pass


def pending(conn: Connection, migrations: list[migrate.Migration]) -> list[migrate.Migration]:
    states = {(s.source, s.version): s.state for s in migrate.status(conn, migrations)}
    return [m for m in migrations if states[(m.source, m.version)] == "pending"]


def has_history(conn: Connection) -> bool:
    """True for a database some earlier start already migrated (a fresh one needs no backup)."""
    conn.executescript(migrate.BOOTSTRAP)
    return conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0


def backup_before_upgrade(conn: Connection, data_dir: Path, clock: Clock) -> Path:
    """Copy the live database (consistently, with SQLite's backup API) to data/backups/."""
    folder = data_dir / BACKUP_DIR
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as err:
        raise UpgradeError(f"could not back up the database before upgrading: {err}") from err
    stamp = datetime.fromtimestamp(clock.time(), UTC).strftime("%Y%m%dT%H%M%S")
    target = folder / f"pre-upgrade-{stamp}.db"
    free = shutil.disk_usage(folder).free
    size = sum(p.stat().st_size for p in data_dir.glob("cryb.db*") if p.is_file())
    if free < size * 1.2:
        raise UpgradeError(
            f"not enough free disk for the pre-upgrade backup ({free >> 20} MiB free, "
            f"{size >> 20} MiB needed); free some space before upgrading"
        )
    try:
        dest = connect(target, busy_timeout_ms=5000)
        with dest:
            conn.backup(dest)
        dest.close()
        target.chmod(0o600)
    except Exception as err:
        target.unlink(missing_ok=True)
        raise UpgradeError(f"could not back up the database before upgrading: {err}") from err
    for old in sorted(folder.glob("pre-upgrade-*.db"))[:-KEEP]:
        old.unlink()
    return target


@dataclass(frozen=True)
class Planned:
    source: str
    version: int
    name: str
    statements: int
    seconds: float
    created: list[str]
    dropped: list[str]


def _objects(conn: Connection) -> set[str]:
    rows = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return {f"{t} {n}" for t, n in rows}


def dry_run(db_path: Path, migrations: list[migrate.Migration], clock: Clock) -> list[Planned]:
    """Apply the pending migrations to a copy of the database; nothing touches the real one."""
    with tempfile.TemporaryDirectory(prefix="cryb-dry-run-") as tmp:
        copy = Path(tmp) / "copy.db"
        dest = connect(copy, busy_timeout_ms=5000)
        if db_path.exists():
            src = connect(db_path, busy_timeout_ms=5000, readonly=True)
            src.backup(dest)
            src.close()
        todo = pending(dest, migrations)
        out: list[Planned] = []
        for mig in todo:
            before = _objects(dest)
            started = time.perf_counter()
            # Everything up to and including this one, in load order (the earlier ones are applied).
            migrate.apply(dest, migrations[: migrations.index(mig) + 1], clock)
            elapsed = time.perf_counter() - started
            after = _objects(dest)
            out.append(
                Planned(
                    mig.source,
                    mig.version,
                    mig.name,
                    len(migrate.statements(mig.sql)),
                    elapsed,
                    sorted(after - before),
                    sorted(before - after),
                )
            )
        dest.close()
        return out
