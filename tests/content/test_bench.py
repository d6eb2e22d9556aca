"""bench/content.py as the README shows it, on a small corpus kept in a directory: every read row is
printed beside its /healthz, and a second run measures the kept corpus again (fresh sign-ins, no
fill). Slow (a node started three times): `make soak`."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

ROWS = ("GET 50 latest messages", "GET 50 messages before a cursor", "GET hot feed", "GET home feed")


def _run(keep, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, "bench/content.py", "--messages", "500", "--posts", "100", "--runs", "1",
         "--seconds", "1", "--keep", str(keep), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_content_bench_measures_a_kept_corpus_twice(tmp_path):
    first = _run(tmp_path)
    assert "written in" in first
    for row in ("POST message, 16 clients", *ROWS):
        line = next(li for li in first.splitlines() if li.startswith(row))
        assert float(re.findall(r"\d+", line[36:])[0]) > 0, line
    again = _run(tmp_path, "--only", "latest", "home")
    assert f"kept in {tmp_path}" in again
    assert "GET 50 latest messages" in again and "GET home feed" in again and "POST message" not in again
