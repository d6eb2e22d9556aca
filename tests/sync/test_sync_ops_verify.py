"""`cryb sync verify` compares what both nodes are entitled to hold: a private channel one node
rightly lacks is no difference, a community hand-off one node lacks is."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cryb_node.services import Perm
from cryb_node.sync import homes
from tests.conftest import run_cryb
from tests.sync.conftest import Fed, make_community, mesh

VIEW = int(Perm.VIEW_CHANNEL)


async def verify(fed: Fed, peer: Fed, cid: str, tmp_path: Path) -> tuple[int, dict]:
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n[plugins]\nextra = ["tests.demo_plugin:plugin"]\n')
    done = await asyncio.to_thread(
        run_cryb, "--config", str(toml), "--data", str(fed.node.data_dir),
        "sync", "verify", peer.name, cid, "--json",
    )  # fmt: skip
    assert done.returncode in (0, 1) and done.stdout, done.stderr
    (row,) = json.loads(done.stdout)
    return done.returncode, row


async def test_verify_is_same_when_a_node_rightly_lacks_a_private_channel(federation, tmp_path) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await mesh([a, b], rounds=1)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    staff = (
        await a.ok("POST", f"/communities/{cid}/channels", owner, json={"name": "staff", "kind": "text"})
    )["id"]
    await a.ok("PUT", f"/channels/{staff}/overwrites/role/{cid}", owner, json={"deny": VIEW})
    for i in range(3):
        await a.ok("POST", f"/channels/{staff}/messages", owner, json={"content": f"staff {i}"})
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "for everyone"})
    await mesh([a, b])
    await a.session(b, reconcile=True)
    assert await b.count("SELECT count(*) FROM content_messages WHERE channel_id = ?", staff) == 0

    for asker, answerer in ((a, b), (b, a)):
        code, row = await verify(asker, answerer, cid, tmp_path)
        assert code == 0 and row["same"], (asker.name, row)
    # a real difference in what both may hold is still found
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "only on a"})
    code, row = await verify(a, b, cid, tmp_path)
    assert code == 1 and "content.messages" in row["differing"], row


async def test_verify_detects_a_missing_hand_off(federation, tmp_path) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "hi"})
    await mesh([a, b, c], rounds=1)
    code, row = await verify(b, c, cid, tmp_path)
    assert code == 0 and row["same"], row

    await homes.hand_off(a.node, cid, b.key)
    await b.session(a)  # b holds the hand-off, c does not
    assert await homes.community_home_of(b.node.db, cid) == b.key
    assert await homes.community_home_of(c.node.db, cid) == a.key
    code, row = await verify(b, c, cid, tmp_path)
    assert code == 1 and not row["same"], row
    assert "sync.home" in row["differing"], row
    await c.session(b)
    code, row = await verify(b, c, cid, tmp_path)
    assert code == 0 and row["same"], row


async def test_verify_reports_a_private_community_the_peer_may_not_hold_as_not_shared(
    federation, tmp_path
) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner, public=False)
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "members only"})
    await mesh([a, b])
    assert await b.count("SELECT count(*) FROM events WHERE community = ?", cid) == 0
    code, row = await verify(a, b, cid, tmp_path)
    assert code == 0 and row["shared"] is False and row["peer_events"] == 0, row
