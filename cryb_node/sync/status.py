"""Each pinned peer and its sync state, as `cryb peer status` prints it and GET /api/v1/admin/peers
answers it: what the database recorded (any process can read it) plus, inside the serving node,
the live worker state (circuit breaker, consecutive failures, events exchanged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from . import peers, refused
from .wire import SyncSettings

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .engine import Engine


class PeerStatus(msgspec.Struct, kw_only=True):
    node_key: str  # hex
    fingerprint: str  # the first 16 hex digits, as `cryb peer list` shows them
    url: str
    name: str
    added_at: int
    state: str  # ok | failing | never synced
    last_ok_at: int | None  # last successful session (unix s)
    lag_s: int | None  # seconds since then (None: never synced)
    last_error: str | None
    forks_recorded: int  # fork evidence held by this node (all peers)
    refused_recent: int = 0  # events signed by this peer refused within the window (refused.py)
    flagged: bool = False  # so many that its batches are turned away
    # Live worker state; None when read outside the serving node (the CLI) or before its first run.
    circuit: str | None = None  # closed | open | half-open
    failures: int | None = None
    retry_in_s: float | None = None
    sessions: int | None = None
    events_in: int | None = None
    events_out: int | None = None
    rejected: int | None = None


class PeersReport(msgspec.Struct):
    peers: list[PeerStatus]
    live: bool  # the worker state comes from the serving node's sync engine


async def peer_status(node: Node, engine: Engine | None = None) -> list[PeerStatus]:
    forks = await node.db.fetchval("SELECT count(*) FROM sync_forks")
    now, mono = int(node.clock.time()), node.clock.monotonic()
    settings = node.settings("sync") or SyncSettings()
    recent = await refused.recent_by_node(node.db, settings.refused_window_s, now)
    out = []
    for p in await peers.list_peers(node.db):
        failing = p.last_error is not None
        st = engine.states.get(p.node_key) if engine is not None else None
        entry = PeerStatus(
            node_key=p.key_hex,
            fingerprint=p.key_hex[:16],
            url=p.url,
            name=p.name,
            added_at=p.added_at,
            state="failing" if failing else "ok" if p.last_ok_at else "never synced",
            last_ok_at=p.last_ok_at,
            lag_s=now - p.last_ok_at if p.last_ok_at else None,
            last_error=p.last_error,
            forks_recorded=forks,
            refused_recent=recent.get(p.node_key, 0),
            flagged=recent.get(p.node_key, 0) >= settings.refused_limit,
        )
        if entry.flagged:
            entry.state = "flagged"
        if st is not None:
            entry.circuit = st.circuit
            entry.failures = st.failures
            entry.retry_in_s = round(max(0.0, st.retry_at - mono, st.open_until - mono), 1)
            entry.sessions, entry.events_in, entry.events_out = st.sessions, st.events_in, st.events_out
            entry.rejected = st.rejected
            if st.last_error is not None and not entry.flagged:
                entry.state, entry.last_error = "failing", st.last_error
        out.append(entry)
    return out
