"""The notifications plugin's SQL for the outbox (mail and push rows, written in the transaction that
made the notification), digests and the retention sweep; rows are read by column name."""

from __future__ import annotations

import msgspec

from cryb_node.db import Connection, Database, Row

from .queries import load_user

_pack = msgspec.msgpack.Encoder().encode


def enqueue(
    conn: Connection, channel: str, user_id: str, dedupe: str, payload: object, at: int, now: int
) -> None:
    """Queue a mail or push (``channel``) to send from ``at`` (ms); a repeated ``dedupe`` is ignored."""
    conn.execute(
        "INSERT OR IGNORE INTO notif_outbox (channel, user_id, dedupe, payload, next_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (channel, user_id, dedupe, _pack(payload), at, now),
    )


async def due(db: Database, now: int) -> list[Row]:
    """id, channel, user_id, dedupe, payload (msgpack) and attempts of up to 100 rows due by ``now``."""
    return await db.fetchall(
        "SELECT id, channel, user_id, dedupe, payload, attempts FROM notif_outbox"
        " WHERE sent_at IS NULL AND failed_at IS NULL AND next_at <= ? ORDER BY next_at, id LIMIT 100",
        (now,),
    )


def mark_sent(conn: Connection, row_id: int, now: int) -> None:
    conn.execute("UPDATE notif_outbox SET sent_at = ? WHERE id = ?", (now, row_id))


def mark_failed(conn: Connection, row_id: int, now: int, why: str) -> None:
    conn.execute("UPDATE notif_outbox SET failed_at = ?, last_error = ? WHERE id = ?", (now, why, row_id))


def retry_later(
    conn: Connection, row_id: int, attempts: int, next_at: int, error: str, failed_at: int | None
) -> None:
    conn.execute(
        "UPDATE notif_outbox SET attempts = ?, next_at = ?, last_error = ?, failed_at = ? WHERE id = ?",
        (attempts, next_at, error, failed_at, row_id),
    )


def drop_subscription(conn: Connection, sub_id: str, now: int, error: str) -> None:
    """The push service forgot the subscription: forget it, and give up its queued pushes."""
    conn.execute("DELETE FROM notif_push_subs WHERE id = ?", (sub_id,))
    conn.execute(
        "UPDATE notif_outbox SET failed_at = ?, last_error = ? WHERE sent_at IS NULL"
        " AND failed_at IS NULL AND channel = 'push' AND dedupe LIKE ?",
        (now, error, f"push:%:{sub_id}"),
    )


async def digest_subscribers(db: Database) -> list[Row]:
    """user_id, period ('daily' or 'weekly') and last_at (None: never) of users who take digests."""
    return await db.fetchall(
        "SELECT p.user_id, json_extract(p.data, '$.email_digest') AS period, d.last_at FROM notif_prefs p"
        " LEFT JOIN notif_digests d ON d.user_id = p.user_id"
        " WHERE p.scope = 'user' AND json_extract(p.data, '$.email_digest') IN ('daily', 'weekly')"
    )


def queue_digest(conn: Connection, user_id: str, period: str, now: int) -> bool:
    """One transaction: pick the unread, not yet mailed notifications, queue the mail, mark them."""
    conn.execute(
        "INSERT INTO notif_digests (user_id, last_at) VALUES (?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET last_at = excluded.last_at",
        (user_id, now),
    )
    if not load_user(conn, user_id).email:
        return False
    ids = [
        r["id"]
        for r in conn.execute(
            "SELECT id FROM notif_inbox WHERE user_id = ? AND digested = 0 AND read_at IS NULL"
            " AND deleted = 0 ORDER BY id LIMIT 200",
            (user_id,),
        )
    ]
    if not ids:
        return False
    conn.executemany("UPDATE notif_inbox SET digested = 1 WHERE id = ?", [(i,) for i in ids])
    payload = {"type": "digest", "period": period, "ids": ids}
    enqueue(conn, "email", user_id, f"digest:{user_id}:{now}", payload, now, now)
    return True


def prune(conn: Connection, now: int, retention_days: int) -> int:
    """Forget old read/deleted notifications and finished outbox rows; returns how many rows went."""
    cutoff = now - retention_days * 86_400_000
    gone = conn.execute(
        "DELETE FROM notif_inbox WHERE created_at < ? AND (read_at IS NOT NULL OR deleted = 1)", (cutoff,)
    ).rowcount
    return (
        gone
        + conn.execute("DELETE FROM notif_outbox WHERE coalesce(sent_at, failed_at) < ?", (cutoff,)).rowcount
    )
