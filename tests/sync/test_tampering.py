"""Events that are not what their origin signed are rejected, never shown; forks become evidence."""

from __future__ import annotations

import hashlib

import msgspec
import nacl.signing

from cryb_node.events import DOMAIN, EventBody
from cryb_node.identity import CERT_DOMAIN
from cryb_node.sync import ingest
from cryb_node.sync.wire import Batch, LogCert, WireEvent
from tests.sync.conftest import make_community

_enc = msgspec.msgpack.Encoder().encode


async def _setup(federation):
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await b.session(a)
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "genuine"})
    row = await a.node.db.fetchone(
        "SELECT e.body, e.sig, c.content, e.origin, e.seq FROM events e"
        " JOIN event_content c ON c.event_id = e.id"
        " WHERE e.kind = 'message.create' ORDER BY e.pos DESC LIMIT 1"
    )
    raw, sig, content = bytes(row[0]), bytes(row[1]), bytes(row[2])
    return a, b, owner, cid, text, raw, sig, content


async def _send(a, b, cid: str, *events: WireEvent, certs=()) -> ingest.Outcome:
    cert = await a.node.db.fetchone(
        "SELECT origin, node_key, cert FROM log_keys WHERE origin = ?", (a.node.identity.origin,)
    )
    batch = Batch(
        scope=cid,
        events=list(events),
        certs=[LogCert(bytes(cert[0]), bytes(cert[1]), bytes(cert[2])), *certs],
    )
    return await ingest.receive(b.node, a.key, batch)


async def _shown(fed, text: str, owner) -> list[str]:
    got = await fed.ok("GET", f"/channels/{text}/messages?limit=100", owner)
    return [m["content"] for m in got["messages"]]


async def test_flipped_payload_byte_is_rejected_and_never_shown(federation) -> None:
    a, b, _owner, cid, text, raw, sig, content = await _setup(federation)
    bad_content = content.replace(b"genuine", b"genuinE")
    out = await _send(a, b, cid, WireEvent(raw, sig, bad_content))
    assert out.stored == 0 and "content_hash" in out.rejected[0][1]
    flipped = bytearray(raw)
    flipped[-40] ^= 1
    out = await _send(a, b, cid, WireEvent(bytes(flipped), sig, content))
    assert out.stored == 0 and out.rejected
    assert await b.count("SELECT count(*) FROM events WHERE id = ?", hashlib.sha256(raw).digest()) == 0
    await b.session(a)  # the genuine one still arrives
    viewer = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", viewer, json={})
    assert "genuine" in await _shown(b, text, viewer) and "genuinE" not in await _shown(b, text, viewer)
    assert await b.count("SELECT count(*) FROM event_content WHERE content = ?", bad_content) == 0


async def test_wrong_key_is_rejected(federation) -> None:
    a, b, _, cid, _, raw, _, content = await _setup(federation)
    stranger = nacl.signing.SigningKey.generate()
    out = await _send(a, b, cid, WireEvent(raw, stranger.sign(DOMAIN + raw).signature, content))
    assert out.stored == 0 and "bad signature" in out.rejected[0][1]
    # a log key certified by a node key of its own, claiming a's user as author
    body = msgspec.msgpack.decode(raw, type=EventBody)
    forged_node = nacl.signing.SigningKey.generate()
    log_key = nacl.signing.SigningKey.generate()
    fb = msgspec.structs.replace(body, origin=bytes(log_key.verify_key), seq=1, prev=None)
    fraw = _enc(fb)
    cert = LogCert(bytes(log_key.verify_key), bytes(forged_node.verify_key),
                   forged_node.sign(CERT_DOMAIN + bytes(log_key.verify_key)).signature)  # fmt: skip
    out = await _send(
        a, b, cid, WireEvent(fraw, log_key.sign(DOMAIN + fraw).signature, content), certs=[cert]
    )
    assert out.stored == 0 and "not homed on the origin's node" in out.rejected[0][1]


async def test_replay_with_another_seq_is_rejected(federation) -> None:
    a, b, _, cid, _, raw, sig, content = await _setup(federation)
    body = msgspec.msgpack.decode(raw, type=EventBody)
    moved = _enc(msgspec.structs.replace(body, seq=body.seq + 100))
    out = await _send(a, b, cid, WireEvent(moved, sig, content))  # the old signature on new bytes
    assert out.stored == 0 and "bad signature" in out.rejected[0][1]


