"""The users plugin's SQL for the node admins' side: the console's account list, the audit log, the
reports queue, registration tokens and applications. Rows are sqlite3.Row, read by column name."""

from __future__ import annotations

import re
from typing import Any

from cryb_node.db import Connection, Database

# -- the console's accounts ---------------------------------------------------------------------

ADMIN_USER = (
    "SELECT a.id, a.username, a.email_ct, a.email_verified, a.admin, a.status, a.totp_enabled,"
    " a.created_at, coalesce(p.display_name, '') AS display_name,"
    " (SELECT max(s.last_used_at) FROM users_sessions s WHERE s.user_id = a.id) AS last_seen_at"
    " FROM users_accounts a LEFT JOIN users_profiles p ON p.user_id = a.id"
)


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text.lower()) + "%"


async def admin_user(db: Database, user_id: str) -> Any:
    return await db.fetchone(f"{ADMIN_USER} WHERE a.id = ?", (user_id,))


async def search_accounts(
    db: Database,
    *,
    email_index: bytes | None,
    q: str,
    status: str | None,
    admin: bool | None,
    after: str | None,
    limit: int,
) -> list[Any]:
    """Newest first: the account of an address (``email_index``), else those whose id is ``q`` or
    whose username or display name holds it; ``status`` None means every account not erased."""
    where: list[str] = []
    params: list[Any] = []
    if email_index is not None:
        where.append("a.email_index = ?")
        params.append(email_index)
    elif q:
        name = q.lstrip("@")
        where.append(r"(a.id = ? OR a.username_key LIKE ? ESCAPE '\' OR p.display_name LIKE ? ESCAPE '\')")
        params += [q.lower(), _like(name), _like(name)]  # ids are lower-case base32
    if status is None:
        where.append("a.status != 'deleted'")
    else:
        where.append("a.status = ?")
        params.append(status)
    if admin is not None:
        where.append("a.admin = ?")
        params.append(int(admin))
    if after:
        where.append("a.id < ?")
        params.append(after)
    sql = f"{ADMIN_USER} WHERE {' AND '.join(where)} ORDER BY a.id DESC LIMIT ?"
    return await db.fetchall(sql, (*params, limit))


async def live_session_count(db: Database, user_id: str, now: int) -> int:
    """Sessions signed in at ``now`` (not revoked, not expired)."""
    return await db.fetchval(
        "SELECT count(*) FROM users_sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
        (user_id, now),
    )


# -- the audit log ------------------------------------------------------------------------------


async def audit_entries(
    db: Database, *, user_id: str | None, action: str | None, before: int | None, limit: int
) -> list[Any]:
    """Newest first, filtered; keyset pagination on id."""
    where: list[str] = []
    params: list[Any] = []
    if user_id:
        where.append("user_id = ?")
        params.append(user_id)
    if action:
        where.append("action = ?")
        params.append(action)
    if before:
        where.append("id < ?")
        params.append(before)
    sql = (
        "SELECT id, at, action, user_id, actor_id, ip_ct, detail FROM users_audit"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY id DESC LIMIT ?"
    )
    return await db.fetchall(sql, (*params, limit))


# -- the reports queue --------------------------------------------------------------------------

REPORT = (
    "SELECT r.id, r.reporter_id, coalesce(rp.username, '') AS reporter_name, r.target_type, r.target_id,"
    " r.target_user, tp.username AS target_user_name, r.community_id, r.channel_id, r.post_id, r.label,"
    " r.excerpt, r.reason, r.status, r.note, r.resolved_by, r.resolved_at, r.created_at,"
    " ap.username AS resolved_by_name FROM users_reports r"
    " LEFT JOIN users_profiles rp ON rp.user_id = r.reporter_id"
    " LEFT JOIN users_profiles tp ON tp.user_id = r.target_user"
    " LEFT JOIN users_profiles ap ON ap.user_id = r.resolved_by"
)


async def reports(db: Database, *, status: str | None, after: str, limit: int) -> list[Any]:
    """Oldest first (a queue), after the id ``after``; ``status`` None means every report."""
    where, args = ["r.id > ?"], [after]
    if status is not None:
        where.append("r.status = ?")
        args.append(status)
    return await db.fetchall(f"{REPORT} WHERE {' AND '.join(where)} ORDER BY r.id LIMIT ?", (*args, limit))


