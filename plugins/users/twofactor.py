"""TOTP two-factor sign-in (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits) with one-time recovery codes.

Enrolment stores the secret encrypted but inactive; confirming with a valid code turns it on and
hands out ten recovery codes (stored as sha256, each usable once). A code is accepted one step
either side of now, and never twice: the last accepted step per user is remembered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import secrets
import struct
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import msgspec
import segno

from cryb_node.db import Connection
from cryb_node.problems import Problem

from .keys import token_hash

if TYPE_CHECKING:
    from .service import Client, Users

STEP_S = 30
DIGITS = 6
RECOVERY_CODES = 10


class Enrolment(msgspec.Struct):
    secret: str  # base32, for typing into an authenticator app
    otpauth_uri: str
    # The otpauth URI as a QR code (SVG, drawn here: the secret never goes to an outside service).
    qr_svg: str = ""


class RecoveryCodes(msgspec.Struct):
    recovery_codes: list[str]


def hotp(secret: bytes, counter: int) -> str:
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: bytes, code: str, now: float) -> int | None:
    step = int(now // STEP_S)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(hotp(secret, candidate), code):
            return candidate
    return None


def _normalise_recovery(code: str) -> str:
    return code.replace("-", "").replace(" ", "").lower()


async def enrol(users: Users, user_id: str, password: str, client: Client) -> Enrolment:
    await users.check_password(user_id, password)
    secret = os.urandom(20)

    def write(conn: Connection) -> str:
        row = conn.execute(
            "SELECT username, totp_enabled FROM users_accounts WHERE id = ?", (user_id,)
        ).fetchone()
        if row[1]:
            raise Problem("totp_enabled", 409, "two-factor sign-in is already on; disable it first")
        conn.execute(
            "UPDATE users_accounts SET totp_secret_ct = ? WHERE id = ?",
            (users.keys.seal(secret.hex()), user_id),
        )
        users._audit(conn, "totp.enrolment_started", client, user_id=user_id)
        return row[0]

    username = await users.node.db.write(write)
    b32 = base64.b32encode(secret).decode().rstrip("=")
    issuer = quote(users.node.config.node.name)
    uri = f"otpauth://totp/{issuer}:{quote(username)}?secret={b32}&issuer={issuer}&digits={DIGITS}&period={STEP_S}"
    return Enrolment(b32, uri, qr_svg(uri))


def qr_svg(uri: str) -> str:
    """An SVG QR code for an authenticator app to scan (error level M: scans off a screen reliably)."""
    out = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(
        out, kind="svg", scale=4, border=4, xmldecl=False, title="Two-factor setup QR code"
    )
    return out.getvalue().decode()


async def confirm(users: Users, user_id: str, code: str, client: Client) -> RecoveryCodes:
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]

    def write(conn: Connection) -> bool:
        row = conn.execute(
            "SELECT totp_secret_ct, totp_enabled FROM users_accounts WHERE id = ?", (user_id,)
        ).fetchone()
        if row[0] is None or row[1]:
            raise Problem("totp_not_enrolling", 409, "start enrolment first")
        step = matching_step(bytes.fromhex(users.keys.open(row[0]) or ""), code.strip(), time.time())
        if step is None:
            return False
        users.totp_last_step[user_id] = step
        conn.execute("UPDATE users_accounts SET totp_enabled = 1 WHERE id = ?", (user_id,))
        conn.execute("DELETE FROM users_recovery_codes WHERE user_id = ?", (user_id,))
        conn.executemany(
            "INSERT INTO users_recovery_codes (user_id, code_hash) VALUES (?, ?)",
            [(user_id, token_hash(_normalise_recovery(c))) for c in codes],
        )
        users._audit(conn, "totp.enabled", client, user_id=user_id)
        return True

    if not await users.node.db.write(write):
        raise Problem("invalid_code", 400, "that code is not correct", field="code")
    return RecoveryCodes(codes)


async def disable(users: Users, user_id: str, password: str, code: str, client: Client) -> None:
    await users.check_password(user_id, password)
    if not await check_login_code(users, user_id, code, client):
        raise Problem("invalid_code", 400, "that code is not correct", field="code")

    def write(conn: Connection) -> None:
        conn.execute(
            "UPDATE users_accounts SET totp_enabled = 0, totp_secret_ct = NULL WHERE id = ?", (user_id,)
        )
        conn.execute("DELETE FROM users_recovery_codes WHERE user_id = ?", (user_id,))
        users._audit(conn, "totp.disabled", client, user_id=user_id)

    await users.node.db.write(write)


async def check_login_code(users: Users, user_id: str, code: str, client: Client) -> bool:
    """A current TOTP code (not replayed) or an unused recovery code (then used up)."""
    code = code.strip()

    def write(conn: Connection) -> bool:
        if len(code) == DIGITS and code.isdigit():
            row = conn.execute(
                "SELECT totp_secret_ct FROM users_accounts WHERE id = ? AND totp_enabled = 1", (user_id,)
            ).fetchone()
            if row is None:
                return False
            step = matching_step(bytes.fromhex(users.keys.open(row[0]) or ""), code, time.time())
            if step is None or step <= users.totp_last_step.get(user_id, -1):
                return False
            users.totp_last_step[user_id] = step
            return True
        cur = conn.execute(
            "UPDATE users_recovery_codes SET used_at = ?"
            " WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            (int(time.time()), user_id, token_hash(_normalise_recovery(code))),
        )
        if cur.rowcount:
            users._audit(conn, "totp.recovery_code_used", client, user_id=user_id)
        return cur.rowcount == 1

    return await users.node.db.write(write)