async def test_same_origin_and_seq_with_other_content_is_a_fork_kept_as_evidence(federation) -> None:
    a, b, _, cid, text, raw, _, content = await _setup(federation)
    await b.session(a)
    body = msgspec.msgpack.decode(raw, type=EventBody)
    evil = msgspec.msgpack.encode({**msgspec.msgpack.decode(content), "content": "forked!"})
    fb = msgspec.structs.replace(body, content_hash=hashlib.sha256(evil).digest())
    fraw = _enc(fb)
    fsig = a.node.identity.log_key.sign(DOMAIN + fraw).signature  # the origin's own key signed both
    out = await _send(a, b, cid, WireEvent(fraw, fsig, evil))
    assert out.forks == 1 and out.stored == 0
    row = await b.node.db.fetchone("SELECT origin, seq, existing_id, event_id FROM sync_forks")
    assert bytes(row[0]) == body.origin and row[1] == body.seq
    assert bytes(row[2]) == hashlib.sha256(raw).digest() and bytes(row[3]) == hashlib.sha256(fraw).digest()
    viewer = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", viewer, json={})
    shown = await _shown(b, text, viewer)
    assert "genuine" in shown and "forked!" not in shown
    assert await b.count("SELECT count(*) FROM event_content WHERE content = ?", evil) == 0


def _signed_by_a(a, body: EventBody, content: bytes, **changes) -> WireEvent:
    fb = msgspec.structs.replace(body, **changes)
    fraw = _enc(fb)
    return WireEvent(fraw, a.node.identity.log_key.sign(DOMAIN + fraw).signature, content)


async def test_clocks_out_of_order_past_the_stored_log_are_caught(federation) -> None:
    """Events appended past the last one b holds of the origin take the batch's fast path (no
    per-event neighbour queries): their clocks are still checked, against the events stored
    earlier in the same batch and against the stored log."""
    a, b, _owner, cid, _, raw, sig, content = await _setup(federation)
    body = msgspec.msgpack.decode(raw, type=EventBody)
    bad = "hlc does not increase with seq in its origin's log"

    def ev(step: int, clock: int, name: str) -> WireEvent:
        return _signed_by_a(a, body, content, seq=body.seq + step, hlc=body.hlc + clock, target=name)

    same_clock = ev(2, 5, "mforged02")  # past the tail of this batch, at its clock
    out = await _send(a, b, cid, WireEvent(raw, sig, content), ev(1, 5, "mforged01"), same_clock,
                      ev(3, 20, "mforged03"))  # fmt: skip
    assert (out.stored, [r for _, r in out.rejected]) == (3, [bad]), out
    assert out.rejected[0][0] == hashlib.sha256(same_clock.body).hexdigest()
    # a new batch: past the stored log's last event with an older clock; and the gap filled in
    out = await _send(a, b, cid, ev(4, 15, "mforged04"), ev(2, 10, "mforged22"))
    assert (out.stored, [r for _, r in out.rejected]) == (1, [bad]), out
    stored = await b.node.db.fetchall("SELECT id FROM content_messages WHERE id LIKE 'mforged%' ORDER BY id")
    assert [r[0] for r in stored] == ["mforged01", "mforged03", "mforged22"]


async def test_a_fork_and_a_repeat_within_one_batch(federation) -> None:
    a, b, _owner, cid, _, raw, sig, content = await _setup(federation)
    body = msgspec.msgpack.decode(raw, type=EventBody)
    one = _signed_by_a(a, body, content, seq=body.seq + 1, hlc=body.hlc + 5, target="mforged11")
    other = _signed_by_a(a, body, content, seq=body.seq + 1, hlc=body.hlc + 5, target="mforged12")
    out = await _send(a, b, cid, WireEvent(raw, sig, content), one, one, other)
    assert (out.stored, out.duplicates, out.forks) == (2, 1, 1), out
    row = await b.node.db.fetchone("SELECT seq, existing_id, event_id FROM sync_forks")
    assert row[0] == body.seq + 1
    assert (
        bytes(row[1]) == hashlib.sha256(one.body).digest()
        and bytes(row[2]) == hashlib.sha256(other.body).digest()
    )
