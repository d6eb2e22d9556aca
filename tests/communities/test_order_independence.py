"""Governance projections depend only on WHICH events exist: the same events delivered to fresh
nodes in other orders (as a peer would deliver them) give identical rows."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

from cryb_plugins.communities import events as gov

from cryb_node.appkeys import NODE
from cryb_node.events import verify
from cryb_node.node import Node
from cryb_node.services import Perm
from tests.communities.conftest import communities_config, new_user, ok

TABLES = {
    "communities": "id",
    "community_roles": "community_id",
    "community_members": "community_id",
    "community_member_roles": "community_id",
    "community_bans": "community_id",
    "community_channels": "community_id",
    "community_overwrites": "community_id",
    "community_automod_rules": "community_id",
    "community_modlog": "community_id",
    "community_gov_head": "community_id",
}


async def snapshot(node: Node, cid: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table, col in TABLES.items():
        rows = await node.db.fetchall(f"SELECT * FROM {table} WHERE {col} = ?", (cid,))
        out[table] = sorted(tuple(r) for r in rows)
    return out


async def busy_community(client: Any) -> str:
    """A community whose history has order-sensitive authority: a moderator acts only after the
    role that allows it was assigned, bans and unbans, a role deleted after use, and a forged kick."""
    owner, mod, a, b, c = [await new_user(client) for _ in range(5)]
    cid = (await ok(client, "POST", "/communities", owner, json={"name": "Order"}))["id"]
    for u in (mod, a, b, c):
        await ok(client, "PUT", f"/communities/{cid}/members/@me", u, json={})
    perms = int(Perm.KICK_MEMBERS | Perm.BAN_MEMBERS | Perm.MODERATE_MEMBERS | Perm.MANAGE_ROLES)
    role = await ok(
        client, "POST", f"/communities/{cid}/roles", owner, json={"name": "m", "perms": perms, "position": 3}
    )
    helper = await ok(client, "POST", f"/communities/{cid}/roles", owner, json={"name": "h", "position": 1})
    await ok(client, "PUT", f"/communities/{cid}/members/{mod.id}/roles/{role['id']}", owner)
    await ok(client, "PUT", f"/communities/{cid}/members/{a.id}/roles/{helper['id']}", mod)
    await ok(
        client,
        "PUT",
        f"/communities/{cid}/bans/{b.id}",
        mod,
        json={"reason": "spam", "delete_message_seconds": 60},
    )
    await ok(client, "POST", f"/communities/{cid}/members/{c.id}/kick", mod, json={"reason": "rude"})
    await ok(client, "PUT", f"/communities/{cid}/members/{a.id}/timeout", mod, json={"duration_s": 600})
    await ok(client, "DELETE", f"/communities/{cid}/bans/{b.id}?reason=appeal", mod)
    await ok(client, "PUT", f"/communities/{cid}/members/@me", b, json={})
    ch = await ok(
        client, "POST", f"/communities/{cid}/channels", owner, json={"name": "news", "kind": "announcement"}
    )
    await ok(
        client,
        "PUT",
        f"/channels/{ch['id']}/overwrites/role/{cid}",
        owner,
        json={"deny": int(Perm.SEND_MESSAGES)},
    )
    await ok(
        client,
        "PUT",
        f"/channels/{ch['id']}/overwrites/role/{helper['id']}",
        owner,
        json={"allow": int(Perm.SEND_MESSAGES)},
    )
    await ok(
        client,
        "POST",
        f"/communities/{cid}/automod/rules",
        owner,
        json={"name": "w", "kind": "words", "config": {"words": ["zap"]}},
    )
    await ok(client, "DELETE", f"/communities/{cid}/roles/{helper['id']}", owner)
    await ok(client, "PATCH", f"/communities/{cid}", owner, json={"description": "v2"})
    # A forged event (as a misbehaving peer could send): a plain member kicking the owner.
    node = client.app[NODE]
    await node.events.transaction(
        lambda tx: tx.append(
            "member.kick", gov.Reasoned(reason="coup"), community=cid, author=b.id, target=owner.id
        )
    )
    return cid


async def test_same_events_in_other_orders_give_identical_rows(cclient, tmp_path: Path):
    cid = await busy_community(cclient)
    source: Node = cclient.app[NODE]
    expected = await snapshot(source, cid)
    assert any(r[5] == "kick" for r in expected["community_modlog"])  # the real kick is logged
    assert not any(r[7] == "coup" for r in expected["community_modlog"])  # the forged one is not
    rows = await source.db.fetchall(
        "SELECT e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
        " WHERE e.community = ? ORDER BY e.pos",
        (cid,),
    )
    keys = await source.db.fetchall("SELECT origin, node_key, cert, created_at FROM log_keys")
    events = [(bytes(r[0]), bytes(r[1]), bytes(r[2]) if r[2] is not None else None) for r in rows]
    assert len(events) > 20

    rng = random.Random(4)
    orders = [list(reversed(events)), rng.sample(events, len(events)), rng.sample(events, len(events))]
    for i, order in enumerate(orders):
        node = Node(communities_config(tmp_path / f"peer{i}"))
        async with node.running(background=False):

            def ingest(conn, order=order, node=node):
                conn.executemany(
                    "INSERT OR IGNORE INTO log_keys VALUES (?, ?, ?, ?)", [tuple(k) for k in keys]
                )
                for raw, sig, content in order:
                    body = verify(raw, sig, content)
                    payload = node.registry.decode_payload(body.kind, content)
                    event_id = hashlib.sha256(raw).digest()
                    # The core's store-and-project step for received events (federation's ingest).
                    node.events._store(conn, event_id, body, raw, sig, content, payload)

            await node.db.write(ingest)
            got = await snapshot(node, cid)
        assert got == expected, f"order {i} differs"


async def test_a_late_older_event_rebuilds_to_the_same_rows_as_in_order(cclient, tmp_path: Path):
    """Incremental application and full replay agree (the differential check)."""
    from cryb_plugins.communities.projection import rebuild

    cid = await busy_community(cclient)
    node: Node = cclient.app[NODE]
    incremental = await snapshot(node, cid)
    count = await node.db.write(lambda conn: rebuild(conn, cid))
    assert count > 20
    assert await snapshot(node, cid) == incremental
