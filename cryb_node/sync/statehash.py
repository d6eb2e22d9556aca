"""A community's state hash: every plugin's projection rows for it (Plugin.state_queries), each
row msgpack-encoded and the rows sorted, hashed per query and then together. Two nodes showing the
same thing have the same hash; `cryb sync verify PEER` compares them. The event set's own
fingerprint (count, reconcile fingerprint) is reported beside it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import msgspec

from .reconcile import fingerprint, items
from .wire import StateReply

if TYPE_CHECKING:
    from cryb_node.node import Node

_enc = msgspec.msgpack.Encoder().encode


async def community_state(node: Node, community_id: str) -> StateReply:
    parts: dict[str, str] = {}
    for loaded in node.plugins:
        for name, sql in sorted(loaded.plugin.state_queries().items()):
            rows = await node.db.fetchall(sql, {"community": community_id})
            h = hashlib.sha256()
            for enc in sorted(_enc([_plain(v) for v in row]) for row in rows):
                h.update(len(enc).to_bytes(4, "big") + enc)
            parts[f"{loaded.plugin.name}.{name}"] = h.hexdigest()
    total = hashlib.sha256()
    for key in sorted(parts):
        total.update(f"{key}={parts[key]}\n".encode())
    have = await items(node.db, community_id)
    return StateReply(
        community=community_id,
        state_hash=total.hexdigest(),
        events=len(have),
        events_fp=fingerprint([i for _, i in have]).hex(),
        parts=parts,
    )


def _plain(value: object) -> object:
    return bytes(value) if isinstance(value, memoryview) else value
