"""Receiving a batch: bulk signature checks off the event loop, then one write transaction that
checks each event's origin certificate, scope and author, stores it through the event log's
projection path (EventLog.ingest), records forks as evidence, and advances the vectors only as far
as every event was stored.

Rejected events are logged and never applied; a gap they leave keeps the vector back, so the
same events are asked for again (and the peer that keeps sending bad ones is backed off).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.db import Connection
from cryb_node.events import Event, EventBody, ForkDetected, IngestBatch, InvalidEvent, verify
from cryb_node.identity import verify_log_cert

from . import refused as refused_events
from . import vectors
from .homes import community_home, current_home, home_left_after
from .wire import Batch, SyncSettings, WireEvent

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024
MAX_CONTENT = 256 * 1024
MAX_GOV_DEPS = 16


@dataclass
class Outcome:
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (event id hex, reason)
    forks: int = 0
    refused: int = 0  # stored as evidence, never projected (the rule book refused them)
    flagged: bool = False  # the sending peer keeps sending refused events: the batch was turned away

    @property
    def clean(self) -> bool:
        return not self.rejected and not self.forks


def check_one(ev: WireEvent) -> EventBody:
    if len(ev.body) > MAX_BODY or (ev.content is not None and len(ev.content) > MAX_CONTENT):
        raise InvalidEvent("event larger than the limits")
    body = verify(ev.body, ev.sig, ev.content)
    if len(body.gov_deps) > MAX_GOV_DEPS:
        raise InvalidEvent("too many gov_deps")
    return body


def check_signatures(events: list[WireEvent]) -> list[EventBody | InvalidEvent]:
    """Verify a batch (in a worker thread): each event's body, or why it is invalid."""
    out: list[EventBody | InvalidEvent] = []
    for ev in events:
        try:
            out.append(check_one(ev))
        except InvalidEvent as err:
            out.append(err)
    return out


async def receive(node: Node, peer: bytes, batch: Batch) -> Outcome:
    return await store(node, peer, batch, await asyncio.to_thread(check_signatures, batch.events))


async def store(node: Node, peer: bytes, batch: Batch, checked: list[EventBody | InvalidEvent]) -> Outcome:
    """Write a batch whose signatures ``check_signatures`` checked (in a transaction of its own)."""
    return await node.db.write(lambda conn: write_batch(node, conn, peer, batch, checked), alone=True)


def write_batch(
    node: Node, conn: Connection, peer: bytes, batch: Batch, checked: list[EventBody | InvalidEvent]
) -> Outcome:
    out = Outcome()
    settings = node.settings("sync") or SyncSettings()
    now = node.clock.time()
    if refused_events.recent(conn, peer, settings.refused_window_s, now) >= settings.refused_limit:
        # A peer whose log keeps carrying forged events: nothing more from it until the count falls.
        for ev in batch.events:
            out.rejected.append((hashlib.sha256(ev.body).hexdigest(), "peer is flagged for refused events"))
        out.flagged = True
        return out
    certified = _store_certs(conn, batch, int(now))
    # per origin, the lowest seq we could not store: the vector stops below it
    stuck: dict[bytes, int] = {}
    items = [(b, ev) for b, ev in zip(checked, batch.events, strict=True)]
    published: list[Event] = []

    def reject(ev: WireEvent, body: EventBody | None, reason: str) -> None:
        eid = hashlib.sha256(ev.body).hexdigest()
        out.rejected.append((eid, reason))
        log.warning(
            "rejected event %s from peer %s: %s", eid[:16], peer.hex()[:16], reason,
            extra={"fields": {"event_id": eid, "peer": peer.hex(), "reason": reason}},
        )  # fmt: skip
        if body is not None:
            stuck[body.origin] = min(stuck.get(body.origin, body.seq), body.seq)

    # (hlc, origin, seq): causal for honest origins, so users exist before what they author
    good = sorted(
        ((b, ev) for b, ev in items if isinstance(b, EventBody)),
        key=lambda p: (p[0].hlc, p[0].origin, p[0].seq),
    )
    for b, ev in items:
        if isinstance(b, InvalidEvent):
            reject(ev, None, str(b))
            # an unreadable body cannot be placed in its origin's log: trust nothing of this batch
            # beyond what was stored.
            stuck[b""] = 0
    ids = [hashlib.sha256(ev.body).digest() for _, ev in good]
    known = IngestBatch(conn, ids)
    # authors whose home is the signing node for every later event of this batch (hlc order), until
    # an account event changes homes
    homed: dict[str, bytes] = {}
    for (body, ev), event_id in zip(good, ids, strict=True):
        if known.held(event_id, ev.content is not None):
            out.duplicates += 1  # stored already, and this copy adds nothing (no missing payload)
            continue
        try:
            if vectors.scope_of(body.community, body.kind) != batch.scope:
                raise InvalidEvent(f"event is not in scope {batch.scope}")
            node_key = certified.get(body.origin) or _node_of(conn, body.origin)
            if node_key is None:
                raise InvalidEvent("origin log key has no certificate")
            author = body.author
            if author is not None and homed.get(author) != node_key and _check_author(conn, node_key, body):
                homed[author] = node_key
            _check_admin_claim(node, conn, node_key, body, ev)
            stored = node.events.ingest(conn, ev.body, ev.sig, ev.content, body, published, known)
            if stored is None:
                out.duplicates += 1
                continue
            out.stored += 1
            out.refused += stored.refused is not None
            if stored.refused is None and body.kind.startswith("user."):
                homed.clear()
                if body.kind == "user.created" and body.target:
                    conn.execute(
                        "INSERT OR IGNORE INTO sync_user_homes (user_id, node_key) VALUES (?, ?)",
                        (body.target, node_key),
                    )
        except ForkDetected as fork:
            out.forks += 1
            _record_fork(conn, peer, body, ev, fork.existing, int(now))
            reject(ev, body, str(fork))
        except InvalidEvent as err:
            reject(ev, body, str(err))
    node.events.publish_ingested(published)
    if b"" not in stuck:
        for origin_hex, upto in batch.covered.items():
            origin = bytes.fromhex(origin_hex)
            if origin in stuck:
                upto = min(upto, stuck[origin] - 1)
            vectors.advance(conn, batch.scope, origin, batch.after.get(origin_hex, 0), upto)
    return out


