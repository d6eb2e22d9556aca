"""Replicating communities between nodes: vectors, batches, resumption, reconciliation, policy."""

from __future__ import annotations

from tests.sync.conftest import make_community, mesh


async def test_community_replicates_and_remote_members_write_locally(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    for i in range(5):
        await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": f"hello {i}"})
    report = await b.session(a)
    assert report.pulled > 0 and cid in report.scopes
    # b now holds the community: its own user joins and writes on b
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    await b.ok("POST", f"/channels/{text}/messages", bob, json={"content": "from b"})
    await b.session(a)
    got = await a.ok("GET", f"/channels/{text}/messages?limit=50", owner)
    texts = [m["content"] for m in got["messages"]]
    assert "from b" in texts and "hello 0" in texts
    assert await a.state(cid) == await b.state(cid)


async def test_sessions_are_idempotent_and_resume_in_small_batches(federation) -> None:
    a, b = await federation(2, batch_events=7)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    for i in range(40):
        await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": f"m{i}"})
    first = await b.session(a)
    assert first.pulled >= 40
    again = await b.session(a)
    assert again.pulled == 0 and again.rejected == 0
    assert await a.state(cid) == await b.state(cid)
    n = await a.count("SELECT count(*) FROM events WHERE community = ?", cid)
    assert await b.count("SELECT count(*) FROM events WHERE community = ?", cid) == n


async def test_relay_through_a_middle_node(federation) -> None:
    a, b, c = await federation(3, pin=False)
    await a.pin(b), await b.pin(a), await b.pin(c), await c.pin(b)  # a - b - c, a and c never meet
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "relayed"})
    await b.session(a)
    await c.session(b)
    carol = await c.user()
    await c.ok("PUT", f"/communities/{cid}/members/@me", carol, json={})
    await c.ok("POST", f"/channels/{text}/messages", carol, json={"content": "back"})
    await c.session(b)
    await b.session(a)
    assert await a.state(cid) == await b.state(cid) == await c.state(cid)
    got = await a.ok("GET", f"/channels/{text}/messages?limit=50", owner)
    assert {"relayed", "back"} <= {m["content"] for m in got["messages"]}


async def test_reconciliation_repairs_what_vectors_missed(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    for i in range(30):
        await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": f"r{i}"})
    await b.session(a)
    # b loses some events behind its vector's back (a bookkeeping bug, a partial restore)
    lost = [
        bytes(r[0])
        for r in await b.node.db.fetchall(
            "SELECT id FROM events WHERE community = ? AND kind = 'message.create' ORDER BY hlc LIMIT 3",
            (cid,),
        )
    ]

    def drop(conn):
        for eid in lost:
            conn.execute("DELETE FROM event_content WHERE event_id = ?", (eid,))
            conn.execute("DELETE FROM events WHERE id = ?", (eid,))

    await b.node.db.write(drop)
    assert (await b.session(a)).pulled == 0  # the vector says b has them
    report = await b.session(a, reconcile=True)
    assert report.repaired == 3
    for eid in lost:
        assert await b.count("SELECT count(*) FROM events WHERE id = ?", eid) == 1
    # and the other way: a loses events b's user wrote, and b sends them back
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    for i in range(4):
        await b.ok("POST", f"/channels/{text}/messages", bob, json={"content": f"b{i}"})
    await b.session(a)
    lost = [
        bytes(r[0])
        for r in await a.node.db.fetchall(
            "SELECT id FROM events WHERE community = ? AND origin = ? AND kind = 'message.create'",
            (cid, b.node.identity.origin),
        )
    ]
    assert len(lost) == 4
    await a.node.db.write(drop)
    report = await b.session(a, reconcile=True)
    assert report.pushed == 4
    assert await a.count("SELECT count(*) FROM events WHERE community = ?", cid) == await b.count(
        "SELECT count(*) FROM events WHERE community = ?", cid
    )


async def test_three_nodes_converge_after_mesh(federation) -> None:
    feds = await federation(3)
    a = feds[0]
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await mesh(feds, rounds=1)
    for f in feds[1:]:
        u = await f.user()
        await f.ok("PUT", f"/communities/{cid}/members/@me", u, json={})
        await f.ok("POST", f"/channels/{text}/messages", u, json={"content": f"hi from {f.name}"})
    await mesh(feds)
    hashes = {await f.state(cid) for f in feds}
    assert len(hashes) == 1
