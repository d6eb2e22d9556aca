"""The notifications plugin's SQL for the inbox, pending notices, push subscriptions, preferences and
the index the rules read (who wrote what, who is in a DM, a role, a community); rows are read by
column name. The outbox and digests: queries_outbox.py."""

from __future__ import annotations

import msgspec

from cryb_node.db import Connection, Database, Row

from .schemas import NotificationOut, ScopePrefs, UserPrefs

_user_prefs = msgspec.json.Decoder(UserPrefs).decode
_scope_prefs = msgspec.json.Decoder(ScopePrefs).decode

# -- notices other plugins record (cryb_node.services.Notifier) ---------------------------------


def record_pending(conn: Connection, key: str, data: bytes) -> None:
    conn.execute("INSERT OR IGNORE INTO notif_pending (key, data) VALUES (?, ?)", (key, data))


async def pending(db: Database) -> list[Row]:
    """seq and data (a msgpack Notice) of the oldest 200 pending notices."""
    return await db.fetchall("SELECT seq, data FROM notif_pending ORDER BY seq LIMIT 200")


def forget_pending(conn: Connection, seqs: list[int]) -> None:
    conn.executemany("DELETE FROM notif_pending WHERE seq = ?", [(seq,) for seq in seqs])


# -- the inbox ----------------------------------------------------------------------------------

_INBOX = (
    "SELECT id, kind, actor_id, community_id, channel_id, target_id, preview, created_at, read_at"
    " FROM notif_inbox"
)


def _notification(r: Row) -> NotificationOut:
    return NotificationOut(
        id=r["id"], kind=r["kind"], actor_id=r["actor_id"], community_id=r["community_id"],
        channel_id=r["channel_id"], target_id=r["target_id"], preview=r["preview"],
        created_at=r["created_at"], read=r["read_at"] is not None,
    )  # fmt: skip


def insert_notification(
    conn: Connection, out: NotificationOut, user_id: str, source: str, digested: bool
) -> bool:
    """Store ``out`` in the user's inbox; False if (user, source) was told already (a replay)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO notif_inbox (id, user_id, kind, source, actor_id, community_id,"
        " channel_id, target_id, preview, created_at, digested) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (out.id, user_id, out.kind, source, out.actor_id, out.community_id, out.channel_id,
         out.target_id, out.preview, out.created_at, int(digested)),
    )  # fmt: skip
    return cur.rowcount > 0


async def inbox_page(
    db: Database, user_id: str, limit: int, *, before: str | None, unread: bool, community_id: str | None
) -> list[NotificationOut]:
    """The user's notifications, newest first, before the id ``before``."""
    where, args = "user_id = ? AND deleted = 0", [user_id]
    if before:
        where += " AND id < ?"
        args.append(before)
    if unread:
        where += " AND read_at IS NULL"
    if community_id:
        where += " AND community_id = ?"
        args.append(community_id)
    rows = await db.fetchall(f"{_INBOX} WHERE {where} ORDER BY id DESC LIMIT ?", (*args, limit))
    return [_notification(r) for r in rows]


async def unread(db: Database, user_id: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM notif_inbox WHERE user_id = ? AND read_at IS NULL AND deleted = 0", (user_id,)
    )


async def in_inbox(db: Database, user_id: str, nid: str) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM notif_inbox WHERE id = ? AND user_id = ? AND deleted = 0", (nid, user_id)
    )
    return bool(found)


def mark_read(
    conn: Connection, user_id: str, now: int, *, nid: str | None = None, community_id: str | None = None
) -> int:
    """Mark the user's unread notifications read (one, or those of a community); returns how many."""
    sql = "UPDATE notif_inbox SET read_at = ? WHERE user_id = ? AND read_at IS NULL AND deleted = 0"
    args: list[object] = [now, user_id]
    if nid is not None:
        sql, args = sql + " AND id = ?", [*args, nid]
    elif community_id is not None:
        sql, args = sql + " AND community_id = ?", [*args, community_id]
    return conn.execute(sql, args).rowcount


def delete_notification(conn: Connection, user_id: str, nid: str) -> int:
    # A tombstone, so a replayed event cannot bring the notification back.
    return conn.execute(
        "UPDATE notif_inbox SET deleted = 1, preview = '' WHERE id = ? AND user_id = ? AND deleted = 0",
        (nid, user_id),
    ).rowcount


async def mail_items(db: Database, ids: list[str]) -> list[Row]:
    """kind, actor_id and preview of the notifications ``ids`` (those still there), by id."""
    marks = ",".join("?" * len(ids))
    return await db.fetchall(
        f"SELECT kind, actor_id, preview FROM notif_inbox WHERE id IN ({marks}) ORDER BY id", tuple(ids)
    )


