"""A payload is dropped only by a signed erasure: a pinned peer that relays a third node's genuine
event with its payload stripped (a valid skeleton: the body and signature are the origin's) leaves
the receiver owing that payload, and the genuine copy fills it in when it arrives, by a plain
session or by reconciliation."""

from __future__ import annotations

import asyncio
import json

from cryb_node.events import Event
from cryb_node.sync import peers, reconcile
from cryb_node.sync.transport import PeerClient
from cryb_node.sync.wire import USERS_SCOPE, Batch, LogCert, PushReply, WireEvent
from tests.conftest import run_cryb
from tests.search.conftest import found, indexed
from tests.sync.conftest import Fed, User, make_community
from tests.users_fixtures import PASSWORD


async def _world(federation) -> tuple[Fed, Fed, Fed, str, str, User, bytes]:
    """c hosts a community and posts "genuine"; a (the rogue peer) holds it whole; b has the
    community and a local member but not yet the message. Returns (a, b, c, community, channel,
    b's member, c's log origin)."""
    a, b, c = await federation(3)
    owner = await c.user()
    cid, text = await make_community(c, owner)
    await a.session(c)
    await b.session(c)
    viewer = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", viewer, json={})
    await c.ok("POST", f"/channels/{text}/messages", owner, json={"content": "genuine zebracorn"})
    await a.session(c)
    return a, b, c, cid, text, viewer, c.node.identity.origin


async def _push_stripped(a: Fed, b: Fed, cid: str, origin: bytes, *, claim_coverage: bool) -> PushReply:
    """a pushes c's message.create to b over the federation route, signed by a's node key, with
    the payload left out (content None, the body's content_hash still set)."""
    return await _push_stripped_kind(a, b, cid, origin, "message.create", claim_coverage=claim_coverage)


async def _push_stripped_kind(
    a: Fed, b: Fed, cid: str, origin: bytes, kind: str, *, claim_coverage: bool = True
) -> PushReply:
    """a pushes c's latest event of ``kind`` to b, stripped (see _push_stripped)."""
    raw, sig, seq = await a.node.db.fetchone(
        "SELECT body, sig, seq FROM events WHERE kind = ? AND origin = ? ORDER BY seq DESC LIMIT 1",
        (kind, origin),
    )
    cert = await a.node.db.fetchone("SELECT origin, node_key, cert FROM log_keys WHERE origin = ?", (origin,))
    theirs = await b.node.db.fetchval(
        "SELECT seq FROM sync_vectors WHERE scope = ? AND origin = ?", (cid, origin), default=0
    )
    claim = {origin.hex(): seq} if claim_coverage else {}
    batch = Batch(
        scope=cid,
        events=[WireEvent(bytes(raw), bytes(sig), None)],
        certs=[LogCert(bytes(cert[0]), bytes(cert[1]), bytes(cert[2]))],
        after={origin.hex(): theirs} if claim_coverage else {},
        covered=claim,
    )
    peer = await peers.get(a.node.db, b.key)
    assert peer is not None
    return await PeerClient(a.sync.engine.session_http, a.node.identity.node_key, peer, a.node.clock).call(
        "push", batch, PushReply
    )


async def _shown(b: Fed, text: str, viewer: User) -> list[str]:
    page = await b.ok("GET", f"/channels/{text}/messages?limit=100", viewer)
    return [m["content"] for m in page["messages"]]


async def _verify(b: Fed, cid: str, tmp_path) -> dict:
    """`cryb sync verify c COMMUNITY --json` run against b's data dir (b compares with c)."""
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n[plugins]\nextra = ["tests.demo_plugin:plugin"]\n')
    res = await asyncio.to_thread(
        run_cryb, "--config", str(toml), "--data", str(b.node.data_dir), "sync", "verify", "c", cid, "--json"
    )
    assert res.returncode in (0, 1), res.stderr
    (row,) = json.loads(res.stdout)
    return row


