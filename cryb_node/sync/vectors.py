"""Version vectors and batches: what a node holds per (scope, origin), and the events a peer lacks.

A scope is a community id, USERS_SCOPE for profiles, or DMS_SCOPE for direct messages. A vector
maps each origin (log key, hex) to the highest seq up to which this node holds every event of
that origin in that scope. For our own current log that is its head; for every other log it only
advances after a batch that continued from it was committed (gap-detecting: a batch that does not
start where we are does not move it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from cryb_node.db import Connection, Database

from .wire import DMS_SCOPE, USERS_SCOPE, Batch, LogCert, Vector, WireEvent

# (body, content) -> keep the event from this peer? (body None: only asks about the content's channel)
Withhold = Callable[[bytes | None, bytes | None], Awaitable[bool]]


def scope_where(scope: str, alias: str = "e") -> tuple[str, tuple[Any, ...]]:
    if scope == USERS_SCOPE:
        return f"{alias}.community IS NULL AND {alias}.kind LIKE 'user.%'", ()
    if scope == DMS_SCOPE:
        return (
            f"{alias}.community IS NULL AND ({alias}.kind = 'dm.create' OR {alias}.kind LIKE 'message.%'"
            f" OR {alias}.kind LIKE 'reaction.%')",
            (),
        )
    return f"{alias}.community = ?", (scope,)


def scope_of(community: str | None, kind: str) -> str | None:
    """The scope an event replicates in (None: it stays on this node, e.g. blocks)."""
    if community is not None:
        return community
    if kind.startswith("user."):
        return USERS_SCOPE
    if kind == "dm.create" or kind.startswith(("message.", "reaction.")):
        return DMS_SCOPE
    return None


FOLLOWS_SQL = (
    "SELECT community_id AS community FROM sync_follows UNION"
    " SELECT DISTINCT community FROM events WHERE community IS NOT NULL"
)


async def follows(db: Database) -> list[str]:
    return sorted(r["community"] for r in await db.fetchall(FOLLOWS_SQL))


def vector_sync(conn: Connection, scope: str, own_origin: bytes) -> Vector:
    vec = {
        bytes(r["origin"]).hex(): r["seq"]
        for r in conn.execute("SELECT origin, seq FROM sync_vectors WHERE scope = ?", (scope,))
    }
    head = conn.execute("SELECT seq FROM log_heads WHERE origin = ?", (own_origin,)).fetchone()
    if head:
        vec[own_origin.hex()] = head["seq"]
    return vec


async def vector(db: Database, scope: str, own_origin: bytes) -> Vector:
    vec = {
        bytes(r["origin"]).hex(): r["seq"]
        for r in await db.fetchall("SELECT origin, seq FROM sync_vectors WHERE scope = ?", (scope,))
    }
    head = await db.fetchval("SELECT seq FROM log_heads WHERE origin = ?", (own_origin,))
    if head:
        vec[own_origin.hex()] = head
    return vec


def advance(conn: Connection, scope: str, origin: bytes, after: int, upto: int) -> bool:
    """Move our vector for (scope, origin) to ``upto`` if a batch continuing from ``after`` covered it."""
    row = conn.execute(
        "SELECT seq FROM sync_vectors WHERE scope = ? AND origin = ?", (scope, origin)
    ).fetchone()
    mine = row["seq"] if row else 0
    if mine < after or upto <= mine:
        return False  # a gap between what we hold and where the batch starts, or nothing new
    conn.execute(
        "INSERT INTO sync_vectors (scope, origin, seq) VALUES (?, ?, ?)"
        " ON CONFLICT (scope, origin) DO UPDATE SET seq = excluded.seq",
        (scope, origin, upto),
    )
    return True


def after_batch(before: Vector, batch: Batch) -> Vector:
    """The vector ``advance`` leaves once every event of ``batch`` is stored, from ``before``."""
    out = dict(before)
    for origin, upto in batch.covered.items():
        mine = out.get(origin, 0)
        if batch.after.get(origin, 0) <= mine < upto:
            out[origin] = upto
    return out


async def certs(db: Database, origins: list[bytes]) -> list[LogCert]:
    if not origins:
        return []
    marks = ",".join("?" * len(origins))
    rows = await db.fetchall(
        f"SELECT origin, node_key, cert FROM log_keys WHERE origin IN ({marks})", origins
    )
    return [LogCert(bytes(r["origin"]), bytes(r["node_key"]), bytes(r["cert"])) for r in rows]


async def build_batch(
    db: Database,
    scope: str,
    mine: Vector,
    theirs: Vector,
    *,
    max_events: int,
    max_bytes: int,
    withhold: Withhold | None = None,
) -> Batch:
    """The events of ``scope`` we hold beyond ``theirs``, oldest first per origin, bounded in size."""
    where, params = scope_where(scope)
    out: list[WireEvent] = []
    covered: Vector = {}
    after: Vector = {}
    size = 0
    more = False
    for origin_hex, upto in sorted(mine.items()):
        start = theirs.get(origin_hex, 0)
        if upto <= start:
            continue
        if len(out) >= max_events or size >= max_bytes:
            more = True
            break
        origin = bytes.fromhex(origin_hex)
        limit = max_events - len(out)
        rows = await db.fetchall(
            "SELECT e.seq, e.body, e.sig, c.content FROM events e"
            " LEFT JOIN event_content c ON c.event_id = e.id"
            f" WHERE {where} AND e.origin = ? AND e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?",
            (*params, origin, start, upto, limit),
        )
        last = start
        cut = len(rows) == limit
        for r in rows:
            if size >= max_bytes and out:
                cut = True
                break
            last, body, content = r["seq"], bytes(r["body"]), r["content"]
            if withhold is not None and await withhold(body, content):
                continue
            ev = WireEvent(body, bytes(r["sig"]), bytes(content) if content is not None else None)
            out.append(ev)
            size += len(ev.body) + len(ev.sig) + len(ev.content or b"")
        if not cut:
            last = upto  # nothing else of this origin in scope up to our vector
        if last > start:
            covered[origin_hex] = last
            after[origin_hex] = start
        if cut:
            more = True
            break
    origins = sorted({msgspec.msgpack.decode(e.body)[2] for e in out})
    return Batch(
        scope=scope,
        events=out,
        certs=await certs(db, origins),
        after=after,
        covered=covered,
        more=more,
    )