async def report(db: Database, report_id: str) -> Any:
    return await db.fetchone(f"{REPORT} WHERE r.id = ?", (report_id,))


def insert_report(conn: Connection, values: dict[str, Any]) -> bool:
    """File a report; False when the reporter already has one open about the same target."""
    cur = conn.execute(
        "INSERT INTO users_reports (id, reporter_id, target_type, target_id, target_user, community_id,"
        " channel_id, post_id, label, excerpt, reason, created_at)"
        " VALUES (:id, :reporter_id, :target_type, :target_id, :target_user, :community_id, :channel_id,"
        " :post_id, :label, :excerpt, :reason, :created_at)"
        " ON CONFLICT (reporter_id, target_type, target_id) WHERE status = 'open' DO NOTHING",
        values,
    )
    return cur.rowcount == 1


def report_to_decide(conn: Connection, report_id: str) -> Any:
    return conn.execute(
        "SELECT status, reporter_id, target_type, target_user FROM users_reports WHERE id = ?", (report_id,)
    ).fetchone()


def close_report(
    conn: Connection, report_id: str, *, status: str, note: str, resolved_by: str, now_ms: int
) -> None:
    conn.execute(
        "UPDATE users_reports SET status = ?, note = ?, resolved_by = ?, resolved_at = ? WHERE id = ?",
        (status, note, resolved_by, now_ms, report_id),
    )


# -- registration tokens and applications -------------------------------------------------------

TOKEN = (
    "SELECT id, hint, created_at, created_by, expires_at, max_uses, uses, revoked_at"
    " FROM users_registration_tokens"
)


def insert_token(
    conn: Connection,
    *,
    token_id: str,
    token_hash: bytes,
    hint: str,
    created_by: str | None,
    created_at: int,
    expires_at: int | None,
    max_uses: int | None,
) -> Any:
    """Record a new token; returns its row (TOKEN)."""
    conn.execute(
        "INSERT INTO users_registration_tokens (id, token_hash, hint, created_by, created_at, expires_at,"
        " max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_id, token_hash, hint, created_by, created_at, expires_at, max_uses),
    )
    return token_by_id(conn, token_id)


def token_by_id(conn: Connection, token_id: str) -> Any:
    return conn.execute(f"{TOKEN} WHERE id = ?", (token_id,)).fetchone()


def token_by_id_or_hash(conn: Connection, token_id: str, token_hash: bytes) -> Any:
    return conn.execute(f"{TOKEN} WHERE id = ? OR token_hash = ?", (token_id, token_hash)).fetchone()


async def token_by_hash(db: Database, token_hash: bytes) -> Any:
    return await db.fetchone(f"{TOKEN} WHERE token_hash = ?", (token_hash,))


async def tokens(db: Database) -> list[Any]:
    """The latest 500, newest first."""
    return await db.fetchall(f"{TOKEN} ORDER BY created_at DESC, id DESC LIMIT 500")


def revoke_token(conn: Connection, token_id: str, now: int) -> None:
    conn.execute("UPDATE users_registration_tokens SET revoked_at = ? WHERE id = ?", (now, token_id))


def use_token(conn: Connection, token_id: str, now: float) -> bool:
    """Count one use if the token still admits someone at ``now`` (one guarded UPDATE)."""
    cur = conn.execute(
        "UPDATE users_registration_tokens SET uses = uses + 1 WHERE id = ? AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        (token_id, now),
    )
    return cur.rowcount == 1


async def applications(db: Database, limit: int) -> list[Any]:
    """Pending applications, oldest first, with the account they wait on."""
    return await db.fetchall(
        "SELECT a.id, a.username, a.email_ct, a.email_verified, p.display_name, p.answer_ct, p.created_at"
        " FROM users_applications p JOIN users_accounts a ON a.id = p.user_id"
        " WHERE a.status = 'pending' ORDER BY p.created_at, a.id LIMIT ?",
        (limit,),
    )


def application(conn: Connection, user_id: str) -> Any:
    """The pending application of ``user_id``: its username, sealed address and display name."""
    return conn.execute(
        "SELECT a.username, a.email_ct, p.display_name FROM users_accounts a"
        " JOIN users_applications p ON p.user_id = a.id WHERE a.id = ? AND a.status = 'pending'",
        (user_id,),
    ).fetchone()
