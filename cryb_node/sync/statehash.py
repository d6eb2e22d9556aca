"""A community's state hash: every plugin's projection rows for it (Plugin.state_queries), each
row msgpack-encoded and the rows sorted, hashed per query and then together, plus the community's
home node (``sync.home``: a hand-off changes no projection row, yet nodes must agree on it). Two
nodes showing the same thing have the same hash; `cryb sync verify PEER` compares them. The event
set's own fingerprint (count, reconcile fingerprint) is reported beside it.

Two nodes are only expected to agree on what both may hold (policy.py): verify leaves out the rows
of channels one side may not hold. A row belongs to such a channel if its ``channel_id`` (or, for a
channel, its ``id``) is one of them, or if it refers by ``id``, ``target_id``, ``post_id`` or
``message_id`` to a row that does (reactions, votes and moderation of a message in it).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

import msgspec

from .homes import community_home_of
from .reconcile import fingerprint, items
from .vectors import Withhold
from .wire import StateReply

if TYPE_CHECKING:
    from cryb_node.node import Node

_enc = msgspec.msgpack.Encoder().encode
REFS = ("id", "channel_id", "target_id", "post_id", "message_id")  # columns naming another row


async def community_state(
    node: Node,
    community_id: str,
    *,
    exclude: Collection[str] = (),
    shared: bool = True,
    withhold: Withhold | None = None,
) -> StateReply:
    """The hash of the community's rows, leaving out those of the channels in ``exclude``
    (nothing at all unless ``shared``); ``withhold`` limits the reported event set likewise."""
    parts: dict[str, str] = {}
    if shared:
        tables: list[tuple[str, list[sqlite3.Row]]] = []
        for loaded in node.plugins:
            for name, sql in sorted(loaded.plugin.state_queries().items()):
                rows = await node.db.fetchall(sql, {"community": community_id})
                tables.append((f"{loaded.plugin.name}.{name}", rows))
        hidden = _hidden(tables, set(exclude))
        for key, rows in tables:
            parts[key] = _digest(r for r in rows if not hidden or not _refers(r, hidden))
        home = await community_home_of(node.db, community_id)
        parts["sync.home"] = hashlib.sha256(home or b"").hexdigest()
    total = hashlib.sha256()
    for key in sorted(parts):
        total.update(f"{key}={parts[key]}\n".encode())
    have = await items(node.db, community_id, withhold) if shared else []
    return StateReply(
        community=community_id,
        state_hash=total.hexdigest(),
        events=len(have),
        events_fp=fingerprint([i for _, i in have]).hex(),
        parts=parts,
        excluded=sorted(exclude),
        shared=shared,
    )


def _hidden(tables: list[tuple[str, list[sqlite3.Row]]], channels: set[str]) -> set[object]:
    """The excluded channels and the ids of every row in them (messages, posts, comments)."""
    if not channels:
        return set()
    hidden: set[object] = set(channels)
    for _, rows in tables:
        for row in rows:
            keys = row.keys()
            if "id" in keys and "channel_id" in keys and row["channel_id"] in channels:
                hidden.add(row["id"])
    return hidden


def _refers(row: sqlite3.Row, hidden: set[object]) -> bool:
    columns = row.keys()  # (``k in row`` would look among the values)
    return any(row[k] in hidden for k in REFS if k in columns)


def _digest(rows: Iterable[sqlite3.Row]) -> str:
    h = hashlib.sha256()
    for enc in sorted(_enc([_plain(v) for v in row]) for row in rows):
        h.update(len(enc).to_bytes(4, "big") + enc)
    return h.hexdigest()


def _plain(value: object) -> object:
    return bytes(value) if isinstance(value, memoryview) else value
