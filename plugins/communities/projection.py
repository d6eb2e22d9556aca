"""The governance projection: every community event folded into the community's rows
(governance.py decides and applies each), and the replay that rebuilds one community's rows from its
events in (hlc, id) order. The plugin registers its event types from here (__init__.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from cryb_node.db import Connection
from cryb_node.events import Event, EventBody, EventType

from .events import DECODERS, KINDS, PROJECTION_TABLES
from .governance import fold

log = logging.getLogger(__name__)
_decode_body = msgspec.msgpack.Decoder(EventBody).decode


def apply(conn: Connection, ev: Event) -> None:
    """The projection for every governance kind (runs in the writer, inside the append's transaction)."""
    cid = ev.body.community
    if cid is None:
        return
    head = conn.execute(
        "SELECT hlc, event_id FROM community_gov_head WHERE community_id = ?", (cid,)
    ).fetchone()
    if head is None or (ev.body.hlc, ev.id) > (head["hlc"], head["event_id"]):
        fold(conn, ev)
        conn.execute(
            "INSERT INTO community_gov_head (community_id, hlc, event_id) VALUES (?, ?, ?)"
            " ON CONFLICT (community_id) DO UPDATE SET hlc = excluded.hlc, event_id = excluded.event_id",
            (cid, ev.body.hlc, ev.id),
        )
    else:
        rebuild(conn, cid)


def rebuild(
    conn: Connection,
    community_id: str,
    *,
    until: tuple[int, bytes] | None = None,
    between: Callable[[tuple[int, bytes] | None], None] | None = None,
) -> int:
    """Replay one community's governance events in (hlc, id) order into fresh rows; returns the count.

    ``until``: stop before that place (the state an event there is decided against; the caller rolls
    the rows back). ``between(place)`` runs before each event is folded, and with None at the end: the
    authority decides content at its place as the replay passes it (verdicts.py).
    """
    conn.execute("DELETE FROM communities WHERE id = ?", (community_id,))
    for table in PROJECTION_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE community_id = ?", (community_id,))
    marks = ",".join("?" * len(KINDS))
    conn.execute(
        f"DELETE FROM event_refusals WHERE community = ? AND kind IN ({marks})", (community_id, *KINDS)
    )
    bound = "" if until is None else " AND (e.hlc, e.id) < (?, ?)"
    rows = conn.execute(
        "SELECT e.pos, e.id, e.body, c.content FROM events e"
        " LEFT JOIN event_content c ON c.event_id = e.id"
        f" WHERE e.community = ? AND e.kind IN ({marks}){bound} ORDER BY e.hlc, e.id",
        (community_id, *KINDS, *(until or ())),
    ).fetchall()
    last = None
    for pos, event_id, raw, content in rows:
        body = _decode_body(raw)
        payload = DECODERS[body.kind].decode(content) if content is not None else None
        ev = Event(pos=pos, id=event_id, body=body, payload=payload)
        if between is not None:
            between((body.hlc, event_id))
        fold(conn, ev)
        last = ev
    if between is not None:
        between(None)
    if until is not None:
        return len(rows)
    if last is None:
        conn.execute("DELETE FROM community_gov_head WHERE community_id = ?", (community_id,))
    else:
        conn.execute(
            "INSERT OR REPLACE INTO community_gov_head (community_id, hlc, event_id) VALUES (?, ?, ?)",
            (community_id, last.body.hlc, last.id),
        )
    log.info("rebuilt community %s from %d governance events", community_id, len(rows))
    return len(rows)


def event_types() -> list[EventType]:
    return [EventType(kind, payload, apply) for kind, payload in KINDS.items()]