# -- Web Push subscriptions ---------------------------------------------------------------------


def subscribe(
    conn: Connection, sub_id: str, user_id: str, endpoint: str, p256dh: bytes, auth: bytes, now_s: int
) -> None:
    """The same endpoint again replaces its subscription (whoever held it)."""
    conn.execute(
        "INSERT INTO notif_push_subs (id, user_id, endpoint, p256dh, auth, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET id = excluded.id,"
        " user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth,"
        " created_at = excluded.created_at",
        (sub_id, user_id, endpoint, p256dh, auth, now_s),
    )


def unsubscribe(conn: Connection, user_id: str, sub_id: str) -> int:
    return conn.execute(
        "DELETE FROM notif_push_subs WHERE id = ? AND user_id = ?", (sub_id, user_id)
    ).rowcount


def subscriptions_of(conn: Connection, user_id: str) -> list[str]:
    rows = conn.execute("SELECT id FROM notif_push_subs WHERE user_id = ?", (user_id,)).fetchall()
    return [r["id"] for r in rows]


async def subscription(db: Database, sub_id: str) -> Row | None:
    """endpoint, p256dh and auth of a push subscription."""
    return await db.fetchone("SELECT endpoint, p256dh, auth FROM notif_push_subs WHERE id = ?", (sub_id,))


# -- preferences (JSON per user, and per community or channel) ----------------------------------

_USER = "SELECT data FROM notif_prefs WHERE user_id = ? AND scope = 'user' AND scope_id = ''"
_SCOPE = "SELECT data FROM notif_prefs WHERE user_id = ? AND scope = ? AND scope_id = ?"


def load_user(conn: Connection, user_id: str) -> UserPrefs:
    row = conn.execute(_USER, (user_id,)).fetchone()
    return _user_prefs(row["data"]) if row else UserPrefs()


def load_scope(conn: Connection, user_id: str, scope: str, scope_id: str | None) -> ScopePrefs | None:
    if scope_id is None:
        return None
    row = conn.execute(_SCOPE, (user_id, scope, scope_id)).fetchone()
    return _scope_prefs(row["data"]) if row else None


async def user_prefs(db: Database, user_id: str) -> UserPrefs:
    data = await db.fetchval(_USER, (user_id,))
    return _user_prefs(data) if data is not None else UserPrefs()


async def scope_prefs(db: Database, user_id: str, scope: str, scope_id: str) -> ScopePrefs:
    data = await db.fetchval(_SCOPE, (user_id, scope, scope_id))
    return _scope_prefs(data) if data is not None else ScopePrefs()


async def all_prefs(db: Database, user_id: str) -> list[Row]:
    """scope ('user', 'community' or 'channel'), scope_id and data (JSON) of the user's settings."""
    return await db.fetchall(
        "SELECT scope, scope_id, data FROM notif_prefs WHERE user_id = ? ORDER BY scope, scope_id", (user_id,)
    )


def save_prefs(conn: Connection, user_id: str, scope: str, scope_id: str, data: bytes) -> None:
    conn.execute(
        "INSERT INTO notif_prefs (user_id, scope, scope_id, data) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id, scope, scope_id) DO UPDATE SET data = excluded.data",
        (user_id, scope, scope_id, data.decode()),
    )


def clear_prefs(conn: Connection, user_id: str, scope: str, scope_id: str) -> None:
    conn.execute(
        "DELETE FROM notif_prefs WHERE user_id = ? AND scope = ? AND scope_id = ?", (user_id, scope, scope_id)
    )


# -- the index the rules read (rules.update_index keeps it) -------------------------------------


async def author_of(db: Database, target_id: object) -> str | None:
    return await db.fetchval("SELECT author_id FROM notif_authors WHERE target_id = ?", (target_id,))


async def _user_ids(db: Database, sql: str, args: tuple[object, ...]) -> list[str]:
    return [r["user_id"] for r in await db.fetchall(sql, args)]


async def dm_members(db: Database, channel_id: object) -> list[str]:
    return await _user_ids(db, "SELECT user_id FROM notif_dm_members WHERE channel_id = ?", (channel_id,))


async def role_members(db: Database, role_id: object) -> list[str]:
    return await _user_ids(
        db, "SELECT user_id FROM notif_role_members WHERE role_id = ? AND present = 1", (role_id,)
    )


async def community_members(db: Database, community_id: str | None) -> list[str]:
    return await _user_ids(
        db, "SELECT user_id FROM notif_members WHERE community_id = ? AND present = 1", (community_id,)
    )
