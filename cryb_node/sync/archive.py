"""Moving between nodes: a community or an account as a signed archive of its events.

An archive holds the events' exact signed bytes (body, sig, content), the certificates of the
log keys that signed them, and a manifest signed by the exporting node's identity key that lists
every event id in order and which events carry their content. Import trusts nothing in it: the
manifest signature, every certificate, every event signature and content hash, the manifest's
list against the events present, and each origin's chain (prev links, seq and hlc order) are all
checked before anything is written; then the events go through the same path as a peer's batch
(ingest.write_batch: author homes, node-admin claims, forks, EventLog.ingest), one transaction per
batch. Profiles first, so authors are known before what they author.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import msgspec
import nacl.exceptions
import nacl.signing

from cryb_node.db import Connection
from cryb_node.events import EventBody, InvalidEvent
from cryb_node.identity import verify_log_cert

from . import ingest
from .vectors import scope_of
from .wire import USERS_SCOPE, Batch, LogCert, WireEvent

if TYPE_CHECKING:
    from cryb_node.node import Node

MAGIC = b"CRYB-ARCHIVE/1\n"
MANIFEST_DOMAIN = b"cryb-archive-manifest-v1:"
BATCH = 1000  # events per import transaction


class ArchiveError(ValueError):
    """The archive is unreadable or fails a check; nothing was imported."""


class Manifest(msgspec.Struct, kw_only=True):
    format: str  # "cryb-archive/1"
    subject: str  # "community" | "account"
    subject_id: str
    node_key: bytes  # the exporting node's identity key; it signs this manifest
    node_name: str
    created_at: int
    events: list[bytes]  # every event id, in archive order
    erased: list[bytes]  # ids of events whose content is absent (erased or never held)


class Archive(msgspec.Struct, kw_only=True):
    manifest: bytes  # msgpack(Manifest), exactly as signed
    manifest_sig: bytes
    certs: list[LogCert]
    events: list[WireEvent]


_enc = msgspec.msgpack.Encoder().encode


@dataclass
class ImportReport:
    subject: str
    subject_id: str
    exported_by: str  # node key hex
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    forks: int = 0


# -- export -------------------------------------------------------------------------------------

_SELECT = "SELECT e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
_ORDER = " ORDER BY e.hlc, e.origin, e.seq"
_decode_body = msgspec.msgpack.Decoder(EventBody).decode


class Held(NamedTuple):
    """A stored event as the archive takes it: its signed bytes and its decoded body."""

    body: bytes
    sig: bytes
    content: bytes | None
    parsed: EventBody


def _rows(conn: Connection, where: str, params: tuple = ()) -> list[Held]:
    return [
        Held(bytes(r["body"]), bytes(r["sig"]), _bytes_or_none(r["content"]), _decode_body(r["body"]))
        for r in conn.execute(f"{_SELECT} WHERE {where}{_ORDER}", params)
    ]


def _bytes_or_none(value: bytes | None) -> bytes | None:
    return bytes(value) if value is not None else None


def _profiles(conn: Connection, users: set[str]) -> list[Held]:
    """The profile events (user.*, no community) of these users: their homes, names, erasure."""
    rows = _rows(conn, "e.community IS NULL AND e.kind LIKE 'user.%'")
    return [r for r in rows if r.parsed.target in users]


def _community_rows(conn: Connection, community: str) -> list[Held]:
    rows = _rows(conn, "e.community = ?", (community,))
    if not any(r.parsed.kind == "community.create" for r in rows):
        raise ArchiveError(f"this node holds no community {community}")
    people = {r.parsed.author for r in rows if r.parsed.author}
    people |= {r.parsed.target for r in rows if r.parsed.target}
    return _profiles(conn, people) + rows


def _account_rows(conn: Connection, user: str) -> list[Held]:
    """The account's profile events and everything it authored in communities (DMs stay put)."""
    profile = _profiles(conn, {user})
    if not any(r.parsed.kind == "user.created" for r in profile):
        raise ArchiveError(f"this node holds no account {user}")
    authored = [r for r in _rows(conn, "e.community IS NOT NULL") if r.parsed.author == user]
    return profile + authored


def build(node: Node, conn: Connection, subject: str, subject_id: str) -> bytes:
    """The archive's bytes (run in a reader or writer thread: one consistent snapshot)."""
    rows = _community_rows(conn, subject_id) if subject == "community" else _account_rows(conn, subject_id)
    origins = sorted({r.parsed.origin for r in rows})
    marks = ",".join("?" * len(origins))
    certs = [
        LogCert(bytes(c["origin"]), bytes(c["node_key"]), bytes(c["cert"]))
        for c in conn.execute(
            f"SELECT origin, node_key, cert FROM log_keys WHERE origin IN ({marks})", origins
        )
    ]
    events = [WireEvent(r.body, r.sig, r.content) for r in rows]
    manifest = Manifest(
        format="cryb-archive/1",
        subject=subject,
        subject_id=subject_id,
        node_key=node.identity.node_public,
        node_name=node.config.node.name,
        created_at=int(node.clock.time()),
        events=[hashlib.sha256(e.body).digest() for e in events],
        erased=[
            hashlib.sha256(e.body).digest() for e, r in zip(events, rows, strict=True)
            if e.content is None and r.parsed.content_hash is not None
        ],
    )  # fmt: skip
    raw = _enc(manifest)
    sig = node.identity.node_key.sign(MANIFEST_DOMAIN + raw).signature
    return MAGIC + _enc(Archive(manifest=raw, manifest_sig=sig, certs=certs, events=events))


