"""The scheduled events plugin's reads (the projections' writes are in events.py). Rows are
sqlite3.Row, read by column name; writes take the writer's connection."""

from __future__ import annotations

from cryb_node.db import Connection, Database, Row

from .events import STANDING

# A scheduled event as service.Happenings shows it.
EVENT = (
    "SELECT id, community_id, creator_id, title, description, start_ms, end_ms, time_zone, channel_id,"
    " location_text, cover_media_id, cancelled FROM hap_events"
)
LISTED = 500  # a community's list and its calendar feed show at most this many


async def event(db: Database, event_id: str) -> Row | None:
    """The event, once its create is here (an edit that came first only makes a placeholder)."""
    return await db.fetchone(f"{EVENT} WHERE id = ? AND created = 1", (event_id,))


async def events_ending_after(db: Database, community_id: str, after_ms: int, length_ms: int) -> list[Row]:
    """The community's events that end after ``after_ms`` (one without an end lasts ``length_ms``),
    by start."""
    return await db.fetchall(
        f"{EVENT} WHERE community_id = ? AND created = 1 AND coalesce(end_ms, start_ms + ?) > ?"
        f" ORDER BY start_ms, id LIMIT {LISTED}",
        (community_id, length_ms, after_ms),
    )


async def every_event(db: Database, community_id: str, *, latest_first: bool = False) -> list[Row]:
    """The community's events, cancelled and past ones too, by start."""
    order = "start_ms DESC, id" if latest_first else "start_ms, id"
    return await db.fetchall(
        f"{EVENT} WHERE community_id = ? AND created = 1 ORDER BY {order} LIMIT {LISTED}", (community_id,)
    )


async def answers(db: Database, event_ids: list[str]) -> list[Row]:
    """event_id, user_id, status of the answers that count (going or interested), oldest first."""
    marks = ",".join("?" * len(event_ids))
    return await db.fetchall(
        "SELECT r.event_id, r.user_id, r.status FROM hap_rsvps r JOIN hap_events v ON v.id = r.event_id"
        f" AND v.community_id = r.community_id WHERE r.event_id IN ({marks}) AND r.status != 'none'"
        f" AND {STANDING} ORDER BY r.hlc",
        event_ids,
    )


async def due_reminders(db: Database, after_ms: int, until_ms: int) -> list[Row]:
    """id, community_id, title, start_ms, time_zone of each event starting in (after, until] with the
    user_id of each member who answered it and has not been reminded of that start."""
    return await db.fetchall(
        "SELECT v.id, v.community_id, v.title, v.start_ms, v.time_zone, r.user_id FROM hap_events v"
        " JOIN hap_rsvps r ON r.event_id = v.id AND r.community_id = v.community_id"
        " WHERE v.created = 1 AND v.cancelled = 0 AND v.start_ms > ? AND v.start_ms <= ?"
        f" AND r.status IN ('going', 'interested') AND {STANDING}"
        " AND NOT EXISTS (SELECT 1 FROM hap_reminded m"
        " WHERE m.event_id = v.id AND m.user_id = r.user_id AND m.start_ms = v.start_ms)",
        (after_ms, until_ms),
    )


def mark_reminded(conn: Connection, event_id: str, user_id: str, start_ms: int) -> bool:
    """Record the reminder; False if this member was reminded of this start already."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO hap_reminded (event_id, user_id, start_ms) VALUES (?, ?, ?)",
        (event_id, user_id, start_ms),
    )
    return bool(cur.rowcount)


async def planned_by(db: Database, user_id: str) -> list[Row]:
    """id, community_id, title, description, start_ms, time_zone, cancelled of the user's events."""
    return await db.fetchall(
        "SELECT id, community_id, title, description, start_ms, time_zone, cancelled FROM hap_events"
        " WHERE creator_id = ? AND created = 1 ORDER BY start_ms, id",
        (user_id,),
    )


async def answers_by(db: Database, user_id: str) -> list[Row]:
    """event_id, community_id, title (NULL: the event is not here), status of the user's answers."""
    return await db.fetchall(
        "SELECT r.event_id, r.community_id, v.title, r.status FROM hap_rsvps r LEFT JOIN hap_events v"
        " ON v.id = r.event_id AND v.community_id = r.community_id AND v.created = 1"
        " WHERE r.user_id = ? AND r.status != 'none' ORDER BY r.hlc",
        (user_id,),
    )
