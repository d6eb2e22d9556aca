"""`make bench` (replication): replica lag under sustained writes, and restore time for a large
database. Figures, not pass/fail; medians with ratios to a reference measured in the same run.

Rows:
  - replica lag (median and p95 of samples every 50 ms) while signed events are written at a
    steady rate through the node, against the configured sync interval (what the lag should be
    bounded by, plus Litestream's look at the WAL)
  - `cryb backup restore` of a database of --restore-mb MB (default 64; --restore-mb 1024 for the
    1 GB figure) from a file replica, against copying the same file (the floor for any restore)
The target is a folder on the same disk, so network time is not part of these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryb_node import config as configmod  # noqa: E402
from cryb_node.backup import replica  # noqa: E402
from cryb_node.backup.litestream import OneShot  # noqa: E402
from cryb_node.node import Node  # noqa: E402


def make_config(data: Path, replica: Path, interval: float) -> configmod.Config:
    return configmod.convert(
        {
            "node": {"data_dir": str(data)},
            "log": {"level": "WARNING"},
            "plugins": {"extra": ["tests.demo_plugin:plugin"]},
            "replication": {
                "enabled": True,
                "type": "file",
                "path": str(replica),
                "sync_interval_s": interval,
            },
        }
    )


async def lag_under_writes(
    workdir: Path, rate: float, seconds: float, interval: float
) -> tuple[list[float], float]:
    from tests.demo_plugin import Note

    node = Node(make_config(workdir / "data", workdir / "replica", interval))
    samples: list[float] = []
    async with node.running():
        assert node.replication is not None
        await asyncio.sleep(2 * interval + 1)  # the first snapshot
        written = 0
        started = time.monotonic()

        async def writer() -> None:
            nonlocal written
            while (elapsed := time.monotonic() - started) < seconds:
                due = int(elapsed * rate) - written
                for _ in range(max(0, due)):
                    await node.events.append("demo.note", Note(f"n{written}", "x" * 120))
                    written += 1
                await asyncio.sleep(0.005)

        async def sampler() -> None:
            await asyncio.sleep(1.0)  # past the start-up transient
            while time.monotonic() - started < seconds:
                samples.append(node.replication.status().lag_s)
                await asyncio.sleep(0.05)

        await asyncio.gather(writer(), sampler())
        achieved = written / (time.monotonic() - started)
    return samples, achieved


def build_database(path: Path, megabytes: int) -> None:
    """A node database padded with ~half-compressible rows up to the given size."""
    import pysqlite3.dbapi2 as sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS bench_filler (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    row = 8192
    rows = megabytes * 1024 * 1024 // row
    conn.execute("BEGIN")
    for i in range(rows):
        conn.execute("INSERT INTO bench_filler (data) VALUES (?)", (os.urandom(row // 2) + bytes(row // 2),))
        if i % 5000 == 4999:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def restore_times(workdir: Path, megabytes: int, runs: int) -> tuple[list[float], list[float], int, float]:
    cfg = make_config(workdir / "big", workdir / "big-replica", 1.0)
    data = cfg.data_path
    data.mkdir(parents=True)
    db = data / "cryb.db"
    build_database(db, megabytes)
    size = db.stat().st_size
    with OneShot(cfg.replication, db) as ls:
        t0 = time.monotonic()
        ls.run("replicate", "-once", "-force-snapshot", timeout=3600)
        snapshot_s = time.monotonic() - t0
    restores, copies = [], []
    for i in range(runs):
        out = workdir / f"restored-{i}.db"
        t0 = time.monotonic()
        replica.restore_file(cfg, db, out)
        restores.append(time.monotonic() - t0)
        out.unlink()
        t0 = time.monotonic()
        shutil.copyfile(db, workdir / "copy.db")
        with open(workdir / "copy.db", "rb+") as fh:
            os.fsync(fh.fileno())
        copies.append(time.monotonic() - t0)
        (workdir / "copy.db").unlink()
    return restores, copies, size, snapshot_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the sustained-write run")
    ap.add_argument("--rate", type=float, default=500.0, help="writes per second in the lag run")
    ap.add_argument("--interval", type=float, default=1.0, help="replication.sync_interval_s")
    ap.add_argument("--restore-mb", type=int, default=64, help="database size for the restore rows")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="cryb-bench-repl-") as tmp:
        work = Path(tmp)
        samples, achieved = asyncio.run(lag_under_writes(work, args.rate, args.seconds, args.interval))
        restores, copies, size, snapshot_s = restore_times(work, args.restore_mb, args.runs)

    p95 = statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)
    med_restore, med_copy = statistics.median(restores), statistics.median(copies)
    rows = [
        (
            "replica lag, median",
            f"{statistics.median(samples):.2f} s",
            "sync interval",
            f"{args.interval:.2f} s",
            statistics.median(samples) / args.interval,
        ),
        ("replica lag, p95", f"{p95:.2f} s", "sync interval", f"{args.interval:.2f} s", p95 / args.interval),
        (
            "replica lag, max",
            f"{max(samples):.2f} s",
            "sync interval",
            f"{args.interval:.2f} s",
            max(samples) / args.interval,
        ),
        (
            f"restore {size / 2**20:.0f} MB database",
            f"{med_restore:.2f} s",
            "copy + fsync of the file",
            f"{med_copy:.2f} s",
            med_restore / med_copy,
        ),
        (
            f"first snapshot of {size / 2**20:.0f} MB",
            f"{snapshot_s:.2f} s",
            "copy + fsync of the file",
            f"{med_copy:.2f} s",
            snapshot_s / med_copy,
        ),
    ]
    print(
        f"\nCRYB replication bench: {achieved:.0f} signed writes/s for {args.seconds:.0f}s "
        f"(lag sampled every 50 ms, {len(samples)} samples); restores: median of {args.runs}; "
        f"file target on the same disk, {os.cpu_count()} cores\n"
    )
    print(f"| {'measure':<32} | {'value':>9} | {'reference':<26} | {'ref value':>9} | {'ratio':>6} |")
    print(f"|{'-' * 34}|{'-' * 11}|{'-' * 28}|{'-' * 11}|{'-' * 8}|")
    for name, value, ref, ref_value, ratio in rows:
        print(f"| {name:<32} | {value:>9} | {ref:<26} | {ref_value:>9} | {ratio:>6.2f} |")


if __name__ == "__main__":
    main()
