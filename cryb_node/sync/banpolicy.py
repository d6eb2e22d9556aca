"""What a node ban does to events: this node's LocalPolicy (cryb_node/refusals.py) and the hiding
and restoring of what a banned user or node wrote before the ban changed.

Only what they write is refused (HIDDEN): messages, posts, comments, their edits, reactions, votes
and DMs they open. Governance (joins, roles, channels, bans) and profiles stay applied: the shared
rule book decides everyone's events against the governance state, so refusing a banned moderator's
channel here would refuse other people's messages in it and leave this node disagreeing with every
other on verdicts, not only on what it shows. An author's delete of their own content is not
refused either (it erases, which is what a ban wants anyway).

A refusal here is recorded like the rule book's (event_refusals, code ``node_banned``), so every
path that keeps refused events out of the projections (a verdict decided again after late
governance, a community's content rebuilt) keeps these out too; CommunityAuthority asks this policy
whenever it decides an event again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from cryb_node.db import Connection
from cryb_node.events import Event, EventLog, decode_row
from cryb_node.refusals import Refusal, refused
from cryb_node.refusals import clear as clear_refusal
from cryb_node.refusals import record as record_refusal

if TYPE_CHECKING:
    from cryb_node.events import Registry

log = logging.getLogger(__name__)

CODE = "node_banned"
HIDDEN = frozenset({
    "message.create", "message.edit", "post.create", "post.edit", "comment.create", "comment.edit",
    "reaction.add", "vote.set", "dm.create",
})  # fmt: skip
_MARKS = ",".join("?" * len(HIDDEN))
# A user ban matches the author; a node ban the node whose certified log signed the event (its own
# users' events, and anything else it signs, however the event reached us).
_MATCH = (
    "SELECT kind FROM sync_node_bans WHERE user_id = ?1"
    " OR node_key = (SELECT node_key FROM log_keys WHERE origin = ?2) ORDER BY kind DESC LIMIT 1"
)
_SELECT = "SELECT e.pos, e.id, e.body, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"


class NodeBanPolicy:
    """The sync plugin's LocalPolicy: refuses HIDDEN events of banned users and nodes."""

    def decide(self, conn: Connection, ev: Event) -> Refusal | None:
        b = ev.body
        if b.kind not in HIDDEN:
            return None
        row = conn.execute(_MATCH, (b.author, b.origin)).fetchone()
        if row is None:
            return None
        if row["kind"] == "user":
            return Refusal(CODE, "the author is banned on this node")
        return Refusal(CODE, "the node that signed it is banned on this node")


def _origins(conn: Connection, node_keys: list[bytes]) -> list[bytes]:
    marks = ",".join("?" * len(node_keys))
    return [
        bytes(r["origin"])
        for r in conn.execute(f"SELECT origin FROM log_keys WHERE node_key IN ({marks})", node_keys)
    ]


def _user_homes(conn: Connection, user_id: str) -> list[bytes]:
    """Every node whose logs may have authored the user's events: its home, and homes it left."""
    rows = conn.execute(
        "SELECT node_key FROM sync_user_homes WHERE user_id = ?1"
        " UNION SELECT from_key FROM sync_user_moves WHERE user_id = ?1",
        (user_id,),
    )
    return [bytes(r["node_key"]) for r in rows]


def hide(
    conn: Connection,
    registry: Registry,
    *,
    at: int,
    user_id: str | None = None,
    node_key: bytes | None = None,
) -> tuple[int, set[str]]:
    """After a ban was added at ``at`` (the node's clock; writer thread): refuse what this node holds
    of the banned user or node and withdraw it from the projections of each community it is in.
    Returns (events refused, their authors). DMs already delivered stay: their projections cannot be
    withdrawn one conversation at a time, and their recipients already read them (new ones are
    refused)."""
    policy = registry.local_policy
    assert policy is not None
    keys = [node_key] if node_key is not None else _user_homes(conn, user_id or "")
    origins = _origins(conn, keys) if keys else []
    if not origins:
        return 0, set()
    rows = conn.execute(
        f"{_SELECT} WHERE e.origin IN ({','.join('?' * len(origins))}) AND e.kind IN ({_MARKS})"
        " AND e.community IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM event_refusals r WHERE r.event_id = e.id)",
        (*origins, *HIDDEN),
    ).fetchall()
    communities: set[str] = set()
    authors: set[str] = set()
    n = 0
    for row in rows:
        ev = decode_row(registry, row)
        if user_id is not None and ev.body.author != user_id:
            continue
        refusal = policy.decide(conn, ev)
        if refusal is None:
            continue
        record_refusal(conn, ev, refusal, at=at)
        communities.add(ev.body.community or "")
        if ev.body.author:
            authors.add(ev.body.author)
        n += 1
    authority = registry.authority
    for cid in sorted(communities):
        if authority is not None:
            authority.redecide(conn, cid)
    log.info("node ban: refused %d held events in %d communities", n, len(communities))
    return n, authors


def release(conn: Connection, events: EventLog) -> tuple[int, set[str]]:
    """After a ban was removed (writer thread): every ``node_banned`` refusal no remaining ban
    explains is decided again, at its place, by the rule book, and what it allows is applied again
    (community content rebuilt; DMs applied in (hlc, id) order). Returns (events now applied, their
    authors)."""
    registry = events.registry
    policy = registry.local_policy
    assert policy is not None
    rows = conn.execute(
        f"{_SELECT} JOIN event_refusals r ON r.event_id = e.id WHERE r.code = ? ORDER BY e.hlc, e.id", (CODE,)
    ).fetchall()
    freed = [ev for ev in (decode_row(registry, row) for row in rows) if policy.decide(conn, ev) is None]
    for ev in freed:
        clear_refusal(conn, ev.id)
    authority = registry.authority
    communities = sorted({ev.body.community for ev in freed if ev.body.community is not None})
    for cid in communities:
        if authority is not None:
            authority.redecide(conn, cid)
    for ev in freed:
        if ev.body.community is not None and authority is not None:
            continue
        refusal = events.verdict(conn, ev)
        if refusal is not None:
            record_refusal(conn, ev, refusal, at=int(events.wall.time()))
            continue
        _apply(registry, conn, ev)
    shown = [ev for ev in freed if not refused(conn, ev.id)]
    log.info("node ban removed: %d of %d events applied again", len(shown), len(freed))
    return len(shown), {ev.body.author for ev in shown if ev.body.author}


def _apply(registry: Registry, conn: Connection, ev: Event) -> None:
    et = registry.get(ev.body.kind)
    if et is None:
        return
    if ev.payload is None and ev.body.content_hash is not None:
        return  # its skeleton projection ran when it was refused: nothing more to show
    if et.apply is not None:
        et.apply(conn, ev)
