"""The users plugin's SQL for accounts, sign-in, sessions and profiles. Rows come back as sqlite3.Row,
read by column name; a function taking ``conn`` runs inside the caller's write transaction."""

from __future__ import annotations

from typing import Any

from cryb_node.db import Connection, Database

# -- accounts -----------------------------------------------------------------------------------

LOGIN = "SELECT id, password_hash, status, admin, totp_enabled FROM users_accounts"
ACTIVE_ADMIN = "SELECT admin = 1 AND status = 'active' FROM users_accounts WHERE id = ?"


async def login_by_email(db: Database, email_index: bytes) -> Any:
    return await db.fetchone(LOGIN + " WHERE email_index = ?", (email_index,))


async def login_by_username(db: Database, username_key: str) -> Any:
    return await db.fetchone(LOGIN + " WHERE username_key = ?", (username_key,))


async def is_active_admin(db: Database, user_id: str) -> bool:
    """Re-read on every admin request: a demotion or a disable applies at once."""
    return bool(await db.fetchval(ACTIVE_ADMIN, (user_id,)))


TAKEN = (
    "SELECT username_key = ? AS username_taken FROM users_accounts"
    " WHERE username_key = ? OR email_index = ? LIMIT 1"
)


def _taken(row: Any) -> str | None:
    return None if row is None else "username" if row["username_taken"] else "email"


async def taken_name_or_email(db: Database, username_key: str, email_index: bytes | None) -> str | None:
    """Which of the two an existing account already has ("username" first), or None."""
    return _taken(await db.fetchone(TAKEN, (username_key, username_key, email_index)))


def taken_name_or_email_in_tx(conn: Connection, username_key: str, email_index: bytes | None) -> str | None:
    return _taken(conn.execute(TAKEN, (username_key, username_key, email_index)).fetchone())


def insert_account(
    conn: Connection,
    *,
    user_id: str,
    username: str,
    email_ct: bytes | None,
    email_index: bytes | None,
    verified: bool,
    password_hash: bytes | None,
    admin: bool,
    status: str,
    now: int,
) -> None:
    conn.execute(
        "INSERT INTO users_accounts (id, username, username_key, email_ct, email_index,"
        " email_verified, password_hash, admin, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (user_id, username, username.lower(), email_ct, email_index, int(verified), password_hash,
         int(admin), status, now, now),
    )  # fmt: skip


def status_and_admin(conn: Connection, user_id: str) -> Any:
    return conn.execute("SELECT status, admin FROM users_accounts WHERE id = ?", (user_id,)).fetchone()


SUMMARY = (
    "SELECT id, username, email_ct, email_verified, admin, status, totp_enabled, created_at"
    " FROM users_accounts"
)


async def summary_by_email(db: Database, email_index: bytes) -> Any:
    return await db.fetchone(SUMMARY + " WHERE email_index = ?", (email_index,))


async def summary_by_id_or_name(db: Database, who: str) -> Any:
    return await db.fetchone(SUMMARY + " WHERE id = ? OR username_key = ?", (who, who.lower()))


async def summaries(db: Database, limit: int) -> list[Any]:
    """Accounts not erased, by id."""
    return await db.fetchall(SUMMARY + " WHERE status != 'deleted' ORDER BY id LIMIT ?", (limit,))


def is_last_active_admin(conn: Connection, user_id: str) -> bool:
    """The account is an active admin and no other active admin exists."""
    row = conn.execute(
        "SELECT admin = 1 AND status = 'active' AS active_admin FROM users_accounts WHERE id = ?", (user_id,)
    ).fetchone()
    if row is None or not row["active_admin"]:
        return False
    other = conn.execute(
        "SELECT 1 FROM users_accounts WHERE admin = 1 AND status = 'active' AND id != ? LIMIT 1", (user_id,)
    ).fetchone()
    return other is None


