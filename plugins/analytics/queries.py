"""The analytics reports' reads of the rollup tables (rollup.py writes them). ``p`` binds scope,
lo, hi (ISO days) and n (top lists); the node's scope '' sums every community's rows where a table
has them per community. Rows are read by column name."""

from __future__ import annotations

from typing import Any

from cryb_node.db import Database, Row

from .schemas import ModerationCount, PageCount, TopChannel, TopPost

_SCOPE = "(:scope = '' OR community_id = :scope)"


async def daily_actives(db: Database, p: dict[str, Any]) -> list[Row]:
    """day, dau, wau, mau, new_members, left_members of each day rolled up, in order."""
    return await db.fetchall(
        "SELECT day, dau, wau, mau, new_members, left_members FROM analytics_daily_actives"
        " WHERE community_id = :scope AND day BETWEEN :lo AND :hi ORDER BY day",
        p,
    )


async def daily_content(db: Database, p: dict[str, Any]) -> dict[str, Row]:
    """Per day: messages, posts, comments, reactions, votes."""
    rows = await db.fetchall(
        "SELECT day, sum(messages) AS messages, sum(posts) AS posts, sum(comments) AS comments,"
        " sum(reactions) AS reactions, sum(votes) AS votes"
        f" FROM analytics_daily_content WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY day",
        p,
    )
    return {r["day"]: r for r in rows}


async def daily_moderation(db: Database, p: dict[str, Any]) -> dict[str, int]:
    """Per day: moderation actions."""
    rows = await db.fetchall(
        "SELECT day, sum(count) AS actions FROM analytics_daily_moderation"
        f" WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY day",
        p,
    )
    return {r["day"]: r["actions"] for r in rows}


async def top_channels(db: Database, p: dict[str, Any]) -> list[TopChannel]:
    rows = await db.fetchall(
        "SELECT community_id, channel_id, sum(messages) AS messages, sum(posts) AS posts,"
        " sum(comments) AS comments, sum(reactions) AS reactions, sum(votes) AS votes,"
        " sum(messages + posts + comments + reactions + votes) AS total"
        f" FROM analytics_daily_content WHERE {_SCOPE} AND channel_id != '' AND day BETWEEN :lo AND :hi"
        " GROUP BY community_id, channel_id ORDER BY total DESC, channel_id LIMIT :n",
        p,
    )
    return [
        TopChannel(community_id=r["community_id"], channel_id=r["channel_id"], messages=r["messages"],
                   posts=r["posts"], comments=r["comments"], reactions=r["reactions"], votes=r["votes"],
                   total=r["total"])
        for r in rows
    ]  # fmt: skip


async def top_posts(db: Database, p: dict[str, Any]) -> list[TopPost]:
    rows = await db.fetchall(
        "SELECT community_id, post_id, max(channel_id) AS channel_id, sum(comments) AS comments,"
        " sum(reactions) AS reactions, sum(votes) AS votes, sum(comments + reactions + votes) AS total"
        f" FROM analytics_daily_posts WHERE {_SCOPE} AND day BETWEEN :lo AND :hi"
        " GROUP BY community_id, post_id ORDER BY total DESC, post_id LIMIT :n",
        p,
    )
    return [
        TopPost(community_id=r["community_id"], post_id=r["post_id"], channel_id=r["channel_id"],
                comments=r["comments"], reactions=r["reactions"], votes=r["votes"], total=r["total"])
        for r in rows
    ]  # fmt: skip


async def hours(db: Database, p: dict[str, Any]) -> list[Row]:
    """day, hour (UTC), events of each rolled-up hour."""
    return await db.fetchall(
        "SELECT day, hour, events FROM analytics_daily_hours"
        " WHERE community_id = :scope AND day BETWEEN :lo AND :hi",
        p,
    )


async def moderation(db: Database, p: dict[str, Any]) -> list[ModerationCount]:
    rows = await db.fetchall(
        "SELECT action, sum(count) AS n FROM analytics_daily_moderation"
        f" WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY action ORDER BY n DESC, action",
        p,
    )
    return [ModerationCount(action=r["action"], count=r["n"]) for r in rows]


async def pages(db: Database, p: dict[str, Any]) -> list[PageCount]:
    rows = await db.fetchall(
        "SELECT kind, name, sum(count) AS n FROM analytics_daily_pages"
        f" WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY kind, name ORDER BY n DESC, name LIMIT :n",
        p,
    )
    return [PageCount(kind=r["kind"], name=r["name"], count=r["n"]) for r in rows]


async def cohort_sizes(db: Database, p: dict[str, Any]) -> list[Row]:
    """week, size of the cohorts whose week is in [lo, hi], in order."""
    return await db.fetchall(
        "SELECT week, size FROM analytics_cohorts WHERE community_id = :scope AND week BETWEEN :lo AND :hi"
        " ORDER BY week",
        p,
    )


async def retention(db: Database, p: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(cohort week, week) -> how many of the cohort were active that week, for cohorts in [lo, hi]."""
    rows = await db.fetchall(
        "SELECT cohort, week, active FROM analytics_retention WHERE community_id = :scope"
        " AND cohort BETWEEN :lo AND :hi",
        p,
    )
    return {(r["cohort"], r["week"]): r["active"] for r in rows}
