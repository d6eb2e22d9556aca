"""`cryb analytics rebuild|show` run the same service functions as the job and the API."""

from __future__ import annotations

import datetime as dt
import json

from tests.conftest import run_cryb


def test_cli_rebuild_recomputes_days_and_clamps_to_retained_raw_rows(tmp_path) -> None:
    data = str(tmp_path / "data")
    today = dt.datetime.now(dt.UTC).date()
    since = today - dt.timedelta(days=2)
    done = run_cryb("--data", data, "analytics", "rebuild", "--since", since.isoformat(), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["from"] == since.isoformat() and out["days"] >= 3 and not out["clamped"]
    old = run_cryb("--data", data, "analytics", "rebuild", "--since", "2000-01-01")
    assert old.returncode == 0 and "left as they were" in old.stdout
    shown = run_cryb("--data", data, "analytics", "show", "--since", since.isoformat(), "--csv", "daily")
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("day,dau,wau,mau") and lines[1].startswith(since.isoformat())
    bad = run_cryb("--data", data, "analytics", "rebuild", "--since", "last week")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
