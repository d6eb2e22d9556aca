"""Unpinning a bad peer and removing what its users wrote (`cryb peer remove --purge`): every
message, post and comment by a user homed on that peer, in the communities this node is the home
of, is hidden by a node admin's moderator removal. Those are events like any moderation, so the
removal replicates to every node that holds the community; what the peer's users wrote elsewhere is
for those communities' homes to decide. A node ban (bans.py) makes the same removals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.db import Connection
from cryb_node.events import Tx
from cryb_node.services import AUTHORED_CONTENT

from .homes import community_home

if TYPE_CHECKING:
    from cryb_node.node import Node


def homed_on(conn: Connection, node_key: bytes) -> list[str]:
    """The users homed on a node (as far as this node knows them)."""
    rows = conn.execute("SELECT user_id FROM sync_user_homes WHERE node_key = ?", (node_key,))
    return [r["user_id"] for r in rows]


def remove_in_home_communities(node: Node, tx: Tx, users: list[str], reason: str) -> int:
    """Inside an event transaction: hide what ``users`` wrote in the communities homed here with
    node-admin moderator removals; returns how many removals it appended."""
    authored = node.services.get(AUTHORED_CONTENT)
    if authored is None or not users:
        return 0
    me = node.identity.node_public
    ours = [
        c
        for (c,) in tx.conn.execute("SELECT DISTINCT community FROM events WHERE community IS NOT NULL")
        if community_home(tx.conn, c) == me
    ]
    if not ours:
        return 0
    return sum(authored.remove_author(tx, user, ours, reason) for user in users)


async def purge_peer_content(node: Node, node_key: bytes, reason: str) -> int:
    """Hide what the peer's users wrote in the communities homed here; returns how many removals."""
    return await node.events.transaction(
        lambda tx: remove_in_home_communities(node, tx, homed_on(tx.conn, node_key), reason)
    )
