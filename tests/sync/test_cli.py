"""`cryb peer add` (fetch and confirm the key) and `cryb sync verify` against running nodes."""

from __future__ import annotations

import asyncio
import json

from cryb_node.sync import peers
from tests.conftest import run_cryb
from tests.sync.conftest import make_community


async def test_peer_add_then_sync_verify_reports_same_state(federation, tmp_path) -> None:
    a, b = await federation(2, pin=False)
    await b.pin(a)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "hi"})
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n[plugins]\nextra = ["tests.demo_plugin:plugin"]\n')
    cli = ["--config", str(toml), "--data", str(a.node.data_dir)]
    added = await asyncio.to_thread(run_cryb, *cli, "peer", "add", b.url, "--yes", "--name", "bee")
    assert added.returncode == 0, added.stderr
    assert b.key.hex() in added.stdout
    assert (await peers.get(a.node.db, b.key)).name == "bee"
    await b.session(a)
    verified = await asyncio.to_thread(run_cryb, *cli, "sync", "verify", "bee", cid, "--json")
    assert verified.returncode == 0, verified.stderr + verified.stdout
    (row,) = json.loads(verified.stdout)
    assert row["same"] and row["local_events"] == row["peer_events"] > 0
    # a difference is reported and fails the command
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "only on a"})
    differs = await asyncio.to_thread(run_cryb, *cli, "sync", "verify", "bee", cid)
    assert differs.returncode == 1 and "DIFFERENT" in differs.stdout and "content.messages" in differs.stdout
    bad = await asyncio.to_thread(run_cryb, *cli, "peer", "add", "ftp://nowhere")
    assert bad.returncode == 2