async def export(node: Node, subject: str, subject_id: str) -> bytes:
    if subject not in ("community", "account"):
        raise ArchiveError(f"cannot export a {subject!r} (community or account)")
    # in the writer: one snapshot, and a skeleton cannot be half-erased while we read it
    return await node.db.write(lambda conn: build(node, conn, subject, subject_id))


# -- import -------------------------------------------------------------------------------------


def _short(b: bytes) -> str:
    return b.hex()[:16]


def check(data: bytes) -> tuple[Manifest, Archive, list[EventBody]]:
    """Every check on an archive (CPU-bound; run in a worker thread). Raises ArchiveError."""
    if not data.startswith(MAGIC):
        raise ArchiveError("not a CRYB archive (bad header)")
    try:
        arc = msgspec.msgpack.decode(data[len(MAGIC) :], type=Archive)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as err:
        raise ArchiveError(f"the archive is corrupt: {err}") from None
    try:
        man = msgspec.msgpack.decode(arc.manifest, type=Manifest)
        nacl.signing.VerifyKey(man.node_key).verify(MANIFEST_DOMAIN + arc.manifest, arc.manifest_sig)
    except (msgspec.DecodeError, msgspec.ValidationError, nacl.exceptions.BadSignatureError, ValueError):
        raise ArchiveError("the manifest's signature does not verify (manifest altered)") from None
    if man.format != "cryb-archive/1":
        raise ArchiveError(f"unsupported archive format {man.format!r}")
    certified: dict[bytes, bytes] = {}
    for c in arc.certs:
        if not verify_log_cert(c.node_key, c.origin, c.cert):
            raise ArchiveError(f"the certificate of log key {_short(c.origin)} does not verify")
        certified[c.origin] = c.node_key
    bodies: list[EventBody] = []
    ids: list[bytes] = []
    for i, ev in enumerate(arc.events):
        eid = hashlib.sha256(ev.body).digest()
        try:
            body = ingest.check_one(ev)
        except InvalidEvent as err:
            raise ArchiveError(f"event #{i} ({_short(eid)}) is invalid: {err}") from None
        if body.origin not in certified:
            raise ArchiveError(f"event #{i} ({_short(eid)}): its log key has no certificate in the archive")
        bodies.append(body)
        ids.append(eid)
    listed, present = set(man.events), set(ids)
    for eid in man.events:
        if eid not in present:
            raise ArchiveError(f"event {_short(eid)} listed in the manifest is missing from the archive")
    for eid in ids:
        if eid not in listed:
            raise ArchiveError(f"event {_short(eid)} is not listed in the manifest")
    if ids != man.events:
        raise ArchiveError("the events are not in the manifest's order (duplicated or reordered)")
    erased = set(man.erased)
    for ev, body, eid in zip(arc.events, bodies, ids, strict=True):
        withheld = ev.content is None and body.content_hash is not None
        if withheld != (eid in erased):
            what = "missing" if withheld else "present although the manifest says erased"
            raise ArchiveError(f"the content of event {_short(eid)} is {what}")
    _check_chains(bodies, ids)
    return man, arc, bodies


def _check_chains(bodies: list[EventBody], ids: list[bytes]) -> None:
    """Per origin: one event per seq, consecutive events linked by prev, hlc rising with seq."""
    by_origin: dict[bytes, dict[int, tuple[bytes, EventBody]]] = {}
    for body, eid in zip(bodies, ids, strict=True):
        seen = by_origin.setdefault(body.origin, {})
        if body.seq in seen:
            raise ArchiveError(f"two events at seq {body.seq} of log {_short(body.origin)} (a fork)")
        seen[body.seq] = (eid, body)
    for origin, seqs in by_origin.items():
        order = sorted(seqs)
        for lo, hi in itertools.pairwise(order):
            (lo_id, lo_b), (_, hi_b) = seqs[lo], seqs[hi]
            if hi_b.hlc <= lo_b.hlc:
                raise ArchiveError(f"log {_short(origin)}: hlc does not rise from seq {lo} to {hi}")
            if hi == lo + 1 and hi_b.prev != lo_id:
                raise ArchiveError(f"log {_short(origin)}: seq {hi} does not follow seq {lo} (broken chain)")


async def import_archive(node: Node, data: bytes, *, batch: int = BATCH) -> ImportReport:
    """Verify the whole archive, then store its events in batches (one transaction each)."""
    man, arc, bodies = await asyncio.to_thread(check, data)
    report = ImportReport(man.subject, man.subject_id, man.node_key.hex(), events=len(arc.events))
    # profiles first (authors' homes), then each scope's events in archive (hlc) order
    scoped: dict[str, list[tuple[EventBody, WireEvent]]] = {}
    for body, ev in zip(bodies, arc.events, strict=True):
        scope = scope_of(body.community, body.kind)
        if scope is None:
            eid = hashlib.sha256(ev.body).digest()
            raise ArchiveError(f"event {_short(eid)} is node-local ({body.kind})")
        scoped.setdefault(scope, []).append((body, ev))
    order = sorted(scoped, key=lambda s: (s != USERS_SCOPE, s))
    for scope in order:
        items = scoped[scope]
        for i in range(0, len(items), batch):
            chunk = items[i : i + batch]
            b = Batch(scope=scope, events=[ev for _, ev in chunk], certs=arc.certs)
            checked: list[EventBody | InvalidEvent] = [body for body, _ in chunk]
            out = await node.db.write(
                functools.partial(ingest.write_batch, node, peer=man.node_key, batch=b, checked=checked)
            )
            report.stored += out.stored
            report.duplicates += out.duplicates
            report.rejected += out.rejected
            report.forks += out.forks
    return report
