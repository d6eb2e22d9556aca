"""`cryb search reindex` and `cryb search stats`, with no node running (in-process rebuild) and with
a node serving the data directory (it rebuilds on request and keeps serving)."""

from __future__ import annotations

import json
import urllib.request

from tests.conftest import run_cryb
from tests.search.test_crash import CONFIG, _load, _wait_caught_up, db_state, index_keys


async def test_reindex_and_stats_against_a_serving_node_and_a_stopped_one(node_process, tmp_path):
    cfg = tmp_path / "cryb.toml"
    cfg.write_text(CONFIG)
    data = tmp_path / "data"
    node = node_process(cfg, data).start()
    await _load(node.url, 30)
    await _wait_caught_up(node.url)
    before = (data / "search" / "CURRENT").read_text()

    done = run_cryb("--config", str(cfg), "--data", str(data), "search", "reindex", "--timeout", "60")
    assert done.returncode == 0, done.stderr
    assert "asked it to rebuild" in done.stdout
    assert (data / "search" / "CURRENT").read_text() != before
    with urllib.request.urlopen(node.url + "/readyz") as resp:  # it kept serving
        assert resp.status == 200

    stats = run_cryb("--config", str(cfg), "--data", str(data), "search", "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    figures = json.loads(stats.stdout)
    assert figures["by_kind"]["message"] == 30 - len(range(0, 30, 4)) and figures["state"] == "ready"
    assert node.terminate() == 0

    offline = run_cryb("--config", str(cfg), "--data", str(data), "search", "reindex")
    assert offline.returncode == 0, offline.stderr
    assert "rebuilt:" in offline.stdout
    keys, _ = index_keys(data)
    assert set(keys) == db_state(data)[0]
