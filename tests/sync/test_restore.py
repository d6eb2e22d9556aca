"""Acceptance: a node restored from a stale backup gets a new log key, re-syncs from its peers,
never reuses a sequence number, keeps what was deleted after the backup deleted, and converges."""

from __future__ import annotations

import sqlite3

from cryb_node import identity
from cryb_node.app import build_app
from cryb_node.node import DB_FILE
from cryb_node.sync import peers
from tests.sync.conftest import Fed, fed_config, make_community


async def test_restore_from_stale_backup_rejoins_without_reusing_seq(
    federation, aiohttp_client, tmp_path
) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await b.session(a)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    early = [
        (await b.ok("POST", f"/channels/{text}/messages", bob, json={"content": f"early {i}"}))["id"]
        for i in range(3)
    ]
    await b.session(a)
    old_origin = b.node.identity.origin
    # the backup (Litestream's replica lags behind the node)
    stale = tmp_path / "stale.db"
    src = sqlite3.connect(b.node.db_path)
    with sqlite3.connect(stale) as dst:
        src.backup(dst)
    src.close()
    # after the backup: more messages and a delete, all replicated to a
    late = (await b.ok("POST", f"/channels/{text}/messages", bob, json={"content": "late"}))["id"]
    await b.ok("DELETE", f"/channels/{text}/messages/{early[1]}", bob)
    await b.session(a)
    old_head = await b.count("SELECT seq FROM log_heads WHERE origin = ?", old_origin)

    # b dies; the database comes back from the stale replica and the log key is replaced
    data_dir = b.node.data_dir
    await b.client.close()
    for suffix in ("", "-wal", "-shm"):
        (data_dir / (DB_FILE + suffix)).unlink(missing_ok=True)
    stale.rename(data_dir / DB_FILE)
    identity.rotate_log_key(data_dir)
    b2 = Fed("b", await aiohttp_client(build_app(fed_config(data_dir))))
    await peers.pin(a.node.db, b2.key, b2.url, "b", now=a.node.clock.time())  # same node key, new address
    await a.sync.engine.refresh_peers()
    new_origin = b2.node.identity.origin
    assert new_origin != old_origin and b2.key == b.key
    assert await b2.count("SELECT seq FROM log_heads WHERE origin = ?", old_origin) < old_head

    await b2.session(a)
    # what b wrote after the backup came back from a, and the delete applies again
    row = await b2.node.db.fetchone("SELECT deleted, content FROM content_messages WHERE id = ?", (early[1],))
    assert row[0] == 1 and row[1] == ""
    assert await b2.count("SELECT count(*) FROM content_messages WHERE id = ? AND deleted = 0", late) == 1
    assert await b2.count("SELECT seq FROM log_heads WHERE origin = ?", old_origin) == old_head
    # b writes again: a new log, seq from 1, and no fork anywhere
    await b2.ok("POST", f"/channels/{text}/messages", bob, json={"content": "after restore"})
    await b2.session(a)
    assert await b2.count("SELECT max(seq) FROM events WHERE origin = ?", new_origin) >= 1
    assert await a.count("SELECT count(*) FROM sync_forks") == 0
    assert await b2.count("SELECT count(*) FROM sync_forks") == 0
    assert await a.count("SELECT count(*) FROM content_messages WHERE content = 'after restore'") == 1
    assert await a.state(cid) == await b2.state(cid)
    card = await peers.fetch_card(b2.url)
    assert {k["origin"] for k in card.log_keys} >= {old_origin.hex(), new_origin.hex()}


async def test_restore_without_a_new_log_key_is_caught_as_a_fork(federation, tmp_path) -> None:
    """The hazard the key rotation prevents: the same log key handing out a seq twice."""
    a, b = await federation(2)
    await make_community(a, await a.user())
    await b.session(a)
    # a's events come back to a after a lost its own newest events (no rotation): refused as a fork
    eid = await a.node.db.fetchval(
        "SELECT id FROM events WHERE origin = ? ORDER BY seq DESC", (a.node.identity.origin,)
    )

    def lose(conn):
        conn.execute("DELETE FROM event_content WHERE event_id = ?", (eid,))
        conn.execute("DELETE FROM events WHERE id = ?", (eid,))

    await a.node.db.write(lose)
    report = await b.session(a, reconcile=True)
    assert report.pushed == 0
    assert await a.count("SELECT count(*) FROM sync_forks WHERE origin = ?", a.node.identity.origin) == 1
