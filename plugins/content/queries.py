"""The content plugin's shared SQL: the targets a request names, reactions, votes, custom emoji and
ban purges, and how pages read their rows by name. Chat's is in queries_chat.py, the forum's in
queries_forum.py. Rows are sqlite3.Row, read by column name; writes take the writer's connection."""

from __future__ import annotations

from cryb_node.db import Connection, Database, Row

# -- reading rows by name -----------------------------------------------------------------------


def positions(row: Row) -> dict[str, int]:
    """Where each named column sits in a result. A page looks its columns up by name once here and
    then reads every row by position: sqlite3.Row's own lookup by name scans the column names on
    each access, which made encoding GET 50 messages' rows four times slower."""
    return {name: i for i, name in enumerate(row.keys())}


def reactions_sql(target: str) -> str:
    """A column: the target's reactions as schemas.ReactionCount JSON, in the order each emoji was
    first used, ``me`` for the reader bound as :user (NULL: anonymous, never ``me``)."""
    return (
        "(SELECT json_group_array(json_object('emoji', c.emoji, 'count', c.count, 'me', json(iif(EXISTS"
        " (SELECT 1 FROM content_reaction_adds a WHERE a.target_id = c.target_id AND a.emoji = c.emoji"
        " AND a.user_id = :user AND NOT EXISTS (SELECT 1 FROM content_reaction_removed r"
        " WHERE r.add_id = a.event_id)), 'true', 'false'))) ORDER BY c.first_hlc, c.emoji)"
        f" FROM content_reaction_counts c WHERE c.target_id = {target})"
    )


# -- targets (a message, post or comment a request names) ---------------------------------------

_TARGET = {
    "message": "SELECT channel_id, community_id, author_id, deleted, hidden + purged AS removed,"
    " NULL AS post_id, 0 AS locked FROM content_messages WHERE id = ?",
    "post": "SELECT channel_id, community_id, author_id, deleted, hidden + purged AS removed,"
    " id AS post_id, locked FROM content_posts WHERE id = ?",
    "comment": "SELECT c.channel_id, c.community_id, c.author_id, c.deleted, c.hidden + c.purged AS removed,"
    " c.post_id, p.locked FROM content_comments c LEFT JOIN content_posts p ON p.id = c.post_id"
    " WHERE c.id = ?",
}
TARGET_TYPES = frozenset(_TARGET)
_TEXT = {
    "message": "SELECT content FROM content_messages WHERE id = ?",
    "post": "SELECT title FROM content_posts WHERE id = ?",
    "comment": "SELECT body FROM content_comments WHERE id = ?",
}


async def target(db: Database, target_type: str, target_id: str) -> Row | None:
    """channel_id, community_id, author_id, deleted, removed, post_id (a post's own id, a comment's
    post) and locked (the post's)."""
    return await db.fetchone(_TARGET[target_type], (target_id,))


async def target_text(db: Database, target_type: str, target_id: str) -> str | None:
    return await db.fetchval(_TEXT[target_type], (target_id,))


# -- reactions, votes and custom emoji ----------------------------------------------------------

_LIVE = "NOT EXISTS (SELECT 1 FROM content_reaction_removed r WHERE r.add_id = a.event_id)"


async def reaction_counts(db: Database, ids: list[str]) -> list[Row]:
    """target_id, emoji, count of each reaction on the targets, in the order each was first used."""
    marks = ",".join("?" * len(ids))
    return await db.fetchall(
        f"SELECT target_id, emoji, count FROM content_reaction_counts WHERE target_id IN ({marks})"
        " ORDER BY first_hlc, emoji",
        ids,
    )


async def own_reactions(db: Database, ids: list[str], user_id: str) -> set[tuple[str, str]]:
    """The (target id, emoji) pairs the user reacted with on the targets."""
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT target_id, emoji FROM content_reaction_adds a WHERE target_id IN ({marks}) AND user_id = ?"
        f" AND {_LIVE}",
        (*ids, user_id),
    )
    return {(r["target_id"], r["emoji"]) for r in rows}


def live_reactions(conn: Connection, target_id: str, user_id: str, emoji: str) -> list[bytes]:
    """The event ids of the user's reaction.add events that still count."""
    rows = conn.execute(
        f"SELECT event_id FROM content_reaction_adds a WHERE target_id = ? AND user_id = ? AND emoji = ?"
        f" AND {_LIVE}",
        (target_id, user_id, emoji),
    )
    return [r["event_id"] for r in rows]


