"""The event log: append, sign, apply projections, publish after commit.

body     = msgpack(EventBody)                     exact bytes stored and verified, never re-encoded
sig      = ed25519(log key, DOMAIN || body)
event_id = sha256(body)
content  = msgpack(payload), bound to the body by content_hash and erasable on its own
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import nacl.exceptions
import nacl.signing

from cryb_node.clock import HLC, Clock, ClockDrift
from cryb_node.db import Connection, Database, IntegrityError
from cryb_node.identity import Identity
from cryb_node.problems import Problem
from cryb_node.refusals import Authority, LocalPolicy, Refusal
from cryb_node.refusals import record as record_refusal

log = logging.getLogger(__name__)
T = TypeVar("T")

DOMAIN = b"cryb-event-v1:"
VERSION = 1
# Most events of other processes one catch-up loads (the poller asks again while more are left).
# A gap wider than this before our own events (a big `cryb import` beside the node): only its
# newest reach the tail and live listeners; consumers read the rest from disk as usual.
CATCH_UP_MAX = 1024


class EventBody(msgspec.Struct, array_like=True, frozen=True):
    v: int
    community: str | None
    origin: bytes
    seq: int
    prev: bytes | None
    hlc: int
    author: str | None
    kind: str
    target: str | None
    gov_deps: list[bytes]
    content_hash: bytes | None


_encode = msgspec.msgpack.Encoder().encode
_decode_body = msgspec.msgpack.Decoder(EventBody).decode


@dataclass(frozen=True, slots=True)
class Event:
    """An event as projections and subscribers see it."""

    pos: int
    id: bytes
    body: EventBody
    payload: Any  # the kind's payload Struct, raw builtins for unknown kinds, None when erased
    refused: Refusal | None = None  # stored, but the authority rules refused it: never projected
    # What a projection learned that the realtime dispatch of this same event needs (a new vote
    # tally, a DM's participants). On the event, not in a module-level table, so two nodes in one
    # process never see each other's; it lives as long as the event does.
    notes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def kind(self) -> str:
        return self.body.kind


Projection = Callable[[Connection, Event], None]
Authorize = Callable[[Connection, Event], Refusal | None]


@dataclass(frozen=True)
class EventType:
    """A kind of event a plugin defines: its payload type and how it changes the projections."""

    kind: str
    payload: type[msgspec.Struct]
    apply: Projection | None = None
    # Applied instead of ``apply`` when the event arrives without its content (erased at the
    # origin, or withheld): ``payload`` is None. Lets a projection give erased things the same
    # rows on every node, whether a node once held the content or never did.
    skeleton: Projection | None = None
    # The kind's own rule, for what needs no community state (say, a user name's validity): a
    # Refusal keeps the event from its projection, for a local write and a peer's event alike.
    authorize: Authorize | None = None


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}
        self._decoders: dict[str, msgspec.msgpack.Decoder[Any]] = {}
        # Decides community events at their position (the communities plugin provides it).
        self.authority: Authority | None = None
        # This node's own policy, asked after the rule book (node bans: the sync plugin provides it).
        self.local_policy: LocalPolicy | None = None
        # kind -> other plugins' projections of it (``also``), re-run when content is rebuilt
        self.extra: dict[str, list[Projection]] = {}

    def add(self, et: EventType) -> None:
        if et.kind in self._types:
            raise ValueError(f"event kind {et.kind!r} is registered twice")
        self._types[et.kind] = et
        self._decoders[et.kind] = msgspec.msgpack.Decoder(et.payload)

    def get(self, kind: str) -> EventType | None:
        return self._types.get(kind)

    def also(self, kind: str, projection: Projection) -> None:
        """Another plugin's projection of ``kind`` (into its own tables), run after the kind's own
        in the same transaction. A kind no loaded plugin defines is never stored: nothing to add."""
        et = self._types.get(kind)
        if et is None:
            return
        first = et.apply

        def both(conn: Connection, ev: Event) -> None:
            if first is not None:
                first(conn, ev)
            projection(conn, ev)

        self._types[kind] = dataclasses.replace(et, apply=both)
        self.extra.setdefault(kind, []).append(projection)

    def decode_payload(self, kind: str, content: bytes | None) -> Any:
        if content is None:
            return None
        dec = self._decoders.get(kind)
        return dec.decode(content) if dec else msgspec.msgpack.decode(content)

    def kinds(self) -> list[str]:
        return sorted(self._types)


class Tx:
    """One write transaction in the writer thread: plain SQL on ``conn`` plus event appends."""

    def __init__(self, conn: Connection, log_: EventLog) -> None:
        self.conn = conn
        self._log = log_
        self.events: list[Event] = []

    def append(
        self,
        kind: str,
        payload: msgspec.Struct | None = None,
        *,
        community: str | None = None,
        author: str | None = None,
        target: str | None = None,
        gov_deps: Iterable[bytes] = (),
    ) -> Event:
        ev = self._log._append(self.conn, kind, payload, community, author, target, list(gov_deps))
        self.events.append(ev)
        return ev


class InvalidEvent(ValueError):
    pass


class ForkDetected(InvalidEvent):
    """Another event already holds this (origin, seq): the origin's log has forked."""

    def __init__(self, existing: bytes) -> None:
        super().__init__("another event holds this origin and seq (fork)")
        self.existing = existing


