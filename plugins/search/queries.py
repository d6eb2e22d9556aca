"""SQL the search service runs on the event loop's reader pool: names <-> ids for operators and
results (tables of the users, communities and content plugins, read only), and the analytics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cryb_node.db import Connection, Database, DatabaseError


async def _rows(db: Database, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    try:
        return await db.fetchall(sql, tuple(params))
    except DatabaseError as err:
        if "no such table" in str(err):  # the plugin owning it is disabled
            return []
        raise


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


async def dm_channels(db: Database, user_id: str) -> list[str]:
    rows = await _rows(db, "SELECT channel_id FROM content_dm_members WHERE user_id = ?", (user_id,))
    return [r["channel_id"] for r in rows]


async def member_communities(db: Database, user_id: str) -> list[str]:
    rows = await _rows(db, "SELECT community_id FROM community_members WHERE user_id = ?", (user_id,))
    return [r["community_id"] for r in rows]


async def public_communities(db: Database) -> list[str]:
    """Readable without joining (read-only): search covers them too."""
    rows = await _rows(db, "SELECT id FROM communities WHERE public = 1 AND deleted = 0")
    return [r["id"] for r in rows]


async def role_names(db: Database, ids: list[str]) -> dict[str, str]:
    rows = await _rows(db, f"SELECT id, name FROM community_roles WHERE id IN ({_marks(ids)})", ids)
    return {r["id"]: r["name"] for r in rows}


async def user_ids(db: Database, usernames: list[str]) -> list[str]:
    names = [u.lower() for u in usernames]
    rows = await _rows(
        db,
        f"SELECT user_id FROM users_profiles WHERE lower(username) IN ({_marks(names)}) AND erased = 0"
        f" UNION SELECT user_id FROM users_profiles WHERE user_id IN ({_marks(usernames)})",
        [*names, *usernames],
    )
    return [r["user_id"] for r in rows]


async def community_ids(db: Database, names: list[str]) -> list[str]:
    low = [n.lower() for n in names]
    rows = await _rows(
        db,
        f"SELECT id FROM communities WHERE deleted = 0 AND (lower(name) IN ({_marks(low)})"
        f" OR id IN ({_marks(names)}))",
        [*low, *names],
    )
    return [r["id"] for r in rows]


async def channel_names(db: Database, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = await _rows(
            db, f"SELECT id, name FROM community_channels WHERE id IN ({_marks(chunk)})", chunk
        )
        rows += await _rows(
            db, f"SELECT id, name FROM content_dm_channels WHERE id IN ({_marks(chunk)})", chunk
        )
        out.update({r["id"]: r["name"] for r in rows})
    return out


async def community_names(db: Database, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await _rows(db, f"SELECT id, name FROM communities WHERE id IN ({_marks(ids)})", ids)
    return {r["id"]: r["name"] for r in rows}


async def usernames(db: Database, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await _rows(
        db, f"SELECT user_id, username FROM users_profiles WHERE user_id IN ({_marks(ids)})", ids
    )
    return {r["user_id"]: r["username"] for r in rows}


# -- analytics ------------------------------------------------------------------------------------


def record_query(conn: Connection, query_id: str, q: str, results: int, took_ms: int, now: int) -> None:
    conn.execute(
        "INSERT INTO search_queries (id, at, q, results, took_ms) VALUES (?, ?, ?, ?, ?)",
        (query_id, now, q, results, took_ms),
    )


def record_click(conn: Connection, query_id: str, key: str, position: int, now: int) -> bool:
    """False if there is no such query (nothing is written)."""
    if conn.execute("SELECT 1 FROM search_queries WHERE id = ?", (query_id,)).fetchone() is None:
        return False
    conn.execute(
        "INSERT OR IGNORE INTO search_clicks (query_id, key, position, at) VALUES (?, ?, ?, ?)",
        (query_id, key, position, now),
    )
    return True


def prune(conn: Connection, before_ms: int) -> None:
    conn.execute("DELETE FROM search_clicks WHERE at < ?", (before_ms,))
    conn.execute("DELETE FROM search_queries WHERE at < ?", (before_ms,))


async def analytics(db: Database, since_ms: int, top: int = 10) -> dict[str, Any]:
    one = await db.fetchone(
        "SELECT count(*) AS queries, coalesce(sum(results = 0), 0) AS zero FROM search_queries WHERE at >= ?",
        (since_ms,),
    )
    clicks = await db.fetchval(
        "SELECT count(DISTINCT query_id) FROM search_clicks WHERE at >= ?", (since_ms,), default=0
    )
    top_q = await db.fetchall(
        "SELECT q, count(*) AS n FROM search_queries WHERE at >= ? GROUP BY q ORDER BY n DESC, q LIMIT ?",
        (since_ms, top),
    )
    zero = await db.fetchall(
        "SELECT q, count(*) AS n FROM search_queries WHERE at >= ? AND results = 0 GROUP BY q"
        " ORDER BY n DESC, q LIMIT ?",
        (since_ms, top),
    )
    total = one["queries"] if one else 0
    return {
        "queries": total,
        "zero": one["zero"] if one else 0,
        "clicks": clicks,
        "ctr": (clicks / total) if total else 0.0,
        "top": [(r["q"], r["n"]) for r in top_q],
        "top_zero": [(r["q"], r["n"]) for r in zero],
    }