def emoji_use(conn: Connection, target_id: str, emoji: str) -> tuple[int, bool]:
    """How many different emoji the target has, and whether ``emoji`` is one of them."""
    row = conn.execute(
        "SELECT count(*) AS kinds, sum(emoji = ?) AS used FROM content_reaction_counts WHERE target_id = ?",
        (emoji, target_id),
    ).fetchone()
    return row["kinds"], bool(row["used"])


def chip_of(conn: Connection, target_id: str, emoji_id: str) -> str | None:
    """The reaction key first counted on the target for this custom emoji id (under any name)."""
    row = conn.execute(
        "SELECT emoji FROM content_reaction_counts WHERE target_id = ? AND emoji GLOB ?"
        " ORDER BY first_hlc LIMIT 1",
        (target_id, f"*:{emoji_id}"),
    ).fetchone()
    return None if row is None else row["emoji"]


async def reactors(db: Database, target_id: str, emoji: str) -> list[str]:
    rows = await db.fetchall(
        f"SELECT DISTINCT user_id FROM content_reaction_adds a WHERE target_id = ? AND emoji = ? AND {_LIVE}"
        " ORDER BY user_id LIMIT 1000",
        (target_id, emoji),
    )
    return [r["user_id"] for r in rows]


async def votes_of(db: Database, user_id: str, ids: list[str]) -> dict[str, int]:
    """The user's votes on these posts or comments (none: not in the result)."""
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT target_id, value FROM content_votes WHERE user_id = ? AND target_id IN ({marks})",
        (user_id, *ids),
    )
    return {r["target_id"]: r["value"] for r in rows}


def vote_of(conn: Connection, target_id: str, user_id: str) -> int:
    row = conn.execute(
        "SELECT value FROM content_votes WHERE target_id = ? AND user_id = ?", (target_id, user_id)
    ).fetchone()
    return row["value"] if row else 0


_VOTED = {"post": "content_posts", "comment": "content_comments"}


def tally(conn: Connection, target_type: str, target_id: str) -> Row:
    """ups and downs of a post or comment."""
    return conn.execute(f"SELECT ups, downs FROM {_VOTED[target_type]} WHERE id = ?", (target_id,)).fetchone()


_EMOJI = "FROM content_emojis WHERE id = ? AND community_id = ? AND deleted = 0"


async def emoji_name(db: Database, emoji_id: str, community_id: str) -> str | None:
    return await db.fetchval(f"SELECT name {_EMOJI}", (emoji_id, community_id))


def live_emoji(conn: Connection, emoji_id: str, community_id: str) -> Row | None:
    """name and media_id of a custom emoji not deleted."""
    return conn.execute(f"SELECT name, media_id {_EMOJI}", (emoji_id, community_id)).fetchone()


async def emoji_exists(db: Database, emoji_id: str, community_id: str) -> bool:
    return await db.fetchone(f"SELECT 1 {_EMOJI}", (emoji_id, community_id)) is not None


def emoji_name_taken(conn: Connection, community_id: str, name: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM content_emojis WHERE community_id = ? AND name = ? AND deleted = 0",
            (community_id, name),
        ).fetchone()
        is not None
    )


async def emojis(db: Database, community_id: str) -> list[Row]:
    """id, community_id, name, media_id of the community's emoji, by name."""
    return await db.fetchall(
        "SELECT id, community_id, name, media_id FROM content_emojis WHERE community_id = ? AND deleted = 0"
        " ORDER BY name",
        (community_id,),
    )


# -- ban purges ---------------------------------------------------------------------------------


async def purge_window(db: Database, ban_event_id: bytes) -> Row | None:
    """community_id, user_id, from_hlc, to_hlc of the content a ban's delete window hid."""
    return await db.fetchone(
        "SELECT community_id, user_id, from_hlc, to_hlc FROM content_purges WHERE ban_event_id = ?",
        (ban_event_id,),
    )


async def purged(db: Database, table: str, window: Row) -> list[Row]:
    """id, channel_id of the rows of ``table`` the window hid."""
    return await db.fetchall(
        f"SELECT id, channel_id FROM {table} WHERE community_id = ? AND author_id = ?"
        " AND hlc BETWEEN ? AND ? AND purged = 1",
        (window["community_id"], window["user_id"], window["from_hlc"], window["to_hlc"]),
    )
