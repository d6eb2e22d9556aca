"""bench/scale.py as docs/scaling.md runs it, tiny: both modes, interleaved rounds, medians and the
machine's load printed. Slow (a node and a --workers group per run): `pytest -m slow tests/scale`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

from .conftest import needs_nats

pytestmark = [needs_nats, pytest.mark.slow]


def test_the_scale_bench_prints_medians_of_interleaved_rounds_with_the_load():
    done = subprocess.run(
        [sys.executable, "bench/scale.py", "--sessions", "40", "--listeners", "20", "--messages", "5",
         "--senders", "2", "--rounds", "2", "--procs", "2", "--inflight", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout.splitlines()
    rounds = [line.split(":", 1)[0] for line in out if line.startswith("round ")]
    assert rounds == ["round 1 workers=1", "round 1 workers=2", "round 2 workers=1", "round 2 workers=2"]
    head = next(i for i, line in enumerate(out) if line.startswith("figure"))
    table = {line[:44].strip(): line[44:].split() for line in out[head:] if not line.startswith("load ")}
    assert table["figure"] == ["workers=1", "workers=2"]
    for figure in ("fan-out deliveries/s", "seconds until all sessions READY"):
        assert all(float(v) > 0 for v in table[figure]), figure
    assert len(table["/healthz p99 during the storm (ms)"]) == 2
    assert "medians of 2 run(s)" in done.stdout
    assert any(line.startswith("load average (1 min) over all runs:") for line in out)
