"""Federation fuzzing (hypothesis): events a peer could send — validly signed but with arbitrary
payloads for every registered kind, or with bytes flipped anywhere — are either stored or refused
with InvalidEvent. No other exception escapes ingest, and the node's projections stay consistent."""

from __future__ import annotations

import asyncio
import hashlib
import time

import msgspec
import nacl.signing
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cryb_node.events import DOMAIN, EventBody, InvalidEvent
from cryb_node.identity import CERT_DOMAIN
from cryb_node.node import Node
from tests.conftest import make_config

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _strategy(t: msgspec.inspect.Type) -> st.SearchStrategy:
    """Values of a payload field's type (from msgspec's type info), so payloads decode and reach
    the projections; ids come from a small pool so events refer to each other."""
    mi = msgspec.inspect
    ids = st.sampled_from(["01m8community000000000000000", "01m8channel0000000000000000", "01m8x", "👍"])
    match t:
        case mi.StrType():
            return ids | st.text(max_size=t.max_length or 40)
        case mi.BoolType():
            return st.booleans()
        case mi.IntType():
            return st.integers(t.ge if t.ge is not None else -5, t.le if t.le is not None else 10**6)
        case mi.FloatType():
            return st.floats(allow_nan=False, allow_infinity=False)
        case mi.BytesType():
            return st.binary(max_size=16)
        case mi.NoneType():
            return st.none()
        case mi.LiteralType():
            return st.sampled_from(t.values)
        case mi.UnionType():
            return st.one_of(*(_strategy(x) for x in t.types))
        case mi.ListType() | mi.SetType() | mi.FrozenSetType():
            return st.lists(_strategy(t.item_type), max_size=3)
        case mi.DictType():
            return st.dictionaries(_strategy(t.key_type), _strategy(t.value_type), max_size=3)
        case mi.StructType():
            return st.fixed_dictionaries({f.encode_name: _strategy(f.type) for f in t.fields})
    return values


class Peer:
    """A foreign node's certified log key, signing whatever it likes."""

    def __init__(self) -> None:
        self.node_key = nacl.signing.SigningKey.generate()
        self.log_key = nacl.signing.SigningKey.generate()
        self.origin = bytes(self.log_key.verify_key)
        self.seq = 0
        self.prev: bytes | None = None

    def cert_row(self) -> tuple:
        cert = self.node_key.sign(CERT_DOMAIN + self.origin).signature
        return (self.origin, bytes(self.node_key.verify_key), cert, int(time.time()))

    def event(self, kind: str, payload: object, community: str | None) -> tuple[bytes, bytes, bytes]:
        self.seq += 1
        content = msgspec.msgpack.encode(payload)
        hlc = (int(time.time() * 1000) << 16) + self.seq
        author, target = "01m8remoteuser00000000000000", "01m8target0000000000000000"
        body = EventBody(1, community, self.origin, self.seq, self.prev, hlc, author, kind, target, [],
                         hashlib.sha256(content).digest())  # fmt: skip
        raw = msgspec.msgpack.encode(body)
        self.prev = hashlib.sha256(raw).digest()
        return raw, self.log_key.sign(DOMAIN + raw).signature, content


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    loop = asyncio.new_event_loop()
    node = Node(make_config(tmp_path_factory.mktemp("evfuzz") / "data"))
    ctx = node.running(background=False)
    loop.run_until_complete(ctx.__aenter__())
    peer = Peer()
    _certify(loop, node, peer)
    yield loop, node, peer
    loop.run_until_complete(ctx.__aexit__(None, None, None))
    loop.close()


def _certify(loop, node: Node, peer: Peer) -> None:
    sql = "INSERT INTO log_keys (origin, node_key, cert, created_at) VALUES (?, ?, ?, ?)"
    loop.run_until_complete(node.db.write(lambda c: c.execute(sql, peer.cert_row())))


def _ingest(loop, node: Node, raw: bytes, sig: bytes, content: bytes | None) -> str:
    def job(conn) -> str:
        try:
            return "stored" if node.events.ingest(conn, raw, sig, content) is not None else "duplicate"
        except InvalidEvent:
            return "refused"

    return loop.run_until_complete(node.db.write(job))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_signed_events_with_arbitrary_payloads_are_stored_or_refused(world, data):
    loop, node, peer = world
    kind = data.draw(st.sampled_from(node.registry.kinds()))
    et = node.registry.get(kind)
    info = msgspec.inspect.type_info(et.payload)
    typed = data.draw(st.booleans())  # half the time well-typed (reaches projections), else anything
    fields = {
        f.encode_name: data.draw(_strategy(f.type) if typed else values)
        for f in info.fields
        if typed or data.draw(st.booleans())
    }
    community = data.draw(st.sampled_from([None, "01m8community000000000000000"]))
    before = (peer.seq, peer.prev)
    outcome = _ingest(loop, node, *peer.event(kind, fields, community))
    event(f"{kind}: {outcome}")
    assert outcome in ("stored", "refused")
    if outcome == "refused":
        peer.seq, peer.prev = before  # a refused event leaves the peer's log as it was


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(part=st.sampled_from(["body", "sig", "content"]), at=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(world, part, at, bit):
    loop, node, _ = world
    peer = Peer()  # a fresh log: the flipped copy is the first event this node sees from it
    _certify(loop, node, peer)
    raw, sig, content = peer.event("user.profile", {"display_name": "x"}, None)
    parts = {"body": bytearray(raw), "sig": bytearray(sig), "content": bytearray(content)}
    target = parts[part]
    target[at % len(target)] ^= 1 << bit
    assert (
        _ingest(loop, node, bytes(parts["body"]), bytes(parts["sig"]), bytes(parts["content"])) == "refused"
    )
    assert _ingest(loop, node, raw, sig, content) in ("stored", "refused")  # the genuine one is unaffected