def _store_certs(conn: Connection, batch: Batch, now: int) -> dict[bytes, bytes]:
    ok: dict[bytes, bytes] = {}
    for c in batch.certs:
        if verify_log_cert(c.node_key, c.origin, c.cert):
            conn.execute(
                "INSERT OR IGNORE INTO log_keys (origin, node_key, cert, created_at) VALUES (?, ?, ?, ?)",
                (c.origin, c.node_key, c.cert, now),
            )
            ok[c.origin] = c.node_key
    return ok


def _node_of(conn: Connection, origin: bytes) -> bytes | None:
    row = conn.execute("SELECT node_key FROM log_keys WHERE origin = ?", (origin,)).fetchone()
    return bytes(row["node_key"]) if row else None


def home_of(conn: Connection, user_id: str) -> bytes | None:
    row = conn.execute("SELECT node_key FROM sync_user_homes WHERE user_id = ?", (user_id,)).fetchone()
    return bytes(row["node_key"]) if row else None


def _check_author(conn: Connection, node_key: bytes, body: EventBody) -> bool:
    """A user's events come only from logs certified by the user's home node at the event's position.

    True when that home is the account's home now and no move of it lies at or after the event:
    then the answer holds for its later events (in hlc order) until an account event changes homes.
    """
    assert body.author is not None
    left = home_left_after(conn, body.author, body.hlc)
    home = left if left is not None else current_home(conn, body.author)
    if home is None and body.kind == "user.created" and body.target == body.author:
        return False  # the account's first event names its home: the node whose log created it
    if home is None:
        raise InvalidEvent(f"author {body.author} is not known here yet")
    if home != node_key:
        if conn.execute(
            "SELECT 1 FROM sync_user_moves WHERE user_id = ? AND from_key = ?", (body.author, node_key)
        ).fetchone():
            return False  # a home the account moved away from: stored, and the rule book refuses it
        raise InvalidEvent(f"author {body.author} is not homed on the origin's node")
    return left is None


def _check_admin_claim(node: Node, conn: Connection, node_key: bytes, body: EventBody, ev: WireEvent) -> None:
    """A payload acting with node-admin authority (governance ``as_admin``, or a content
    moderation at ``rank`` 3, which outranks every moderator) only counts from the node that
    created the community: another node's admins are not this community's."""
    if body.community is None or ev.content is None:
        return
    try:
        payload: Any = node.registry.decode_payload(body.kind, ev.content)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as err:
        raise InvalidEvent(f"payload does not decode as {body.kind}: {err}") from None
    node_admin = getattr(payload, "as_admin", False) is True or (
        body.kind == "content.moderate" and isinstance(getattr(payload, "rank", 0), int) and payload.rank >= 3
    )
    if not node_admin:
        return
    if community_home(conn, body.community, body.hlc) != node_key:
        raise InvalidEvent("node-admin authority claimed by a node that does not host the community")


def _record_fork(
    conn: Connection, peer: bytes, body: EventBody, ev: WireEvent, existing: bytes, now: int
) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO sync_forks (origin, seq, existing_id, event_id, body, sig, peer, detected_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            body.origin,
            body.seq,
            existing,
            hashlib.sha256(ev.body).digest(),
            ev.body,
            ev.sig,
            peer,
            now,
        ),
    )
    log.error(
        "fork: origin %s seq %d has two events (evidence kept in sync_forks)",
        body.origin.hex()[:16],
        body.seq,
    )
