"""Account erasure reaches what the account wrote: erasing an account appends its own delete for
every message, post and comment it authored (the mechanism of an author's delete), so on every node
the payloads of the creates and edits are erased, the signed skeletons stay, the search index drops
them, a stale copy offering them again is refused, and the state hashes converge."""

from __future__ import annotations

import hashlib

import msgspec

from cryb_node.events import EventBody
from cryb_node.sync import ingest
from cryb_node.sync.wire import DMS_SCOPE, Batch, WireEvent
from tests.search.conftest import found, indexed
from tests.sync.conftest import Fed, make_community, mesh
from tests.users_fixtures import PASSWORD

SECRET = "zebracorn"  # one word, so the search index tokenises it whole


async def _tables_holding(f: Fed, needle: str) -> list[str]:
    """Every table (and column) of the node's SQLite database whose text or blob holds ``needle``."""
    hits = []
    tables = [r[0] for r in await f.node.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for t in tables:
        if t == "search_queries":
            continue  # what readers typed into search (the test's own query), not what alice wrote
        cols = [r[1] for r in await f.node.db.fetchall(f"PRAGMA table_info('{t}')")]
        for c in cols:
            n = await f.node.db.fetchval(
                f'SELECT count(*) FROM "{t}" WHERE instr(CAST("{c}" AS BLOB), CAST(? AS BLOB)) > 0',
                (needle,),
            )
            if n:
                hits.append(f"{t}.{c}")
    return hits


async def test_erasing_an_account_erases_what_it_wrote_on_every_node(federation) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    forum = (await a.ok("POST", f"/communities/{cid}/channels", owner, json={"name": "f", "kind": "forum"}))[
        "id"
    ]
    alice = await a.user()
    await a.ok("PUT", f"/communities/{cid}/members/@me", alice, json={})
    m1 = (await a.ok("POST", f"/channels/{text}/messages", alice, json={"content": f"first {SECRET}"}))["id"]
    await a.ok("PATCH", f"/channels/{text}/messages/{m1}", alice, json={"content": f"edited {SECRET}"})
    gone = (await a.ok("POST", f"/channels/{text}/messages", alice, json={"content": f"gone {SECRET}"}))["id"]
    await a.ok("DELETE", f"/channels/{text}/messages/{gone}", alice)  # deleted before: not deleted twice
    post = (
        await a.ok("POST", f"/channels/{forum}/posts", alice, json={"title": f"t {SECRET}", "body": SECRET})
    )["id"]
    top = (await a.ok("POST", f"/posts/{post}/comments", owner, json={"body": "owner's comment"}))["id"]
    reply = (
        await a.ok("POST", f"/posts/{post}/comments", alice, json={"body": f"re {SECRET}", "parent_id": top})
    )["id"]
    kept = (await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "owner stays"}))["id"]
    bob = await b.user()  # a DM to a user of b reaches b (and only b) through bob's home
    await mesh([a, b, c], rounds=1)
    dm = await a.ok("POST", "/dms", alice, json={"recipients": [bob.id]})
    await a.ok("POST", f"/channels/{dm['id']}/messages", alice, json={"content": f"psst {SECRET}"})
    await mesh([a, b, c], rounds=1)
    assert [m["content"] for m in (await b.ok("GET", f"/channels/{dm['id']}/messages", bob))["messages"]] == [
        f"psst {SECRET}"
    ]
    for f in (a, b, c):
        assert await _tables_holding(f, SECRET), f.name  # everyone held the text
    await indexed(a.client)
    assert (await found(a.client, owner, SECRET))["results"]  # findable before
    payloads = await _payloads(a, alice.id)
    held = {eid: [f for f in (a, b, c) if await f.count("SELECT count(*) FROM events WHERE id = ?", eid)]
            for eid in payloads}  # fmt: skip
    assert [len(fs) for fs in held.values()].count(2) == 1  # the DM: only a and b

    # erase the account (wrong password first: nothing happens)
    status, _ = await a.call("DELETE", "/users/@me", alice, json={"password": "not it at all"})
    assert status in (400, 401, 403) and await _tables_holding(a, SECRET)
    await a.ok("DELETE", "/users/@me", alice, json={"password": PASSWORD})
    deletes = await a.count(
        "SELECT count(*) FROM events WHERE kind IN ('message.delete', 'post.delete', 'comment.delete')"
    )
    assert deletes == 1 + 4  # the earlier delete, then one each for m1, the DM, the post and the reply
    await mesh([a, b, c], rounds=2)

    for f in (a, b, c):
        assert await _tables_holding(f, SECRET) == [], f.name
        # the skeletons stay, the payloads are remembered as erased
        for eid in payloads:
            assert await f.count("SELECT count(*) FROM events WHERE id = ?", eid) == (f in held[eid])
            assert await f.count("SELECT count(*) FROM event_content WHERE event_id = ?", eid) == 0
        row = await f.node.db.fetchone("SELECT deleted, content FROM content_messages WHERE id = ?", (m1,))
        assert tuple(row) == (1, "")
        row = await f.node.db.fetchone("SELECT deleted, title, body FROM content_posts WHERE id = ?", (post,))
        assert tuple(row) == (1, "[deleted]", "")
        row = await f.node.db.fetchone(
            "SELECT deleted, parent_id FROM content_comments WHERE id = ?", (reply,)
        )
        assert tuple(row) == (1, top)
        # others' content is untouched
        assert await f.count("SELECT count(*) FROM content_messages WHERE id = ? AND deleted = 0", kept) == 1
        assert await f.count("SELECT count(*) FROM content_comments WHERE id = ? AND deleted = 0", top) == 1
    assert await a.state(cid) == await b.state(cid) == await c.state(cid)

    # the search index of every node has dropped it
    for f in (a, b, c):
        await indexed(f.client)
        reader = owner if f is a else await f.user()
        assert (await found(f.client, reader, SECRET))["results"] == [], f.name

    # a stale copy offering the erased payloads again is stored nowhere
    stale = [WireEvent(body, sig, content) for body, sig, content in payloads.values()]
    in_dm = [ev for ev in stale if msgspec.msgpack.decode(ev.body, type=EventBody).community is None]
    assert len(in_dm) == 1
    for f, scope, evs in ((c, cid, [ev for ev in stale if ev not in in_dm]), (b, DMS_SCOPE, in_dm)):
        out = await ingest.receive(f.node, a.key, Batch(scope=scope, events=evs))
        assert out.stored == 0 and out.rejected == [] and out.duplicates == len(evs)
        assert await _tables_holding(f, SECRET) == []
    assert await a.state(cid) == await c.state(cid)


async def _payloads(f: Fed, user_id: str) -> dict[bytes, tuple[bytes, bytes, bytes]]:
    """event id -> (body, sig, content) of the user's creates and edits that still hold a payload."""
    rows = await f.node.db.fetchall(
        "SELECT e.id, e.body, e.sig, c.content FROM events e JOIN event_content c ON c.event_id = e.id"
        " WHERE e.kind IN ('message.create', 'message.edit', 'post.create', 'comment.create')"
    )
    out = {
        bytes(r[0]): (bytes(r[1]), bytes(r[2]), bytes(r[3]))
        for r in rows
        if msgspec.msgpack.decode(bytes(r[1]), type=EventBody).author == user_id
    }
    assert len(out) == 5  # a message and its edit, a DM, a post, a comment (the deleted one is erased)
    for eid, (body, _, _) in out.items():
        assert hashlib.sha256(body).digest() == eid
    return out
