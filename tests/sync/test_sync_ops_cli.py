"""Operating sync from the CLI: `cryb peer sync --reconcile` runs one session and nothing else
beside it, and signed requests carry a nonce, so two honest identical requests are both served
while a replayed one is still refused."""

from __future__ import annotations

import asyncio
import json

from cryb_node.sync import auth
from tests.conftest import run_cryb
from tests.sync.conftest import make_community

RUNS = 6


async def test_cli_reconcile_succeeds_every_time(federation, tmp_path) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    for i in range(5):
        await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": f"m{i}"})
    # the CLI reads the defaults of [plugin.sync] (auto = true), as an operator's node would
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n[plugins]\nextra = ["tests.demo_plugin:plugin"]\n')
    cli = ["--config", str(toml), "--data", str(a.node.data_dir)]
    failures = []
    for _ in range(RUNS):
        done = await asyncio.to_thread(run_cryb, *cli, "peer", "sync", b.name, "--reconcile", "--json")
        if done.returncode != 0:
            failures.append(done.stderr.strip())
            continue
        assert json.loads(done.stdout)["scopes"], done.stdout
    assert failures == [], failures
    assert b.sync.refused == 0
    assert await b.count("SELECT count(*) FROM content_messages WHERE community_id = ?", cid) == 5


async def test_identical_requests_in_one_millisecond_are_both_served_and_a_replay_is_not(
    federation,
) -> None:
    a, b = await federation(2)
    path = "/federation/v1/hello"
    body = b"\x81\xa7follows\x90"
    key = a.node.identity.node_key
    first, _ = auth.sign_request(key, b.key, "POST", path, body, now_ms=a.node.clock.time_ms())
    second, _ = auth.sign_request(key, b.key, "POST", path, body, now_ms=int(first.split(".")[1]))
    assert first != second  # the same caller, callee, path, body and millisecond
    for header in (first, second):
        resp = await b.client.post(path, data=body, headers={auth.HEADER: header})
        assert resp.status == 200, await resp.text()
    # the literal replay of either is refused
    resp = await b.client.post(path, data=body, headers={auth.HEADER: second})
    assert resp.status == 401 and "replayed" in (await resp.json())["detail"]
    # and so is a replay with another nonce: the signature covers it
    caller, ts, nonce, sig = first.split(".")
    other = f"{caller}.{ts}.{'00' * (len(nonce) // 2)}.{sig}"
    resp = await b.client.post(path, data=body, headers={auth.HEADER: other})
    assert resp.status == 401 and "bad request signature" in (await resp.json())["detail"]
    assert b.sync.refused == 2
