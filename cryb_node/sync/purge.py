"""Unpinning a bad peer and removing what its users wrote (`cryb peer remove --purge`): every
message, post and comment by a user homed on that peer, in the communities this node is the home
of, is hidden by a node admin's moderator removal. Those are events like any moderation, so the
removal replicates to every node that holds the community; what the peer's users wrote elsewhere is
for those communities' homes to decide."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.events import Tx
from cryb_node.services import AuthoredContent

from .homes import community_home

if TYPE_CHECKING:
    from cryb_node.node import Node


async def purge_peer_content(node: Node, node_key: bytes, reason: str) -> int:
    """Hide what the peer's users wrote in the communities homed here; returns how many removals."""
    authored = node.services.get(AuthoredContent)  # type: ignore[type-abstract]
    if authored is None:
        return 0
    me = node.identity.node_public

    def fn(tx: Tx) -> int:
        users = [
            r[0]
            for r in tx.conn.execute("SELECT user_id FROM sync_user_homes WHERE node_key = ?", (node_key,))
        ]
        ours = [
            c
            for (c,) in tx.conn.execute("SELECT DISTINCT community FROM events WHERE community IS NOT NULL")
            if community_home(tx.conn, c) == me
        ]
        if not users or not ours:
            return 0
        return sum(authored.remove_author(tx, user, ours, reason) for user in users)

    return await node.events.transaction(fn)
