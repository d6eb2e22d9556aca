"""Email verification, change of address and password reset: single-use, expiring tokens sent by mail.

Tokens are 256-bit random strings stored as sha256; using one marks it used in the same transaction
that applies it, so a second use always fails. The mailed link is returned to the caller as well,
which only the CLI shows (HTTP answers never contain it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from cryb_node.db import Connection
from cryb_node.mail import Mail, MailError
from cryb_node.problems import Problem

from .keys import new_secret_token, normalise_email, token_hash
from .validate import check_email

if TYPE_CHECKING:
    from .service import Client, Users

log = logging.getLogger(__name__)


def bad_token() -> Problem:
    return Problem("invalid_email_token", 400, "this link is invalid, expired or already used", field="token")


def _issue(conn: Connection, users: Users, user_id: str, purpose: str, email: str | None = None) -> str:
    token, now = new_secret_token("et_"), users.now()
    ttl = users.s.email_token_ttl_s if purpose == "verify" else users.s.reset_token_ttl_s
    # A new link replaces any unused one of the same purpose.
    conn.execute(
        "UPDATE users_email_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL",
        (now, user_id, purpose),
    )
    conn.execute(
        "INSERT INTO users_email_tokens (token_hash, user_id, purpose, email_ct, email_index, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            token_hash(token), user_id, purpose,
            users.keys.seal(email) if email else None,
            users.keys.blind("email", normalise_email(email)) if email else None,
            now, now + ttl,
        ),
    )  # fmt: skip
    return token


def _sealed_email(conn: Connection, user_id: str) -> bytes | None:
    row = conn.execute("SELECT email_ct FROM users_accounts WHERE id = ?", (user_id,)).fetchone()
    return row["email_ct"] if row else None


def _use_token(conn: Connection, token: str, purpose: str, now: int) -> str | None:
    """Spend an unused, unexpired link of ``purpose``; the account it was for, or None."""
    row = conn.execute(
        "SELECT user_id FROM users_email_tokens WHERE token_hash = ? AND purpose = ?"
        " AND used_at IS NULL AND expires_at > ?",
        (token_hash(token), purpose, now),
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE users_email_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash(token)))
    return row["user_id"]


def link(users: Users, path: str, token: str) -> str:
    return f"{users.node.config.base_url.rstrip('/')}{path}?token={token}"


async def _deliver(users: Users, to: str, subject: str, text: str, kind: str) -> bool:
    try:
        return await users.mailer.send(Mail(to, subject, text, kind))
    except MailError:
        log.exception("could not send %s mail", kind)
        raise Problem("mail_failed", 502, "the mail could not be sent; try again later") from None


async def send_verification(users: Users, user_id: str, client: Client) -> str:
    """Mail a verification link to the account's address; returns the link."""

    def write(conn: Connection) -> tuple[str | None, str]:
        sealed = _sealed_email(conn, user_id)
        users.audit(conn, "email.verification_sent", client, user_id=user_id)
        return users.keys.open(sealed), _issue(conn, users, user_id, "verify")

    email, token = await users.node.db.write(write)
    if email is None:
        raise Problem("no_email", 400, "this account has no email address", field="email")
    url = link(users, "/api/v1/auth/verify-email", token)
    text = f"Confirm your email address for {users.node.config.node.name}:\n\n{url}\n\nThe link works once."
    await _deliver(users, email, "Confirm your email address", text, "verify_email")
    return url


def send_verification_later(users: Users, user_id: str, client: Client) -> None:
    """After registration: mail in the background so a slow SMTP server never delays sign-up."""

    async def run() -> None:
        try:
            await send_verification(users, user_id, client)
        except Problem:
            pass  # already logged by _deliver

    task = asyncio.get_running_loop().create_task(run())
    users.background.add(task)
    task.add_done_callback(users.background.discard)


async def verify(users: Users, token: str, client: Client) -> str:
    def write(conn: Connection) -> str | None:
        now = users.now()
        user_id = _use_token(conn, token, "verify", now)
        if user_id is None:
            return None
        conn.execute(
            "UPDATE users_accounts SET email_verified = 1, updated_at = ? WHERE id = ?", (now, user_id)
        )
        users.audit(conn, "email.verified", client, user_id=user_id)
        return user_id

    user_id = await users.node.db.write(write)
    if user_id is None:
        raise bad_token()
    return user_id


async def change_email(users: Users, user_id: str, new_email: str, client: Client) -> str:
    """Switch the address at once, unverified, and mail a verification link to the new one."""
    new_email = check_email(new_email)
    index = users.keys.blind("email", normalise_email(new_email))

    def write(conn: Connection) -> None:
        taken = conn.execute(
            "SELECT 1 FROM users_accounts WHERE email_index = ? AND id != ?", (index, user_id)
        ).fetchone()
        if taken:
            raise Problem("email_taken", 409, "that email is already in use", field="email")
        conn.execute(
            "UPDATE users_accounts SET email_ct = ?, email_index = ?, email_verified = 0, updated_at = ?"
            " WHERE id = ?",
            (users.keys.seal(new_email), index, users.now(), user_id),
        )
        users.audit(conn, "email.changed", client, user_id=user_id)

    await users.node.db.write(write)
    return await send_verification(users, user_id, client)


async def request_reset(users: Users, email: str, client: Client) -> str | None:
    """Mail a reset link if the address belongs to an active account. The HTTP answer is the same
    either way; the link is returned for the CLI."""
    index = users.keys.blind("email", normalise_email(email))
    user_id = await users.node.db.fetchval(
        "SELECT id FROM users_accounts WHERE email_index = ? AND status = 'active'", (index,)
    )
    return await send_reset(users, user_id, client) if user_id else None


async def send_reset(users: Users, user_id: str, client: Client) -> str:
    """Issue a reset link for an account and mail it (if it has an address); returns the link."""

    def write(conn: Connection) -> tuple[str | None, str]:
        sealed = _sealed_email(conn, user_id)
        users.audit(conn, "password.reset_requested", client, user_id=user_id)
        return users.keys.open(sealed), _issue(conn, users, user_id, "reset")

    address, token = await users.node.db.write(write)
    # The web UI's page (cryb_node/webui.py) asks for the new password and POSTs it with the token.
    url = link(users, "/reset-password", token)
    if address:
        text = (
            f"Someone asked to reset the password of your account on {users.node.config.node.name}.\n"
            f"If it was you, use this link within the hour:\n\n{url}\n\nOtherwise ignore this mail."
        )
        await _deliver(users, address, "Reset your password", text, "password_reset")
    return url


async def confirm_reset(users: Users, token: str, new_password: str, client: Client) -> None:
    pw_hash = await users.hash_password(new_password)

    def write(conn: Connection) -> list[str] | None:
        now = users.now()
        user_id = _use_token(conn, token, "reset", now)
        if user_id is None:
            return None
        conn.execute(
            "UPDATE users_accounts SET password_hash = ?, updated_at = ? WHERE id = ?",
            (pw_hash, now, user_id),
        )
        users.audit(conn, "password.reset", client, user_id=user_id)
        return users.revoke_sessions_in_tx(conn, user_id, "password_reset")

    revoked = await users.node.db.write(write)
    if revoked is None:
        raise bad_token()
    users.tokens.revoked(*revoked)
