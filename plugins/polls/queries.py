"""The polls plugin's SQL: the poll, its vote and end projections, read by column name into the
tally's rows (tally.py), and the projections' writes (events.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryb_node.db import Connection, Database

from . import tally

POLL_COLUMNS = (
    "id, community_id, channel_id, target_type, author_id, question, answers, multiple, anonymous,"
    " created_at, closes_at, deleted"
)
POLL = f"SELECT {POLL_COLUMNS} FROM polls WHERE id = ?"
VOTES = "SELECT user_id, channel_id, choices, hlc, event_id FROM poll_votes WHERE poll_id = ?"
ENDS = "SELECT author_id, moderator, hlc, event_id FROM poll_ends WHERE poll_id = ?"
# The stored vote or end events of a poll, with their payloads ({table}: poll_votes or poll_ends).
STORED = (
    "SELECT e.id, e.body, c.content FROM {table} x JOIN events e ON e.id = x.event_id"
    " LEFT JOIN event_content c ON c.event_id = e.id WHERE x.poll_id = ?"
)
TABLES = ("polls", "poll_votes", "poll_ends")


def poll(conn: Connection, poll_id: str | None) -> tally.PollRow | None:
    row = conn.execute(POLL, (poll_id,)).fetchone()
    return tally.PollRow.of(row) if row is not None else None


def ends(conn: Connection, poll_id: str) -> list[Any]:
    return conn.execute(ENDS, (poll_id,)).fetchall()


def load(conn: Connection, poll_id: str) -> tuple[tally.PollRow, tally.Result] | None:
    """The poll and its count, read on a sqlite3 connection (projections, the writer)."""
    found = poll(conn, poll_id)
    if found is None:
        return None
    votes = conn.execute(VOTES, (poll_id,)).fetchall()
    return found, tally.count(found, votes, ends(conn, poll_id))


async def read(db: Database, poll_id: str) -> tuple[tally.PollRow, tally.Result] | None:
    """The poll and its count, read through the reader pool (the API)."""
    row = await db.fetchone(POLL, (poll_id,))
    if row is None:
        return None
    found = tally.PollRow.of(row)
    votes = await db.fetchall(VOTES, (poll_id,))
    return found, tally.count(found, votes, await db.fetchall(ENDS, (poll_id,)))


async def with_polls(db: Database, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that carry a poll not deleted (one query for a page of messages)."""
    rows = await db.fetchall(
        f"SELECT id FROM polls WHERE deleted = 0 AND id IN ({','.join('?' * len(ids))})", ids
    )
    return {r["id"] for r in rows}


def stored(conn: Connection, table: str, poll_id: str) -> list[Any]:
    return conn.execute(STORED.format(table=table), (poll_id,)).fetchall()


def withdraw(conn: Connection, table: str, event_id: bytes) -> None:
    conn.execute(f"DELETE FROM {table} WHERE event_id = ?", (event_id,))


def insert_vote(
    conn: Connection, *, event_id: bytes, poll_id: str | None, community_id: str | None, channel_id: str,
    user_id: str | None, choices: str, hlc: int,
) -> None:  # fmt: skip
    conn.execute(
        "INSERT OR IGNORE INTO poll_votes (event_id, poll_id, community_id, channel_id, user_id, choices,"
        " hlc) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event_id, poll_id, community_id, channel_id, user_id, choices, hlc),
    )


def insert_end(
    conn: Connection, *, event_id: bytes, poll_id: str | None, community_id: str | None,
    author_id: str | None, moderator: bool, hlc: int,
) -> None:  # fmt: skip
    conn.execute(
        "INSERT OR IGNORE INTO poll_ends (event_id, poll_id, community_id, author_id, moderator, hlc)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, poll_id, community_id, author_id, int(moderator), hlc),
    )


def insert_poll(conn: Connection, values: dict[str, Any]) -> None:
    """A new poll (``values``: every column of POLL_COLUMNS but ``deleted``)."""
    conn.execute(
        f"INSERT OR IGNORE INTO polls ({POLL_COLUMNS}) VALUES (:id, :community_id, :channel_id,"
        " :target_type, :author_id, :question, :answers, :multiple, :anonymous, :created_at, :closes_at, 0)",
        values,
    )


def mark_deleted(conn: Connection, poll_id: str | None, author_id: str | None) -> None:
    conn.execute("UPDATE polls SET deleted = 1 WHERE id = ? AND author_id = ?", (poll_id, author_id))


def clear_community(conn: Connection, community_id: str) -> None:
    for table in TABLES:
        conn.execute(f"DELETE FROM {table} WHERE community_id = ?", (community_id,))
