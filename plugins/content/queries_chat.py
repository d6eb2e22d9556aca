"""The content plugin's SQL for chat: messages and their pages, sends' checks, DMs and read state.
Rows are sqlite3.Row, read by column name; writes take the writer's connection."""

from __future__ import annotations

from typing import Any

from cryb_node.db import Connection, Database, Row

from .queries import reactions_sql
from .schemas import ReadState

# -- messages -----------------------------------------------------------------------------------

# One message as messages.message_out reads it.
_MESSAGE_COLUMNS = (
    "id, channel_id, community_id, author_id, content, attachments, reply_to, thread_id, mentions,"
    " mention_roles, mention_everyone, created_at, edited_hlc, pinned, deleted, hidden + purged AS removed,"
    " thread_count, hlc, integration, interaction"
)
MESSAGE = f"SELECT {_MESSAGE_COLUMNS} FROM content_messages"

# A page of messages (alias m), named as wire.MessageWire's fields; hlc is the page's cursor.
MESSAGE_PAGE_COLUMNS = (
    "m.id, m.channel_id, m.community_id, m.author_id, m.content, m.attachments, m.reply_to, m.thread_id,"
    " m.mentions, m.mention_roles, m.mention_everyone, m.created_at, m.edited_hlc >> 16 AS edited_at,"
    " m.pinned, m.deleted, m.hidden + m.purged AS removed, m.thread_count,"
    f" {reactions_sql('m.id')} AS reactions, m.integration, m.interaction, m.hlc"
)
_PAGE = (
    f"SELECT {MESSAGE_PAGE_COLUMNS} FROM content_messages m"
    " WHERE m.channel_id = :channel AND m.thread_id IS :thread AND m.deleted = 0"
)
_PAGE_VISIBLE = " AND m.hidden = 0 AND m.purged = 0"  # left out for moderators: they see what they removed
# Where a page starts (:hlc, :id is the cursor message): "latest" and "before" come newest first.
_PAGE_FROM = {
    "latest": " ORDER BY m.hlc DESC, m.id DESC LIMIT :limit",
    "before": " AND (m.hlc, m.id) < (:hlc, :id) ORDER BY m.hlc DESC, m.id DESC LIMIT :limit",
    "after": " AND (m.hlc, m.id) > (:hlc, :id) ORDER BY m.hlc, m.id LIMIT :limit",
    "from": " AND (m.hlc, m.id) >= (:hlc, :id) ORDER BY m.hlc, m.id LIMIT :limit",
}
_PAGES = {
    (moderator, start): _PAGE + ("" if moderator else _PAGE_VISIBLE) + where
    for moderator in (False, True)
    for start, where in _PAGE_FROM.items()
}


async def message(db: Database, channel_id: str, mid: str) -> Row | None:
    return await db.fetchone(f"{MESSAGE} WHERE id = ? AND channel_id = ?", (mid, channel_id))


async def message_page(db: Database, start: str, moderator: bool, args: dict[str, Any]) -> list[Row]:
    """A page in MESSAGE_PAGE_COLUMNS; ``args``: channel, thread, user, limit (and hlc, id)."""
    # A bounded, indexed page: no thread hop (db.py).
    return await db.fetchall_inline(_PAGES[moderator, start], args)


async def message_cursor(db: Database, channel_id: str, mid: str) -> Row | None:
    """The (hlc, id) a page before/after/around a message starts from."""
    rows = await db.fetchall_inline(
        "SELECT hlc, id FROM content_messages WHERE id = ? AND channel_id = ?", (mid, channel_id)
    )
    return rows[0] if rows else None


async def pinned_messages(db: Database, channel_id: str) -> list[Row]:
    return await db.fetchall(
        f"{MESSAGE} WHERE channel_id = ? AND pinned = 1 AND deleted = 0"
        " AND hidden = 0 AND purged = 0 ORDER BY hlc DESC LIMIT 50",
        (channel_id,),
    )


async def thread_roots(db: Database, channel_id: str, limit: int, moderator: bool) -> list[Row]:
    """The channel's thread roots (MESSAGE and thread_last_hlc), the most recently active first."""
    hidden = "" if moderator else " AND hidden = 0 AND purged = 0"
    return await db.fetchall(
        f"SELECT {_MESSAGE_COLUMNS}, thread_last_hlc FROM content_messages WHERE channel_id = ?"
        f" AND thread_count > 0 AND deleted = 0{hidden} ORDER BY thread_last_hlc DESC LIMIT ?",
        (channel_id, limit),
    )


async def message_first_version(db: Database, channel_id: str, mid: str) -> Row | None:
    """The message as first sent (author_id, content, created_at), for its edit history."""
    return await db.fetchone(
        "SELECT author_id, coalesce(original, content) AS content, created_at, deleted FROM content_messages"
        " WHERE id = ? AND channel_id = ?",
        (mid, channel_id),
    )


async def message_edits(db: Database, mid: str, author_id: str) -> list[Row]:
    return await db.fetchall(
        "SELECT event_id, author_id, hlc, data FROM content_edits WHERE target_id = ? AND author_id = ?"
        " ORDER BY hlc, event_id",
        (mid, author_id),
    )


async def message_hlc(db: Database, channel_id: str, mid: str) -> int | None:
    return await db.fetchval(
        "SELECT hlc FROM content_messages WHERE id = ? AND channel_id = ?", (mid, channel_id)
    )


def reply_target(conn: Connection, mid: str) -> Row | None:
    """What a reply (or a thread reply) needs of the message it answers: channel_id, gone, thread_id."""
    return conn.execute(
        "SELECT channel_id, deleted + hidden + purged AS gone, thread_id FROM content_messages WHERE id = ?",
        (mid,),
    ).fetchone()