class IngestBatch:
    """What ingesting one batch learns once instead of once per event (writer thread, one job).

    Made for a batch's event ids before the first is stored: which of them are stored already, which
    were erased here, and per origin the highest (seq, hlc) stored, kept as the batch's events are
    stored. An event past that tail has no stored event at or after its seq, so its fork and clock
    checks need no query. Only good for the job that made it: another write may change what it knows."""

    __slots__ = ("erased", "headless", "stored_ids", "tails")

    def __init__(self, conn: Connection, ids: list[bytes]) -> None:
        self.erased: set[bytes] = set()
        self.stored_ids: dict[bytes, bool] = {}  # stored event id -> its payload is stored too
        for i in range(0, len(ids), 500):  # under SQLite's bound-variable limit
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            self.erased.update(
                bytes(r["event_id"])
                for r in conn.execute(
                    f"SELECT event_id FROM erased_content WHERE event_id IN ({marks})", chunk
                )
            )
            self.stored_ids.update(
                (bytes(r["id"]), bool(r["payload"]))
                for r in conn.execute(
                    "SELECT e.id, EXISTS (SELECT 1 FROM event_content c WHERE c.event_id = e.id) AS payload"
                    f" FROM events e WHERE e.id IN ({marks})",
                    chunk,
                )
            )
        self.tails: dict[bytes, tuple[int, int] | None] = {}
        self.headless: set[bytes] = set()  # origins without a log head here (not an earlier log of ours)

    def held(self, event_id: bytes, with_content: bool) -> bool:
        """Stored already (as the batch began), with nothing a copy adds: a copy bringing the payload
        of an event held only as a skeleton (not erased here) goes on to EventLog.ingest, which
        fills it in."""
        if event_id not in self.stored_ids:
            return False
        return self.stored_ids[event_id] or event_id in self.erased or not with_content

    def tail(self, conn: Connection, origin: bytes) -> tuple[int, int] | None:
        """(seq, hlc) of the origin's highest stored event; None if none is stored."""
        if origin not in self.tails:
            row = conn.execute(
                "SELECT seq, hlc FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1", (origin,)
            ).fetchone()
            self.tails[origin] = (row["seq"], row["hlc"]) if row is not None else None
        return self.tails[origin]

    def stored(self, body: EventBody) -> None:
        tail = self.tails.get(body.origin)
        if body.origin in self.tails and (tail is None or body.seq > tail[0]):
            self.tails[body.origin] = (body.seq, body.hlc)


