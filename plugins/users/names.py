"""Users by name, and how a user homed on another node is told apart from ours: ``name@home``.

Usernames are unique among this node's accounts only; a peer's user may have any name a sign-up
there allows, including one a local user holds (two people on two nodes). So a bare name always
means this node's own user when it has one, and a peer's user is named with its home: the host of
the peer's URL as this node pinned it (the key's first 16 hex digits when no URL is known), the
``home`` that profiles and member lists show beside the username.
"""

from __future__ import annotations

from cryb_node.node import Node
from cryb_node.sync.homes import remote_homes


async def home_of(node: Node, user_id: str) -> str | None:
    """The home a user from another node is shown with (None: one of ours, or not known)."""
    home = (await remote_homes(node, [user_id])).get(user_id)
    return home.node if home else None


async def find(node: Node, name: str) -> list[str]:
    """The users a typed name means: ``name@home`` the one of that name from that node (by host or
    node key); a bare name this node's own user of that name or, if none, the users from other
    nodes that have it (never a peer's user while one of ours holds the name)."""
    username, _, home = name.strip().removeprefix("@").partition("@")
    rows = await node.db.fetchall(
        "SELECT user_id FROM users_profiles WHERE lower(username) = ? AND erased = 0",
        (username.lower(),),
    )
    ids = [r["user_id"] for r in rows]
    homes = await remote_homes(node, ids)
    if home:
        return [u for u in ids if u in homes and home.lower() in (homes[u].node.lower(), homes[u].node_key)]
    return [u for u in ids if u not in homes] or ids