def last_sent_hlc(conn: Connection, user_id: str, channel_id: str) -> int | None:
    """The hlc of the user's latest message in the channel (slow mode)."""
    return conn.execute(
        "SELECT max(hlc) FROM content_messages WHERE author_id = ? AND channel_id = ?", (user_id, channel_id)
    ).fetchone()[0]


async def sent_message_id(db: Database, user_id: str, channel_id: str, nonce: str) -> str | None:
    return await db.fetchval(
        "SELECT message_id FROM content_message_nonces WHERE author_id = ? AND channel_id = ? AND nonce = ?",
        (user_id, channel_id, nonce),
    )


def claim_nonce(
    conn: Connection, user_id: str, channel_id: str, nonce: str, mid: str, now: int, ttl: int
) -> bool:
    """Record that this send made ``mid``, dropping the author's nonces older than ``ttl`` seconds;
    False if the nonce was taken already."""
    conn.execute(
        "DELETE FROM content_message_nonces WHERE author_id = ? AND created_at < ?", (user_id, now - ttl)
    )
    cur = conn.execute(
        "INSERT OR IGNORE INTO content_message_nonces (author_id, channel_id, nonce, message_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (user_id, channel_id, nonce, mid, now),
    )
    return cur.rowcount == 1


# -- DMs and read state -------------------------------------------------------------------------


async def dm_access(db: Database, channel_id: str, user_id: str | None) -> Row:
    """Whether the channel is a DM (is_dm) and the user one of its participants (member)."""
    row = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM content_dm_channels WHERE id = ?) AS is_dm,"
        " EXISTS (SELECT 1 FROM content_dm_members WHERE channel_id = ? AND user_id = ?) AS member",
        (channel_id, channel_id, user_id),
    )
    assert row is not None  # a SELECT without FROM always answers a row
    return row


async def dm_others(db: Database, channel_id: str, user_id: str) -> list[str]:
    rows = await db.fetchall(
        "SELECT user_id FROM content_dm_members WHERE channel_id = ? AND user_id != ?", (channel_id, user_id)
    )
    return [r["user_id"] for r in rows]


async def dm_participants(db: Database, channel_id: str) -> list[str]:
    rows = await db.fetchall(
        "SELECT user_id FROM content_dm_members WHERE channel_id = ? ORDER BY user_id", (channel_id,)
    )
    return [r["user_id"] for r in rows]


async def dm_channel_ids(db: Database, user_id: str) -> list[str]:
    rows = await db.fetchall("SELECT channel_id FROM content_dm_members WHERE user_id = ?", (user_id,))
    return [r["channel_id"] for r in rows]


async def dm_channels(db: Database, ids: list[str]) -> tuple[list[Row], dict[str, list[str]]]:
    """The channels (id, owner_id, name; the newest first) and each one's members."""
    marks = ",".join("?" * len(ids))
    chans = await db.fetchall(
        f"SELECT id, owner_id, name FROM content_dm_channels WHERE id IN ({marks}) ORDER BY hlc DESC", ids
    )
    members = await db.fetchall(
        f"SELECT channel_id, user_id FROM content_dm_members WHERE channel_id IN ({marks}) ORDER BY user_id",
        ids,
    )
    by: dict[str, list[str]] = {}
    for m in members:
        by.setdefault(m["channel_id"], []).append(m["user_id"])
    return chans, by


def dm_of_pair(conn: Connection, pair: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM content_dm_channels WHERE pair_key = ? ORDER BY id LIMIT 1", (pair,)
    ).fetchone()
    return None if row is None else str(row["id"])


def mark_read(conn: Connection, user_id: str, channel_id: str, message_id: str, hlc: int) -> None:
    conn.execute(
        "INSERT INTO content_read_state (user_id, channel_id, message_id, hlc) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id, channel_id) DO UPDATE SET message_id = excluded.message_id,"
        " hlc = excluded.hlc",
        (user_id, channel_id, message_id, hlc),
    )


async def read_states(db: Database, user_id: str, channel_ids: list[str], cap: int) -> list[ReadState]:
    """Per channel: the last message read, how many were written since (up to ``cap``) and how many
    of those mention the user; three short reads each, on one reader."""
    out = []
    async with db.reader() as conn:
        for cid in channel_ids:
            row = await (
                await conn.execute(
                    "SELECT message_id, hlc FROM content_read_state WHERE user_id = ? AND channel_id = ?",
                    (user_id, cid),
                )
            ).fetchone()
            last_id, last = (row["message_id"], row["hlc"]) if row else (None, 0)
            unread = await (
                await conn.execute(
                    "SELECT count(*) AS n FROM (SELECT 1 FROM content_messages WHERE channel_id = ?"
                    " AND thread_id IS NULL"
                    " AND hlc > ? AND author_id != ? AND deleted = 0 AND hidden = 0 AND purged ="
                    " 0 LIMIT ?)",
                    (cid, last, user_id, cap),
                )
            ).fetchone()
            mentions = await (
                await conn.execute(
                    "SELECT count(*) AS n FROM content_mentions WHERE channel_id = ? AND user_id IN"
                    " (?, '*') AND hlc > ?",
                    (cid, user_id, last),
                )
            ).fetchone()
            assert unread is not None and mentions is not None  # count(*) always answers a row
            out.append(
                ReadState(channel_id=cid, last_read_id=last_id, unread=unread["n"], mentions=mentions["n"])
            )
    return out