@dataclass
class EventLog:
    db: Database
    identity: Identity
    registry: Registry
    # The node's clock: event timestamps (through the HLC) and the times stored beside events.
    wall: Clock
    publish: Callable[[list[Event]], None] = lambda events: None
    clock: HLC = field(default_factory=HLC)
    length: int = 0  # highest pos; the bus reads it for lag
    # Set on an edge (cryb_node/scale/): its log is the primary's, applied from the stream; appending
    # one of its own would fork the primary's log (same keys), so every append is refused.
    read_only: str | None = None
    _pending: list[Event] = field(default_factory=list)

    async def open(self) -> None:
        ident = self.identity

        def setup(conn: Connection) -> tuple[int, int]:
            conn.execute(
                "INSERT OR IGNORE INTO log_keys (origin, node_key, cert, created_at) VALUES (?, ?, ?, ?)",
                (ident.origin, ident.node_public, ident.log_cert, int(self.wall.time())),
            )
            # The clock resumes after the newest timestamp any log head has (ours or a peer's).
            hlc = conn.execute("SELECT max(hlc) FROM log_heads").fetchone()[0] or 0
            pos = conn.execute("SELECT max(pos) FROM events").fetchone()[0] or 0
            return hlc, pos

        last, self.length = await self.db.write(setup)
        self.clock = HLC(last, now_ms=self.wall.time_ms)
        self.db.on_commit.append(self._after_commit)

    def _after_commit(self, ok: bool) -> None:
        pending, self._pending = self._pending, []
        # Each position is published once, in order (pending starts right after ``length``).
        fresh = [ev for ev in pending if ev.pos > self.length] if ok else []
        if fresh:
            self.length = fresh[-1].pos
            self.publish(fresh)

    @property
    def known(self) -> int:
        """The highest position published or about to be (written by this process, not yet
        published); anything committed past it was written by another process (event loop)."""
        pending = self._pending
        return max(self.length, pending[-1].pos if pending else 0)

    async def catch_up(self) -> int:
        """Publish events other processes (a `cryb` CLI command) committed since the last ones
        published; how many. Runs as a write job: no other writer commits meanwhile, and every
        commit of ours before it is published, so what lies past ``length`` is theirs."""

        def job(conn: Connection) -> int:
            if self._pending:
                return 0  # an earlier job of this group wrote events: _queue published theirs first
            theirs = self._load_after(conn, self.length, None)
            self._pending.extend(theirs)
            return len(theirs)

        return await self.db.write(job)

    def _queue(self, conn: Connection, events: list[Event]) -> None:
        """Queue events this job stored for publishing after the commit (writer thread). The first
        of a group (or the first after a catch-up cut short) may come after events another process
        committed: those go first, so the bus sees every position once and in order."""
        if events:
            self._pending.extend(self._unpublished_before(conn, events[0].pos, self._pending))
        self._pending.extend(events)

    async def transaction(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn(tx)`` in one write transaction; its events are published once it commits."""

        def job(conn: Connection) -> T:
            tx = Tx(conn, self)
            result = fn(tx)
            self._queue(conn, tx.events)
            return result

        return await self.db.write(job)

    async def append(self, kind: str, payload: msgspec.Struct | None = None, **kw: Any) -> Event:
        return await self.transaction(lambda tx: tx.append(kind, payload, **kw))

    # -- in the writer thread -----------------------------------------------------------------

    def _append(
        self,
        conn: Connection,
        kind: str,
        payload: msgspec.Struct | None,
        community: str | None,
        author: str | None,
        target: str | None,
        gov_deps: list[bytes],
    ) -> Event:
        if self.read_only is not None:
            raise Problem("edge_read_only", 503, self.read_only)
        et = self.registry.get(kind)
        if et is None:
            raise ValueError(f"unknown event kind {kind!r}")
        if payload is not None and not isinstance(payload, et.payload):
            raise TypeError(f"{kind} takes a {et.payload.__name__} payload")
        origin = self.identity.origin
        head = conn.execute("SELECT seq, event_id FROM log_heads WHERE origin = ?", (origin,)).fetchone()
        seq, prev = (head["seq"] + 1, head["event_id"]) if head else (1, None)
        content = _encode(payload) if payload is not None else None
        hlc = self.clock.tick()
        body = EventBody(
            v=VERSION,
            community=community,
            origin=origin,
            seq=seq,
            prev=prev,
            hlc=hlc,
            author=author,
            kind=kind,
            target=target,
            gov_deps=gov_deps,
            content_hash=hashlib.sha256(content).digest() if content is not None else None,
        )
        raw = _encode(body)
        sig = self.identity.log_key.sign(DOMAIN + raw).signature
        event_id = hashlib.sha256(raw).digest()
        conn.execute(
            "INSERT OR REPLACE INTO log_heads (origin, seq, event_id, hlc) VALUES (?, ?, ?, ?)",
            (origin, seq, event_id, hlc),
        )
        ev = self._store(conn, event_id, body, raw, sig, content, payload)
        assert ev is not None
        if ev.refused is not None:
            # The route's own checks passed but the rule book did not: the same answer a peer gets.
            raise Problem(ev.refused.code, 403, ev.refused.detail)
        return ev

    def ingest(
        self,
        conn: Connection,
        raw: bytes,
        sig: bytes,
        content: bytes | None,
        body: EventBody | None = None,
        published: list[Event] | None = None,
        batch: IngestBatch | None = None,
    ) -> Event | None:
        """Store a remote event through the same projection path as local ones (in the writer).

        ``body`` is the already verified body when signatures were checked in bulk beforehand.
        Returns None for a duplicate (unless it brings the payload of a skeleton we hold:
        _fill_skeleton); raises InvalidEvent (ForkDetected for a second event at an (origin, seq)).
        The origin's certified log key must already be in log_keys. Stored events are appended to
        ``published`` (the caller hands them to the bus once its job succeeded). ``batch`` carries
        what this job already learned about the batch the event came in (IngestBatch).
        """
        if body is None:
            body = verify(raw, sig, content)
        if body.v != VERSION:
            raise InvalidEvent(f"unsupported event version {body.v}")
        event_id = hashlib.sha256(raw).digest()
        tail = batch.tail(conn, body.origin) if batch is not None else None
        if batch is not None and (tail is None or body.seq > tail[0]):
            # Past the origin's last stored event (how a catch-up arrives): nothing stored at this
            # seq or after it, and the tail is the nearest neighbour below.
            if body.origin == self.identity.origin:
                raise ForkDetected(b"")
            if tail is not None and body.hlc <= tail[1]:
                raise InvalidEvent("hlc does not increase with seq in its origin's log")
        else:
            if self._check_place(conn, event_id, body):
                return self._fill_skeleton(conn, event_id, body, content, published)
        try:
            self.clock.observe(body.hlc)
        except ClockDrift as err:
            raise InvalidEvent(str(err)) from None
        if content is not None and (
            event_id in batch.erased
            if batch is not None
            else conn.execute("SELECT 1 FROM erased_content WHERE event_id = ?", (event_id,)).fetchone()
        ):
            content = None  # erased here: never accepted again
        try:
            payload = self.registry.decode_payload(body.kind, content)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as err:
            raise InvalidEvent(f"payload does not decode as {body.kind}: {err}") from None
        # A peer's event whose projection breaks a constraint (say, a create reusing an id another
        # event created) is refused on its own, not allowed to fail the whole batch.
        conn.execute("SAVEPOINT ingest")
        try:
            if payload is None and body.content_hash is not None:
                # Erased or withheld content: keep the signed skeleton; projections need the payload.
                ev = self._store_skeleton(conn, event_id, body, raw, sig)
                if ev is not None:
                    ev = self.project(conn, ev)
            else:
                ev = self._store(conn, event_id, body, raw, sig, content, payload)
        except (IntegrityError, msgspec.ValidationError, msgspec.DecodeError) as err:
            # A projection could not take this peer's event; refuse it alone (the batch goes on).
            conn.execute("ROLLBACK TO ingest")
            conn.execute("RELEASE ingest")
            raise InvalidEvent(f"conflicts with stored state: {err}") from None
        conn.execute("RELEASE ingest")
        if ev is not None:
            if batch is not None:
                batch.stored(body)
            if batch is None:
                self._extend_head(conn, body.origin)
            elif body.origin not in batch.headless and not self._extend_head(conn, body.origin):
                batch.headless.add(body.origin)
            if published is not None:
                published.extend(self._unpublished_before(conn, ev.pos, published or self._pending))
                published.append(ev)
        return ev

    def _fill_skeleton(
        self,
        conn: Connection,
        event_id: bytes,
        body: EventBody,
        content: bytes | None,
        published: list[Event] | None,
    ) -> Event | None:
        """A duplicate that brings the payload we hold only the skeleton of (a peer stripped it, or
        withheld it once). Only a signed erasure (erased_content) may keep a payload out: store it,
        move the event to the end of the log (the bus's durable consumers see it as it now is) and
        apply its projection, as if it arrived only now; projections settle in any order. None if
        there is nothing to fill. ``content`` is verified against the body's content_hash."""
        if content is None or body.content_hash is None:
            return None
        held = conn.execute(
            "SELECT (SELECT 1 FROM event_content WHERE event_id = ?1)"
            " OR (SELECT 1 FROM erased_content WHERE event_id = ?1)",
            (event_id,),
        ).fetchone()[0]
        if held:
            return None
        try:
            payload = self.registry.decode_payload(body.kind, content)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as err:
            raise InvalidEvent(f"payload does not decode as {body.kind}: {err}") from None
        conn.execute("SAVEPOINT fill")
        try:
            pos = conn.execute("SELECT max(pos) + 1 FROM events").fetchone()[0]
            conn.execute("UPDATE events SET pos = ? WHERE id = ?", (pos, event_id))
            conn.execute("INSERT INTO event_content (event_id, content) VALUES (?, ?)", (event_id, content))
            ev = self.project(conn, Event(pos=pos, id=event_id, body=body, payload=payload))
        except (IntegrityError, msgspec.ValidationError, msgspec.DecodeError) as err:
            conn.execute("ROLLBACK TO fill")
            conn.execute("RELEASE fill")
            raise InvalidEvent(f"conflicts with stored state: {err}") from None
        conn.execute("RELEASE fill")
        if published is not None:
            published.append(ev)
        return ev

    def _check_place(self, conn: Connection, event_id: bytes, body: EventBody) -> bool:
        """Check an event's place in its origin's log against the stored events: True if this very
        event is stored already; raises ForkDetected for another event at its (origin, seq), and
        InvalidEvent if its clock does not fall between its stored neighbours'."""
        row = conn.execute(
            "SELECT id FROM events WHERE origin = ? AND seq = ?", (body.origin, body.seq)
        ).fetchone()
        if row is not None:
            if row["id"] == event_id:
                return True
            raise ForkDetected(row["id"])
        if body.origin == self.identity.origin:
            # We hold every event our own log key signed; one we lack is a second writer's.
            raise ForkDetected(b"")
        # Within an origin the clock strictly increases with seq (checked against stored neighbours).
        # Every stored event passed this check, so the nearest neighbour by seq holds the bound: one
        # step in the (origin, seq) index, where max(hlc) over seq < ? walked the origin's whole log.
        before = conn.execute(
            "SELECT hlc FROM events WHERE origin = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
            (body.origin, body.seq),
        ).fetchone()
        after = conn.execute(
            "SELECT hlc FROM events WHERE origin = ? AND seq > ? ORDER BY seq LIMIT 1",
            (body.origin, body.seq),
        ).fetchone()
        if (before is not None and body.hlc <= before["hlc"]) or (
            after is not None and body.hlc >= after["hlc"]
        ):
            raise InvalidEvent("hlc does not increase with seq in its origin's log")
        return False

    def _extend_head(self, conn: Connection, origin: bytes) -> bool:
        """An earlier log of ours (before a restore) coming back from peers: its head follows.
        False if the origin has no head here (not a log of ours)."""
        head = conn.execute("SELECT seq FROM log_heads WHERE origin = ?", (origin,)).fetchone()
        if head is None:
            return False
        seq = head["seq"]
        while True:
            row = conn.execute(
                "SELECT id, hlc FROM events WHERE origin = ? AND seq = ?", (origin, seq + 1)
            ).fetchone()
            if row is None:
                break
            seq += 1
            conn.execute(
                "UPDATE log_heads SET seq = ?, event_id = ?, hlc = ? WHERE origin = ?",
                (seq, row["id"], row["hlc"], origin),
            )
        return True

    def _unpublished_before(self, conn: Connection, pos: int, queued: list[Event]) -> list[Event]:
        """Events another process committed since the last publish (or the last of ``queued``),
        before ``pos`` (writer thread)."""
        last = queued[-1].pos if queued else self.length
        return self._load_after(conn, last, pos) if pos > last + 1 else []

    def _load_after(self, conn: Connection, after: int, before: int | None) -> list[Event]:
        """Stored events with ``after`` < pos < ``before``, in order: at most CATCH_UP_MAX, the
        first ones without ``before`` and the newest with it (writer thread)."""
        if before is None:
            sql = f"{SELECT_EVENTS} WHERE e.pos > ? ORDER BY e.pos LIMIT ?"
            args: tuple[int, ...] = (after, CATCH_UP_MAX)
        else:
            sql = f"{SELECT_EVENTS} WHERE e.pos > ? AND e.pos < ? ORDER BY e.pos DESC LIMIT ?"
            args = (after, before, CATCH_UP_MAX)
        rows = conn.execute(sql, args).fetchall()
        events = [decode_row(self.registry, r) for r in rows]
        return events if before is None else events[::-1]

    def publish_ingested(self, events: list[Event]) -> None:
        """Queue events a finished ingest job stored, for the bus after the commit (writer thread)."""
        self._pending.extend(events)

    def _insert(
        self, conn: Connection, event_id: bytes, body: EventBody, raw: bytes, sig: bytes
    ) -> int | None:
        """Insert the signed skeleton; its position, or None if the event was already stored."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO events (id, origin, seq, hlc, community, kind, body, sig, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_id,
                body.origin,
                body.seq,
                body.hlc,
                body.community,
                body.kind,
                raw,
                sig,
                int(self.wall.time()),
            ),
        )
        return cur.lastrowid if cur.rowcount else None

    def _store_skeleton(
        self, conn: Connection, event_id: bytes, body: EventBody, raw: bytes, sig: bytes
    ) -> Event | None:
        pos = self._insert(conn, event_id, body, raw, sig)
        return None if pos is None else Event(pos=pos, id=event_id, body=body, payload=None)

    def _store(
        self,
        conn: Connection,
        event_id: bytes,
        body: EventBody,
        raw: bytes,
        sig: bytes,
        content: bytes | None,
        payload: Any,
    ) -> Event | None:
        """Insert an event and apply its projection; None if it was already stored (idempotent)."""
        pos = self._insert(conn, event_id, body, raw, sig)
        if pos is None:
            return None
        if content is not None:
            conn.execute("INSERT INTO event_content (event_id, content) VALUES (?, ?)", (event_id, content))
        return self.project(conn, Event(pos=pos, id=event_id, body=body, payload=payload))

    def verdict(self, conn: Connection, ev: Event) -> Refusal | None:
        """The authority rules' answer for a stored event (the same for local and peers' events),
        then this node's own policy's (LocalPolicy: the same on this node for both)."""
        et = self.registry.get(ev.body.kind)
        if et is not None and et.authorize is not None:
            refusal = et.authorize(conn, ev)
            if refusal is not None:
                return refusal
        authority = self.registry.authority
        if authority is not None and ev.body.community is not None and authority.covers(ev.body.kind):
            refusal = authority.decide(conn, ev)
            if refusal is not None:
                return refusal
        # The rule book first: an event it refuses keeps that (shared) reason, not a local one.
        local = self.registry.local_policy
        return local.decide(conn, ev) if local is not None else None

    def project(self, conn: Connection, ev: Event) -> Event:
        """Apply a stored event's projection if the authority rules allow it; else record why not.

        An event without its payload (erased at the origin, or withheld) is decided on what its body
        says (the author's standing) and gets its kind's skeleton projection either way, as does a
        refused create: remembered, a tombstone once its author deletes it, so a node that held the
        text and one that never did end with the same rows."""
        refusal = self.verdict(conn, ev)
        et = self.registry.get(ev.body.kind)
        if refusal is not None:
            record_refusal(conn, ev, refusal, at=int(self.wall.time()))
            log.info(
                "refused %s %s: %s", ev.body.kind, ev.id.hex()[:16], refusal,
                extra={"fields": {"event_id": ev.id.hex(), "kind": ev.body.kind, "code": refusal.code}},
            )  # fmt: skip
            ev = Event(pos=ev.pos, id=ev.id, body=ev.body, payload=ev.payload, refused=refusal)
        if refusal is not None or (ev.payload is None and ev.body.content_hash is not None):
            if et is not None and et.skeleton is not None:
                et.skeleton(conn, ev)
            return ev
        if et is not None and et.apply is not None:
            et.apply(conn, ev)
        authority = self.registry.authority
        if authority is not None:
            authority.applied(conn, ev)
        return ev


def verify(raw: bytes, sig: bytes, content: bytes | None = None) -> EventBody:
    """Check an event's signature over its exact bytes (and its content hash). Raises InvalidEvent."""
    try:
        body = _decode_body(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:  # invalid UTF-8 in a str field
        raise InvalidEvent(f"body does not decode: {err}") from None
    try:
        nacl.signing.VerifyKey(body.origin).verify(DOMAIN + raw, sig)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise InvalidEvent("bad signature") from None
    if content is not None and hashlib.sha256(content).digest() != body.content_hash:
        raise InvalidEvent("content does not match content_hash")
    return body


def decode_row(registry: Registry, row: Any) -> Event:
    """An Event from a row with the columns pos, id, body and content, and also code and detail (the
    refusal's) when it was read with SELECT_EVENTS."""
    body = _decode_body(row["body"])
    code = row["code"] if len(row) > 4 else None
    return Event(
        pos=row["pos"],
        id=row["id"],
        body=body,
        payload=registry.decode_payload(body.kind, row["content"]),
        refused=Refusal(code, row["detail"]) if code is not None else None,
    )


SELECT_EVENTS = (
    "SELECT e.pos, e.id, e.body, c.content, r.code, r.detail FROM events e"
    " LEFT JOIN event_content c ON c.event_id = e.id LEFT JOIN event_refusals r ON r.event_id = e.id"
)
