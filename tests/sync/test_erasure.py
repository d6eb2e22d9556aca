"""Erasure converges: an author's delete erases the payloads of the create and edits on every node
(the signed skeletons stay); a node that held the text and one that only ever received the
skeletons end with the same rows and the same state hash; erased payloads are never taken back."""

from __future__ import annotations

import hashlib

import msgspec

from cryb_node.sync import ingest, vectors
from cryb_node.sync.wire import Batch, WireEvent
from tests.sync.conftest import Fed, make_community, mesh

ROWS = {
    "content_messages": "SELECT * FROM content_messages WHERE community_id = ? ORDER BY id",
    "content_posts": "SELECT * FROM content_posts WHERE community_id = ? ORDER BY id",
    "content_comments": "SELECT * FROM content_comments WHERE community_id = ? ORDER BY id",
}


async def _rows(f: Fed, cid: str) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in await f.node.db.fetchall(sql, (cid,))] for t, sql in ROWS.items()}


async def _creates(f: Fed, targets: set[str]) -> dict[str, list[tuple[bytes, bytes, bytes, bytes | None]]]:
    """target -> [(event id, body, sig, content)] of its create and edits, as f holds them."""
    rows = await f.node.db.fetchall(
        "SELECT e.id, e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
        " WHERE e.kind IN ('message.create', 'message.edit', 'post.create', 'comment.create')"
    )
    out: dict[str, list[tuple[bytes, bytes, bytes, bytes | None]]] = {}
    for eid, body, sig, content in rows:
        target = msgspec.msgpack.decode(bytes(body))[8]
        if target in targets:
            out.setdefault(target, []).append((bytes(eid), bytes(body), bytes(sig), content))
    return out


async def test_author_delete_erases_everywhere_and_skeleton_nodes_converge(federation) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    forum = (await a.ok("POST", f"/communities/{cid}/channels", owner, json={"name": "f", "kind": "forum"}))[
        "id"
    ]
    root = (await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "root"}))["id"]
    gone = (
        await a.ok(
            "POST", f"/channels/{text}/messages", owner, json={"content": "secret words", "thread_id": root}
        )
    )["id"]
    await a.ok("PATCH", f"/channels/{text}/messages/{gone}", owner, json={"content": "more secret words"})
    post = (
        await a.ok("POST", f"/channels/{forum}/posts", owner, json={"title": "t", "body": "secret post"})
    )["id"]
    top = (await a.ok("POST", f"/posts/{post}/comments", owner, json={"body": "secret comment"}))["id"]
    child = (await a.ok("POST", f"/posts/{post}/comments", owner, json={"body": "kid", "parent_id": top}))[
        "id"
    ]
    doomed_post = (await a.ok("POST", f"/channels/{forum}/posts", owner, json={"title": "bye", "body": "x"}))[
        "id"
    ]
    await b.session(a)  # b holds every payload; c has none of this yet
    held = await _creates(a, {gone, top, doomed_post})
    assert all(content is not None for evs in held.values() for *_, content in evs)

    await a.ok("DELETE", f"/channels/{text}/messages/{gone}", owner)
    await a.ok("DELETE", f"/comments/{top}", owner)
    await a.ok("DELETE", f"/posts/{doomed_post}", owner)
    # on a: the payloads of the creates and the edit are gone, remembered as erased
    for target, evs in held.items():
        for eid, *_ in evs:
            assert await a.count("SELECT count(*) FROM event_content WHERE event_id = ?", eid) == 0, target
            assert await a.count("SELECT count(*) FROM erased_content WHERE event_id = ?", eid) == 1
    assert await a.count("SELECT count(*) FROM content_edits WHERE target_id = ?", gone) == 0

    await mesh([a, b, c])
    # b had the text and erased it on the delete; c only ever received skeletons
    for f in (b, c):
        for evs in held.values():
            for eid, *_ in evs:
                assert await f.count("SELECT count(*) FROM event_content WHERE event_id = ?", eid) == 0
                assert await f.count("SELECT count(*) FROM events WHERE id = ?", eid) == 1  # skeleton stays
    assert await b.count("SELECT count(*) FROM erased_content") >= 4
    assert await a.state(cid) == await b.state(cid) == await c.state(cid)
    rows = await _rows(a, cid)
    assert await _rows(b, cid) == rows and await _rows(c, cid) == rows
    # the tombstones are there on c, in place (the comment keeps its post and its child)
    msg = await c.node.db.fetchone(
        "SELECT deleted, content, channel_id FROM content_messages WHERE id = ?", (gone,)
    )
    assert tuple(msg) == (1, "", text)
    com = await c.node.db.fetchone("SELECT deleted, body, post_id FROM content_comments WHERE id = ?", (top,))
    assert tuple(com) == (1, "", post)
    kid = await c.node.db.fetchone("SELECT parent_id, deleted FROM content_comments WHERE id = ?", (child,))
    assert tuple(kid) == (top, 0)
    assert await c.count("SELECT count(*) FROM content_messages WHERE content LIKE '%secret%'") == 0
    assert await c.count("SELECT count(*) FROM content_comments WHERE body LIKE '%secret%'") == 0
    thread = await c.node.db.fetchone("SELECT thread_count FROM content_messages WHERE id = ?", (root,))
    assert thread[0] == 0

    # a stale copy offering the erased payloads again: stored nothing, taken nowhere
    stale = [WireEvent(body, sig, bytes(content)) for evs in held.values() for _, body, sig, content in evs]
    out = await ingest.receive(b.node, a.key, Batch(scope=cid, events=stale))
    assert out.stored == 0 and out.rejected == []
    for ev in stale:
        eid = hashlib.sha256(ev.body).digest()
        assert await b.count("SELECT count(*) FROM event_content WHERE event_id = ?", eid) == 0
    assert await a.state(cid) == await b.state(cid)


async def test_delete_arriving_before_the_create_still_erases(federation) -> None:
    """c gets the delete from a, then the create with its payload from b (which had not seen the
    delete yet): the payload is erased on arrival, and the row is the tombstone."""
    a, b, c = await federation(3, pin=False)
    for x in (a, b, c):
        for y in (a, b, c):
            if x is not y:
                await x.pin(y)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await b.session(a), await c.session(a)
    mid = (await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "soon gone"}))["id"]
    await b.session(a)  # b has the create with its payload
    await a.ok("DELETE", f"/channels/{text}/messages/{mid}", owner)
    # c: only the delete (as a's batch after its vector would carry the erased create as a skeleton,
    # hand c the delete alone first)
    rows = await a.node.db.fetchall(
        "SELECT e.body, e.sig, cc.content FROM events e LEFT JOIN event_content cc ON cc.event_id = e.id"
        " WHERE e.kind = 'message.delete' AND e.community = ?",
        (cid,),
    )
    (delete,) = [WireEvent(bytes(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]
    certs = await vectors.certs(a.node.db, [a.node.identity.origin])
    out = await ingest.receive(c.node, a.key, Batch(scope=cid, events=[delete], certs=certs))
    assert out.stored == 1
    await c.session(b)  # the create, with its payload, from b
    create_id = await c.node.db.fetchval("SELECT event_id FROM content_sources WHERE target_id = ?", (mid,))
    assert create_id is not None
    assert await c.count("SELECT count(*) FROM event_content WHERE event_id = ?", create_id) == 0
    await mesh([a, b, c])
    assert await a.state(cid) == await b.state(cid) == await c.state(cid)
