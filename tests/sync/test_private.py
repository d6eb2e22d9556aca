"""A private channel's events go only to nodes hosting a member allowed to read it."""

from __future__ import annotations

from cryb_node.services import Perm
from tests.sync.conftest import make_community, mesh

VIEW = int(Perm.VIEW_CHANNEL)


async def test_private_channel_events_reach_only_nodes_with_allowed_members(federation) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await mesh([a, b, c], rounds=1)
    bob, carol = await b.user(), await c.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    await c.ok("PUT", f"/communities/{cid}/members/@me", carol, json={})
    await mesh([a, b, c], rounds=1)
    secret = (
        await a.ok("POST", f"/communities/{cid}/channels", owner, json={"name": "staff", "kind": "text"})
    )["id"]
    await a.ok("PUT", f"/channels/{secret}/overwrites/role/{cid}", owner, json={"deny": VIEW})
    await a.ok("PUT", f"/channels/{secret}/overwrites/member/{bob.id}", owner, json={"allow": VIEW})
    await mesh([a, b, c], rounds=1)
    await a.ok("POST", f"/channels/{secret}/messages", owner, json={"content": "staff only"})
    await b.ok("POST", f"/channels/{secret}/messages", bob, json={"content": "bob agrees"})
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "for everyone"})
    await mesh([a, b, c])
    await c.session(a, reconcile=True)
    await c.session(b, reconcile=True)

    async def texts(fed) -> set[str]:
        rows = await fed.node.db.fetchall(
            "SELECT content FROM content_messages WHERE community_id = ?", (cid,)
        )
        return {r[0] for r in rows}

    assert {"staff only", "bob agrees", "for everyone"} <= await texts(a)
    assert {"staff only", "bob agrees", "for everyone"} <= await texts(b)
    assert "for everyone" in await texts(c)
    assert not {"staff only", "bob agrees"} & await texts(c)
    leaked = await c.node.db.fetchall(
        "SELECT count(*) FROM event_content WHERE content LIKE ? OR content LIKE ?",
        (b"%staff only%", b"%bob agrees%"),
    )
    assert leaked[0][0] == 0
    # c's member cannot read the channel there either: c does not even know it exists
    status, _ = await c.call("GET", f"/channels/{secret}/messages", carol)
    assert status == 404
