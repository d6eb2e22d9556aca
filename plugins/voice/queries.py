"""The voice plugin's SQL: voice channels' user limits, members' server mute and deafen (written by
the moderation events' projections in events.py), and what the live calls ask of the event log."""

from __future__ import annotations

from cryb_node.db import Connection, Database


async def user_limit(db: Database, channel_id: str) -> int:
    """The channel's user limit (0: none)."""
    limit = await db.fetchval("SELECT user_limit FROM voice_channels WHERE channel_id = ?", (channel_id,))
    return int(limit or 0)


def set_user_limit(conn: Connection, channel_id: str, limit: int) -> None:
    conn.execute(
        "INSERT INTO voice_channels (channel_id, user_limit) VALUES (?, ?)"
        " ON CONFLICT (channel_id) DO UPDATE SET user_limit = excluded.user_limit",
        (channel_id, limit),
    )


async def server_state(db: Database, community_id: str, user_id: str) -> tuple[bool, bool]:
    """(mute, deaf): whether the community's moderators server-muted or server-deafened the member."""
    row = await db.fetchone(
        "SELECT mute, deaf FROM voice_server_state WHERE community_id = ? AND user_id = ?",
        (community_id, user_id),
    )
    return (bool(row["mute"]), bool(row["deaf"])) if row is not None else (False, False)


def clear_community(conn: Connection, community_id: str) -> None:
    conn.execute("DELETE FROM voice_server_state WHERE community_id = ?", (community_id,))


async def refused(db: Database, event_id: bytes) -> bool:
    """Whether the rule book refused the event (a peer's moderation is then stored as evidence only)."""
    return bool(await db.fetchval("SELECT 1 FROM event_refusals WHERE event_id = ?", (event_id,)))
