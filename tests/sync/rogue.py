"""A hostile node operator's tool: append hand-built events to a node's log, signed with the node's
real log key, straight into its database (as a modified `cryb` would), skipping every check and
projection of its own. Peers then pull them like any other event; only their authority rules stand
between these events and their projections."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import msgspec
import pysqlite3.dbapi2 as sqlite3

from cryb_node import identity
from cryb_node.clock import HLC
from cryb_node.events import DOMAIN, VERSION, EventBody
from cryb_node.node import DB_FILE

_enc = msgspec.msgpack.Encoder().encode


class Rogue:
    """Forges events into the log of the node whose data dir is ``data_dir`` (running or not)."""

    def __init__(self, data_dir: Path) -> None:
        self.ident, _ = identity.load_or_create(data_dir)
        self.db_path = data_dir / DB_FILE

    def forge(
        self,
        kind: str,
        payload: msgspec.Struct | None,
        *,
        community: str | None,
        author: str | None,
        target: str | None,
        hlc: int | None = None,
    ) -> str:
        """Append one signed event; returns its id (hex). ``hlc``: claim that time instead of now
        (later than the log's newest, as an honest log's clock would be)."""
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            origin = self.ident.origin
            head = conn.execute("SELECT seq, event_id FROM log_heads WHERE origin = ?", (origin,)).fetchone()
            seq, prev = (head[0] + 1, bytes(head[1])) if head else (1, None)
            last = conn.execute("SELECT max(hlc) FROM events").fetchone()[0] or 0
            hlc = max(hlc, last + 1) if hlc is not None else HLC(last).tick()
            content = _enc(payload) if payload is not None else None
            body = EventBody(
                v=VERSION, community=community, origin=origin, seq=seq, prev=prev, hlc=hlc, author=author,
                kind=kind, target=target, gov_deps=[],
                content_hash=hashlib.sha256(content).digest() if content is not None else None,
            )  # fmt: skip
            raw = _enc(body)
            sig = self.ident.log_key.sign(DOMAIN + raw).signature
            event_id = hashlib.sha256(raw).digest()
            conn.execute(
                "INSERT OR REPLACE INTO log_heads (origin, seq, event_id, hlc) VALUES (?, ?, ?, ?)",
                (origin, seq, event_id, hlc),
            )
            conn.execute(
                "INSERT INTO events (id, origin, seq, hlc, community, kind, body, sig, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event_id, origin, seq, hlc, community, kind, raw, sig, int(time.time())),
            )
            if content is not None:
                conn.execute(
                    "INSERT INTO event_content (event_id, content) VALUES (?, ?)", (event_id, content)
                )
            conn.execute("COMMIT")
            return event_id.hex()
        finally:
            conn.close()
