"""The content plugin's SQL for forum posts, their feeds and comments. Rows are sqlite3.Row, read by
column name; the shared pieces (votes, reactions, positions) are in queries.py."""

from __future__ import annotations

from typing import Any

from cryb_node.db import Connection, Database, Row

from .queries import reactions_sql

# -- posts --------------------------------------------------------------------------------------

_FROM = "FROM content_posts p LEFT JOIN content_views v ON v.post_id = p.id"
_VISIBLE = "p.deleted = 0 AND p.hidden = 0 AND p.purged = 0"
# One post as posts.Posts reads it.
POST = (
    "SELECT p.id, p.channel_id, p.community_id, p.author_id, p.title, p.body, p.body_html, p.url, p.tags,"
    " p.nsfw, p.spoiler, p.locked, p.sticky, p.deleted, p.hidden + p.purged AS removed, p.ups, p.downs,"
    " p.score, p.comment_count, p.created_at, p.edited_hlc, coalesce(v.views, 0) AS views, p.attachments"
    f" {_FROM}"
)
# A feed page's columns (alias p, views joined as v), named as wire.PostWire's fields.
POST_PAGE_COLUMNS = (
    "p.id, p.channel_id, p.community_id, p.author_id, p.title, p.body, p.body_html, p.url, p.tags, p.nsfw,"
    " p.spoiler, p.locked, p.sticky, p.deleted, p.hidden + p.purged AS removed, p.ups, p.downs, p.score,"
    " coalesce((SELECT value FROM content_votes WHERE target_id = p.id AND user_id = :user), 0) AS my_vote,"
    " p.comment_count, coalesce(v.views, 0) AS views, p.created_at, p.edited_hlc >> 16 AS edited_at,"
    f" {reactions_sql('p.id')} AS reactions, p.attachments"
)
# sort -> the column feeds order by (descending, then id descending)
SORT_KEY = {"hot": "p.hot", "new": "p.hlc", "top": "p.score", "controversial": "p.controversy"}


async def post(db: Database, pid: str) -> Row | None:
    return await db.fetchone(f"{POST} WHERE p.id = ?", (pid,))


async def feed_page(
    db: Database,
    channel_ids: list[str],
    sort: str,
    *,
    user_id: str | None,
    limit: int,
    since_ms: int | None,
    tag: str | None,
    after: tuple[Any, str] | None,
) -> list[Row]:
    """A page of the channels' visible posts in POST_PAGE_COLUMNS and sort_key (the cursor's key),
    ordered by ``sort`` then id, descending: created since ``since_ms``, tagged ``tag`` (lower
    case), after the cursor (key, id)."""
    key = SORT_KEY[sort]
    args: dict[str, Any] = {f"c{i}": c for i, c in enumerate(channel_ids)}
    marks = ",".join(f":{k}" for k in args)
    sql = (
        f"SELECT {POST_PAGE_COLUMNS}, {key} AS sort_key {_FROM}"
        f" WHERE p.channel_id IN ({marks}) AND {_VISIBLE}"
    )
    args.update(user=user_id, limit=limit)
    if since_ms is not None:
        sql += " AND p.created_at >= :since"
        args["since"] = since_ms
    if tag is not None:
        sql += " AND EXISTS (SELECT 1 FROM json_each(p.tags) t WHERE lower(t.value) = :tag)"
        args["tag"] = tag
    if after is not None:
        args["after_key"], args["after_id"] = after
        sql += f" AND ({key}, p.id) < (:after_key, :after_id)"
    sql += f" ORDER BY {key} DESC, p.id DESC LIMIT :limit"
    return await db.fetchall_inline(sql, args)


def add_views(conn: Connection, views: dict[str, int]) -> None:
    conn.executemany(
        "INSERT INTO content_views (post_id, views) VALUES (?, ?)"
        " ON CONFLICT (post_id) DO UPDATE SET views = views + excluded.views",
        list(views.items()),
    )


# -- comments -----------------------------------------------------------------------------------

COMMENT = (
    "SELECT id, parent_id, author_id, body, body_html, deleted, hidden + purged AS removed, ups, downs,"
    " score, hlc, created_at, edited_hlc, post_id FROM content_comments"
)


async def comment(db: Database, cid: str) -> Row | None:
    return await db.fetchone(f"{COMMENT} WHERE id = ?", (cid,))


async def comments_of(db: Database, post_id: str) -> list[Row]:
    return await db.fetchall(f"{COMMENT} WHERE post_id = ?", (post_id,))


async def comment_depth(db: Database, cid: str) -> int:
    """How many comments the comment is nested under."""
    return await db.fetchval(
        "WITH RECURSIVE up(id, parent) AS (SELECT id, parent_id FROM content_comments WHERE id = ?"
        " UNION ALL SELECT c.id, c.parent_id FROM content_comments c JOIN up ON c.id = up.parent)"
        " SELECT count(*) - 1 FROM up",
        (cid,),
    )


async def comment_parent(db: Database, cid: str) -> str | None:
    return await db.fetchval("SELECT parent_id FROM content_comments WHERE id = ?", (cid,))


def reply_parent(conn: Connection, cid: str) -> Row | None:
    """What a reply needs of the comment it answers: post_id, gone (deleted or removed)."""
    return conn.execute(
        "SELECT post_id, deleted + hidden + purged AS gone FROM content_comments WHERE id = ?", (cid,)
    ).fetchone()
