"""Replay check: rebuild every projection from the event log alone, in a fresh database, and compare
it with the live one, community by community (the federation state hash: Plugin.state_queries).

Equal hashes prove the projections are a pure function of the stored events: nothing was lost or
half-applied by a crash, and no projection depends on arrival order or on node-local data (but for
this node's own bans, which the replay takes along: they decide what it projects).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from cryb_node import config as configmod
from cryb_node.db import DB_FILE, connect
from cryb_node.node import Node
from cryb_node.plugins import Loaded
from cryb_node.sync.statehash import community_state

BATCH = 500


@dataclass(frozen=True)
class Difference:
    community: str
    part: str  # e.g. "content.messages"


async def _hashes(node: Node, communities: list[str]) -> dict[str, dict[str, str]]:
    return {c: (await community_state(node, c)).parts for c in communities}


async def differences(config: configmod.Config, plugins: list[Loaded]) -> tuple[int, list[Difference]]:
    """(events replayed, the parts whose rows differ). Run it against a stopped node's data dir."""
    src = connect(config.data_path / DB_FILE, busy_timeout_ms=config.db.busy_timeout_ms, readonly=True)
    try:
        keys = src.execute("SELECT origin, node_key, cert, created_at FROM log_keys").fetchall()
        # This node's own bans decide what it projects too (sync/bans.py): the replay takes them.
        bans = (
            src.execute("SELECT * FROM sync_node_bans").fetchall()
            if src.execute("SELECT 1 FROM sqlite_master WHERE name = 'sync_node_bans'").fetchone()
            else []
        )
        communities = [
            r["community"]
            for r in src.execute("SELECT DISTINCT community FROM events WHERE community IS NOT NULL")
        ]
        rows = src.execute(
            "SELECT e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
            " ORDER BY e.pos"
        ).fetchall()
    finally:
        src.close()

    live = Node(config, plugins)
    async with live.running(background=False):
        want = await _hashes(live, communities)

    with tempfile.TemporaryDirectory(prefix="cryb-replay-") as tmp:
        fresh = Node(
            configmod.with_overrides(config, node={"data_dir": tmp}, replication={"enabled": False}), plugins
        )
        async with fresh.running(background=False):
            await fresh.db.write(lambda conn: conn.executemany(
                "INSERT OR IGNORE INTO log_keys (origin, node_key, cert, created_at) VALUES (?, ?, ?, ?)",
                [tuple(k) for k in keys],
            ))  # fmt: skip
            if bans:
                marks = ",".join("?" * len(bans[0]))
                await fresh.db.write(lambda conn: conn.executemany(
                    f"INSERT INTO sync_node_bans VALUES ({marks})", [tuple(b) for b in bans]
                ))  # fmt: skip
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]

                def ingest(conn, batch=batch) -> None:
                    for r in batch:
                        fresh.events.ingest(conn, r["body"], r["sig"], r["content"])

                await fresh.db.write(ingest)
            got = await _hashes(fresh, communities)
    diff = [
        Difference(c, part)
        for c in communities
        for part in sorted(set(want[c]) | set(got[c]))
        if want[c].get(part) != got[c].get(part)
    ]
    return len(rows), diff
