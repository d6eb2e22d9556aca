"""Account management by the user (password, deactivate, delete with erasure) and by node admins
(disable, enable, promote, reset password, list). The CLI and the HTTP routes both call these.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.db import Connection
from cryb_node.events import Tx
from cryb_node.problems import Problem, not_found
from cryb_node.services import AUTHORED_CONTENT

from . import queries
from .events import ERASED, UserErased
from .keys import normalise_email

if TYPE_CHECKING:
    from .service import Client, Users


class AccountSummary(msgspec.Struct):
    id: str
    username: str
    email: str | None
    email_verified: bool
    admin: bool
    status: str
    totp_enabled: bool
    created_at: int


def _summary(users: Users, r: Any) -> AccountSummary:
    """From a queries.SUMMARY row (the address decrypted)."""
    return AccountSummary(
        id=r["id"], username=r["username"], email=users.keys.open(r["email_ct"]),
        email_verified=bool(r["email_verified"]), admin=bool(r["admin"]), status=r["status"],
        totp_enabled=bool(r["totp_enabled"]), created_at=r["created_at"],
    )  # fmt: skip


async def check_password(users: Users, user_id: str, password: str, field: str = "password") -> None:
    """For sensitive changes: the current password must be given (counted like failed sign-ins)."""
    key = f"acct:{user_id}"
    if users.throttle.locked_for(key) > 0:
        raise Problem("login_locked", 429, "too many wrong passwords; try again later")
    stored = await users.node.db.fetchval("SELECT password_hash FROM users_accounts WHERE id = ?", (user_id,))
    if stored is None:
        raise Problem("no_password", 400, "this account signs in through a provider only", field=field)
    if not await asyncio.to_thread(users.hasher.verify, stored, password):
        users.throttle.fail(key, users.s.account_failure_limit)
        raise Problem("wrong_password", 403, "the current password is not correct", field=field)


async def change_password(
    users: Users, user_id: str, session_id: str | None, current: str, new: str, client: Client
) -> None:
    await check_password(users, user_id, current, "current_password")
    pw_hash = await users.hash_password(new)

    def write(conn: Connection) -> list[str]:
        conn.execute(
            "UPDATE users_accounts SET password_hash = ?, updated_at = ? WHERE id = ?",
            (pw_hash, users.now(), user_id),
        )
        users.audit(conn, "password.changed", client, user_id=user_id)
        return users.revoke_sessions_in_tx(conn, user_id, "password_changed", keep=session_id)

    users.tokens.revoked(*await users.node.db.write(write))


async def set_status(
    users: Users, user_id: str, status: str, client: Client, *, actor_id: str | None = None
) -> None:
    """disabled (by an admin), deactivated (by the user) or active again. Leaving active signs out."""
    # An application is decided by approve/reject (registration.py), which publishes the account.
    # Checked before the transaction: no account ever becomes pending again once it is not.
    if await users.node.db.fetchval("SELECT status = 'pending' FROM users_accounts WHERE id = ?", (user_id,)):
        raise Problem("account_pending", 409, "this account waits for approval: approve or reject it")

    def write(conn: Connection) -> list[str]:
        was = queries.account_status(conn, user_id)
        if was is None or was == "deleted":
            raise not_found("user")
        if status != "active":
            keep_an_admin(conn, user_id)
        conn.execute(
            "UPDATE users_accounts SET status = ?, updated_at = ? WHERE id = ?",
            (status, users.now(), user_id),
        )
        users.audit(conn, f"account.{status}", client, user_id=user_id, actor_id=actor_id, was=was)
        return [] if status == "active" else users.revoke_sessions_in_tx(conn, user_id, status)

    users.tokens.revoked(*await users.node.db.write(write))


async def promote(users: Users, user_id: str, client: Client, *, actor_id: str | None = None) -> None:
    def write(conn: Connection) -> int:
        cur = conn.execute(
            "UPDATE users_accounts SET admin = 1 WHERE id = ? AND status != 'deleted'", (user_id,)
        )
        if cur.rowcount:
            users.audit(conn, "account.promoted", client, user_id=user_id, actor_id=actor_id)
        return cur.rowcount

    if not await users.node.db.write(write):
        raise not_found("user")
    users.tokens.admin_changed(user_id, True)


async def demote(users: Users, user_id: str, client: Client, *, actor_id: str | None = None) -> None:
    """A node admin no longer (refused for the last active admin)."""

    def write(conn: Connection) -> None:
        row = conn.execute(
            "SELECT admin FROM users_accounts WHERE id = ? AND status != 'deleted'", (user_id,)
        ).fetchone()
        if row is None:
            raise not_found("user")
        if not row["admin"]:
            return
        keep_an_admin(conn, user_id)
        conn.execute(
            "UPDATE users_accounts SET admin = 0, updated_at = ? WHERE id = ?", (users.now(), user_id)
        )
        users.audit(conn, "account.demoted", client, user_id=user_id, actor_id=actor_id)

    await users.node.db.write(write)
    users.tokens.admin_changed(user_id, False)


def keep_an_admin(conn: Connection, user_id: str) -> None:
    """The node always keeps an active admin: taking the last one away (demote, disable, deactivate,
    erase) would leave nobody able to run the console, so it is refused inside the same transaction."""
    if queries.is_last_active_admin(conn, user_id):
        raise Problem(
            "last_admin", 409, "this is the node's last active admin: make another account an admin first"
        )


async def set_password(
    users: Users, user_id: str, new: str, client: Client, *, actor_id: str | None = None
) -> None:
    """An admin sets a password (CLI reset-password): every session of the user ends."""
    pw_hash = await users.hash_password(new)

    def write(conn: Connection) -> list[str]:
        cur = conn.execute(
            "UPDATE users_accounts SET password_hash = ?, updated_at = ?"
            " WHERE id = ? AND status != 'deleted'",
            (pw_hash, users.now(), user_id),
        )
        if not cur.rowcount:
            raise not_found("user")
        users.audit(conn, "password.admin_reset", client, user_id=user_id, actor_id=actor_id)
        return users.revoke_sessions_in_tx(conn, user_id, "password_reset")

    users.tokens.revoked(*await users.node.db.write(write))


async def delete(users: Users, user_id: str, client: Client, *, actor_id: str | None = None) -> None:
    """Erase the account: PII and credentials wiped here, and a user.erased event so every node wipes
    the public profile, and the author's own delete of everything the user wrote (AuthoredContent:
    its text erased on every node it replicated to, the signed skeletons kept)."""
    authored = users.node.services.get(AUTHORED_CONTENT)

    def write(tx: Tx) -> list[str]:
        conn = tx.conn
        if queries.account_status(conn, user_id) in (None, "deleted"):
            raise not_found("user")
        keep_an_admin(conn, user_id)
        revoked = users.revoke_sessions_in_tx(conn, user_id, "deleted")
        conn.execute(
            "UPDATE users_accounts SET username = 'deleted', username_key = ?, email_ct = NULL,"
            " email_index = NULL, email_verified = 0, password_hash = NULL, admin = 0, status = 'deleted',"
            " totp_secret_ct = NULL, totp_enabled = 0, last_ip_ct = NULL, updated_at = ? WHERE id = ?",
            (f"deleted:{user_id}", users.now(), user_id),
        )
        conn.execute("UPDATE users_sessions SET ip_ct = NULL, user_agent = '' WHERE user_id = ?", (user_id,))
        for table in ("users_email_tokens", "users_recovery_codes", "users_oauth_links"):
            conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
        conn.execute("DELETE FROM users_relationships WHERE user_id = ? OR other_id = ?", (user_id, user_id))
        if authored is not None:
            # what the account wrote goes too, by its own deletes (replicated and final)
            authored.erase_author(tx, user_id)
        tx.append(ERASED, UserErased(), author=actor_id or user_id, target=user_id)
        users.audit(conn, "account.deleted", client, user_id=user_id, actor_id=actor_id)
        return revoked

    users.tokens.revoked(*await users.node.events.transaction(write))


async def find(users: Users, who: str) -> AccountSummary:
    """An account by id, username or email (for the CLI)."""
    db = users.node.db
    if "@" in who:
        row = await queries.summary_by_email(db, users.keys.blind("email", normalise_email(who)))
    else:
        row = await queries.summary_by_id_or_name(db, who)
    if row is None:
        raise not_found("user")
    return _summary(users, row)


async def list_accounts(users: Users, limit: int = 100) -> list[AccountSummary]:
    return [_summary(users, r) for r in await queries.summaries(users.node.db, limit)]
