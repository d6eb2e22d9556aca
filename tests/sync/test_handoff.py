"""Handing a community's home to another node: an event signed by the current home; every node
then agrees on the new home, node-admin authority (rank-3 moderation) follows it, and a hand-off
signed by a node that is no longer the home is ignored everywhere."""

from __future__ import annotations

import asyncio

from cryb_plugins.content.events import Moderate

from cryb_node.sync import homes
from tests.communities.conftest import new_admin
from tests.conftest import run_cryb
from tests.sync.conftest import make_community, mesh


async def test_hand_off_moves_authority_and_every_node_agrees(federation, tmp_path) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    mid = (await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "hi"}))["id"]
    await mesh([a, b, c], rounds=1)
    for f in (a, b, c):
        assert await homes.community_home_of(f.node.db, cid) == a.key
    # only the home may hand off
    try:
        await homes.hand_off(b.node, cid, c.key)
        raise AssertionError("b is not the home")
    except homes.HomeError as err:
        assert "only the community's home node" in str(err)

    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n')
    done = await asyncio.to_thread(
        run_cryb, "--config", str(toml), "--data", str(a.node.data_dir), "sync", "handoff", cid, b.name
    )
    assert done.returncode == 0, done.stderr
    assert "now homed on" in done.stdout
    await mesh([a, b, c], rounds=1)
    for f in (a, b, c):
        assert await homes.community_home_of(f.node.db, cid) == b.key, f.name

    # b's admin now moderates at rank 3, accepted everywhere
    b_admin = await new_admin(b.client)
    await b.ok("PUT", f"/communities/{cid}/members/@me", b_admin, json={})
    status, body = await b.call("DELETE", f"/channels/{text}/messages/{mid}", b_admin)
    assert status == 204, body
    # a's admin no longer can (its API falls back to their roles: none)
    a_admin = await new_admin(a.client)
    await a.ok("PUT", f"/communities/{cid}/members/@me", a_admin, json={})
    status, body = await a.call("DELETE", f"/channels/{text}/messages/{mid}", a_admin)
    assert status == 403, body
    # a crafted rank-3 unhide from a, and a stale hand-off a -> c: refused / ignored everywhere
    await a.node.events.append(
        "content.moderate",
        Moderate(target_type="message", channel_id=text, field="hidden", value=False, rank=3),
        community=cid,
        author=a_admin.id,
        target=mid,
    )
    await a.node.events.append(homes.HANDOFF, homes.HomeHandoff(), community=cid, target=c.key.hex())
    await mesh([a, b, c], rounds=1)
    for f in (b, c):
        row = await f.node.db.fetchone(
            "SELECT rank, value, actor_id FROM content_mod WHERE target_id = ?", (mid,)
        )
        assert tuple(row) == (3, 1, b_admin.id), f.name
        assert await homes.community_home_of(f.node.db, cid) == b.key
    assert await homes.community_home_of(a.node.db, cid) == b.key
    assert await b.state(cid) == await c.state(cid)
