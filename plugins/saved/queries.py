"""The saved plugin's SQL: a member's bookmarks (node-local rows, never events)."""

from __future__ import annotations

from typing import Any

from cryb_node.db import Connection, Database

PAGE = (
    "SELECT target_type, target_id, saved_at FROM saved_items WHERE user_id = ?"
    " ORDER BY saved_at DESC, target_id DESC LIMIT ?"
)
PAGE_BEFORE = (
    "SELECT target_type, target_id, saved_at FROM saved_items WHERE user_id = ?"
    " AND (saved_at, target_id) < (?, ?) ORDER BY saved_at DESC, target_id DESC LIMIT ?"
)
ALL = "SELECT target_type, target_id, saved_at FROM saved_items WHERE user_id = ? ORDER BY saved_at"
IS_SAVED = "SELECT 1 FROM saved_items WHERE user_id = ? AND target_type = ? AND target_id = ?"


def count(conn: Connection, user_id: str) -> int:
    return conn.execute("SELECT count(*) FROM saved_items WHERE user_id = ?", (user_id,)).fetchone()[0]


def insert(conn: Connection, user_id: str, target_type: str, target_id: str, now: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO saved_items (user_id, target_type, target_id, saved_at) VALUES (?, ?, ?, ?)",
        (user_id, target_type, target_id, now),
    )


def delete(conn: Connection, user_id: str, target_type: str, target_id: str) -> None:
    conn.execute(
        "DELETE FROM saved_items WHERE user_id = ? AND target_type = ? AND target_id = ?",
        (user_id, target_type, target_id),
    )


def delete_all(conn: Connection, user_id: str) -> None:
    conn.execute("DELETE FROM saved_items WHERE user_id = ?", (user_id,))


async def page(db: Database, user_id: str, before: tuple[int, str] | None, limit: int) -> list[Any]:
    """Rows (target_type, target_id, saved_at) newest first, after the ``before`` cursor
    (saved_at, target_id) if given."""
    if before is None:
        return await db.fetchall(PAGE, (user_id, limit))
    return await db.fetchall(PAGE_BEFORE, (user_id, *before, limit))