async def test_reconcile_repairs_a_payload_a_peer_stripped(federation, tmp_path) -> None:
    a, b, c, cid, text, viewer, origin = await _world(federation)
    reply = await _push_stripped(a, b, cid, origin, claim_coverage=True)
    assert reply.stored == 1
    assert await _shown(b, text, viewer) == []
    before = await _verify(b, cid, tmp_path)
    assert not before["same"] and "content.messages" in before["differing"]

    # b's vector now covers the message: a plain session brings nothing; reconciliation must
    await b.session(c)
    assert await _shown(b, text, viewer) == []
    seen: list[Event] = []
    unlisten = b.node.bus.listen(lambda evs: seen.extend(e for e in evs if e.kind == "message.create"))
    try:
        report = await b.session(c, reconcile=True)
    finally:
        unlisten()
    assert report.repaired == 1
    assert await _shown(b, text, viewer) == ["genuine zebracorn"]
    assert [e.payload.content for e in seen] == ["genuine zebracorn"]  # realtime, search, notifications
    after = await _verify(b, cid, tmp_path)
    assert after["same"], after
    assert after["local_events"] == after["peer_events"]
    # the durable consumers saw it too: b's search index finds the text
    await indexed(b.client)
    shown = await b.ok("GET", f"/channels/{text}/messages", viewer)
    hits = await found(b.client, viewer, "zebracorn")
    assert [h["id"] for h in hits["results"]] == [m["id"] for m in shown["messages"]], hits
    # and nothing is owed any more: another reconciliation has nothing to fetch
    assert (await b.session(c, reconcile=True)).repaired == 0


async def test_the_genuine_copy_arriving_later_fills_the_skeleton(federation, tmp_path) -> None:
    a, b, c, cid, text, viewer, origin = await _world(federation)
    reply = await _push_stripped(a, b, cid, origin, claim_coverage=False)
    assert reply.stored == 1
    assert await _shown(b, text, viewer) == []
    # the rogue peer sends it stripped again: still a skeleton, still owed
    await _push_stripped(a, b, cid, origin, claim_coverage=False)
    assert await _shown(b, text, viewer) == []
    report = await b.session(c)  # the origin's copy, whole: a "duplicate" that fills the skeleton
    assert report.pulled == 1
    assert await _shown(b, text, viewer) == ["genuine zebracorn"]
    assert (await _verify(b, cid, tmp_path))["same"]


async def test_a_skeleton_its_authors_erasure_covers_is_not_owed(federation) -> None:
    """The signed erasure case: c's author edits and deletes a message, and c's account holder
    erases their account, before b syncs. b receives the skeletons and the erasures; it owes no
    payload, so its reconciliation ranges equal c's (nothing fetched again, session after session)."""
    b, c = await federation(2)
    owner = await c.user()
    cid, text = await make_community(c, owner)
    author = await c.user()
    await c.ok("PUT", f"/communities/{cid}/members/@me", author, json={})
    mid = (await c.ok("POST", f"/channels/{text}/messages", author, json={"content": "oops"}))["id"]
    await c.ok("PATCH", f"/channels/{text}/messages/{mid}", author, json={"content": "oops again"})
    await c.ok("DELETE", f"/channels/{text}/messages/{mid}", author)
    leaver = await c.user()
    await c.ok("DELETE", "/users/@me", leaver, json={"password": PASSWORD})
    await b.session(c)
    skeletons = await b.count(
        "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_content c"
        " WHERE c.event_id = e.id) AND e.kind IN ('message.create', 'message.edit', 'user.created')"
    )
    assert skeletons == 3
    for scope in (cid, USERS_SCOPE):
        assert await reconcile.items(b.node.db, scope) == await reconcile.items(c.node.db, scope), scope
    report = await b.session(c, reconcile=True)
    assert report.repaired == 0 and report.pushed == 0


async def test_a_stripped_ban_filled_later_refolds_governance_and_purges(federation, tmp_path) -> None:
    """A governance event stripped by the rogue peer, filled after a later governance event was
    folded: the community is rebuilt with it, and its delete window hides what it covers."""
    a, b, c = await federation(3)
    owner = await c.user()
    cid, text = await make_community(c, owner)
    await b.session(c)
    spammer = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", spammer, json={})
    await b.ok("POST", f"/channels/{text}/messages", spammer, json={"content": "buy now"})
    await c.session(b)
    await c.ok("PUT", f"/communities/{cid}/bans/{spammer.id}", owner,
               json={"reason": "spam", "delete_message_seconds": 3600})  # fmt: skip
    await a.session(c)
    await _push_stripped_kind(a, b, cid, c.node.identity.origin, "member.ban")
    await c.ok("POST", f"/communities/{cid}/roles", owner, json={"name": "later"})
    await b.session(c)  # the role (after the ban) is folded; the ban is still a skeleton
    assert await b.count(
        "SELECT count(*) FROM community_roles WHERE community_id = ? AND name = 'later'", cid
    )
    assert not await b.count("SELECT count(*) FROM community_bans WHERE user_id = ?", spammer.id)
    assert not (await _verify(b, cid, tmp_path))["same"]

    assert (await b.session(c, reconcile=True)).repaired == 1
    assert await b.count("SELECT count(*) FROM community_bans WHERE user_id = ?", spammer.id) == 1
    assert await b.count(
        "SELECT count(*) FROM content_messages WHERE author_id = ? AND purged = 1", spammer.id
    )
    assert (await _verify(b, cid, tmp_path))["same"]