def account_status(conn: Connection, user_id: str) -> str | None:
    row = conn.execute("SELECT status FROM users_accounts WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else row["status"]


# -- sessions and refresh tokens ----------------------------------------------------------------


def insert_session(
    conn: Connection,
    *,
    session_id: str,
    user_id: str,
    now: int,
    expires_at: int,
    user_agent: str,
    ip_ct: bytes | None,
    refresh_hash: bytes,
) -> None:
    conn.execute(
        "INSERT INTO users_sessions (id, user_id, created_at, last_used_at, expires_at, user_agent,"
        " ip_ct) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, user_id, now, now, expires_at, user_agent, ip_ct),
    )
    insert_refresh(conn, refresh_hash, session_id, now)


def insert_refresh(conn: Connection, refresh_hash: bytes, session_id: str, now: int) -> None:
    conn.execute(
        "INSERT INTO users_refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
        (refresh_hash, session_id, now),
    )


def revoke_sessions(conn: Connection, user_id: str, reason: str, now: int, *, keep: str | None) -> list[str]:
    """Revoke every live session of the account but ``keep``; returns the ids revoked."""
    ids = [
        r["id"]
        for r in conn.execute(
            "SELECT id FROM users_sessions WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
            (user_id, keep),
        )
    ]
    conn.executemany(
        "UPDATE users_sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ?",
        [(now, reason, sid) for sid in ids],
    )
    return ids


def revoke_session(conn: Connection, session_id: str, user_id: str, reason: str, now: int) -> bool:
    cur = conn.execute(
        "UPDATE users_sessions SET revoked_at = ?, revoke_reason = ?"
        " WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        (now, reason, session_id, user_id),
    )
    return cur.rowcount == 1


def refresh_token(conn: Connection, token_hash: bytes) -> Any:
    """The presented refresh token with its session and account, or None."""
    return conn.execute(
        "SELECT t.session_id, t.used_at, s.user_id, s.revoked_at, s.expires_at, a.status, a.admin"
        " FROM users_refresh_tokens t JOIN users_sessions s ON s.id = t.session_id"
        " JOIN users_accounts a ON a.id = s.user_id WHERE t.token_hash = ?",
        (token_hash,),
    ).fetchone()


def spend_refresh(conn: Connection, token_hash: bytes, fresh_hash: bytes, session_id: str, now: int) -> None:
    """Rotate: the presented token is used up and its session gets a fresh one."""
    conn.execute("UPDATE users_refresh_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash))
    insert_refresh(conn, fresh_hash, session_id, now)
    conn.execute("UPDATE users_sessions SET last_used_at = ? WHERE id = ?", (now, session_id))


async def live_sessions(db: Database, user_id: str, now: int) -> list[Any]:
    """The account's sessions not revoked nor expired at ``now``, newest first."""
    return await db.fetchall(
        "SELECT id, created_at, last_used_at, expires_at, user_agent FROM users_sessions"
        " WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC",
        (user_id, now),
    )


# -- profiles -----------------------------------------------------------------------------------

ME = (
    "SELECT a.id, a.username, coalesce(p.display_name, '') AS display_name, coalesce(p.bio, '') AS bio,"
    " coalesce(p.pronouns, '') AS pronouns, p.avatar, a.email_ct, a.email_verified, a.admin,"
    " a.totp_enabled, a.status, a.created_at, coalesce(p.status_text, '') AS status_text, p.status_until"
    " FROM users_accounts a LEFT JOIN users_profiles p ON p.user_id = a.id WHERE a.id = ?"
)
PROFILE = (
    "SELECT p.user_id, p.username, p.display_name, p.bio, p.pronouns, p.avatar, a.status AS account_status,"
    " EXISTS (SELECT 1 FROM users_bots b WHERE b.user_id = p.user_id) AS bot, p.status_text, p.status_until"
    " FROM users_profiles p LEFT JOIN users_accounts a ON a.id = p.user_id"
    " WHERE p.user_id = ? AND p.erased = 0"
)
SNAPSHOT = (
    "SELECT display_name, bio, pronouns, avatar, status_text, status_until FROM users_profiles"
    " WHERE user_id = ?"
)


async def me(db: Database, user_id: str) -> Any:
    return await db.fetchone(ME, (user_id,))


async def profile(db: Database, user_id: str) -> Any:
    """A public profile not erased (``account_status`` is None for a user from another node)."""
    return await db.fetchone(PROFILE, (user_id,))


def snapshot(conn: Connection, user_id: str) -> Any:
    """The profile fields a user.profile event carries, as they stand."""
    return conn.execute(SNAPSHOT, (user_id,)).fetchone()


# -- API tokens and bots ------------------------------------------------------------------------

API_TOKEN = (
    "SELECT id, user_id, name, scopes, created_at, expires_at, last_used_at FROM users_api_tokens"
    " WHERE revoked_at IS NULL"
)


async def api_tokens(db: Database, user_id: str) -> list[Any]:
    """The account's tokens not revoked, newest first."""
    return await db.fetchall(API_TOKEN + " AND user_id = ? ORDER BY created_at DESC, id", (user_id,))


async def api_token_in_use(db: Database, token_hash: bytes) -> Any:
    """A presented token not revoked, with its account's flags and whether that account is a bot."""
    return await db.fetchone(
        "SELECT t.id, t.user_id, t.scopes, t.expires_at, t.last_used_at, a.admin, a.status,"
        " b.user_id IS NOT NULL AS bot FROM users_api_tokens t JOIN users_accounts a ON a.id = t.user_id"
        " LEFT JOIN users_bots b ON b.user_id = t.user_id"
        " WHERE t.token_hash = ? AND t.revoked_at IS NULL",
        (token_hash,),
    )


BOT = (
    "SELECT b.user_id, a.username, coalesce(p.display_name, '') AS display_name, b.owner_id, b.created_at"
    " FROM users_bots b JOIN users_accounts a ON a.id = b.user_id"
    " LEFT JOIN users_profiles p ON p.user_id = b.user_id WHERE a.status = 'active'"
)


async def bots(db: Database, owner_id: str) -> list[Any]:
    """The owner's bots that are not deleted, oldest first."""
    return await db.fetchall(BOT + " AND b.owner_id = ? ORDER BY b.created_at, b.user_id", (owner_id,))


async def bot(db: Database, owner_id: str, bot_id: str) -> Any:
    return await db.fetchone(BOT + " AND b.user_id = ? AND b.owner_id = ?", (bot_id, owner_id))


# -- relationships and contacts -----------------------------------------------------------------


async def relationships(db: Database, user_id: str, kind: str | None) -> list[Any]:
    """``user_id``'s side of each pair (of ``kind``, or all), newest first, with the other's names."""
    return await db.fetchall(
        "SELECT r.other_id, coalesce(p.username, '') AS username,"
        " coalesce(p.display_name, '') AS display_name, r.type, r.created_at"
        " FROM users_relationships r LEFT JOIN users_profiles p ON p.user_id = r.other_id"
        " WHERE r.user_id = ? AND (? IS NULL OR r.type = ?) ORDER BY r.created_at DESC, r.other_id",
        (user_id, kind, kind),
    )


async def contact(db: Database, user_id: str) -> Any:
    """An active account's names and sealed address (with whether it is verified)."""
    return await db.fetchone(
        "SELECT a.username, coalesce(p.display_name, '') AS display_name, a.email_ct, a.email_verified"
        " FROM users_accounts a LEFT JOIN users_profiles p ON p.user_id = a.id"
        " WHERE a.id = ? AND a.status = 'active'",
        (user_id,),
    )


# -- a member's export --------------------------------------------------------------------------


async def all_sessions(db: Database, user_id: str) -> list[Any]:
    """Every session the account had, revoked and expired ones too, oldest first."""
    return await db.fetchall(
        "SELECT id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip_ct FROM users_sessions"
        " WHERE user_id = ? ORDER BY created_at",
        (user_id,),
    )


async def own_audit_page(db: Database, user_id: str, after: int, limit: int) -> list[Any]:
    """The account's own audit entries after the id ``after``, oldest first (no actor, no detail)."""
    return await db.fetchall(
        "SELECT id, at, action, ip_ct FROM users_audit WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?",
        (user_id, after, limit),
    )


async def own_relationships(db: Database, user_id: str) -> list[Any]:
    return await db.fetchall(
        "SELECT other_id, type, created_at FROM users_relationships WHERE user_id = ? ORDER BY created_at",
        (user_id,),
    )


async def public_names(db: Database, user_ids: list[str]) -> list[Any]:
    """The public profiles of ``user_ids`` (erased ones included, flagged), by id."""
    return await db.fetchall(
        "SELECT user_id, username, display_name, erased FROM users_profiles"
        f" WHERE user_id IN ({','.join('?' * len(user_ids))}) ORDER BY user_id",
        user_ids,
    )


# -- linked sign-in providers -------------------------------------------------------------------


async def oauth_links(db: Database, user_id: str, *, oldest_first: bool = False) -> list[Any]:
    order = "created_at" if oldest_first else "provider"
    return await db.fetchall(
        f"SELECT provider, created_at FROM users_oauth_links WHERE user_id = ? ORDER BY {order}", (user_id,)
    )
