"""bench/writes.py as the README shows it, short: every workload row and both references are
printed, over real HTTP against a `cryb serve` process. Slow (a node, 64 users): `make soak`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_writes_bench_prints_every_workload_beside_its_references():
    done = subprocess.run(
        [sys.executable, "bench/writes.py", "--runs", "1", "--seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    rows = {
        cells[1]: cells[2:]
        for line in out.splitlines()
        if line.startswith("| ") and len(cells := [c.strip() for c in line.split("|")]) > 3
    }
    for senders in ("1 sender", "16 senders", "64 senders"):
        for channels in ("1 channel", "16 channels"):
            sends, p50, p99 = (float(v) for v in rows[f"{senders}, {channels}"][:3])
            assert sends > 0 and 0 < p50 <= p99
    assert "GET /healthz" in out and "SQLite batched insert" in out
