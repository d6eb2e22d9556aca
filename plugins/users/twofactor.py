"""TOTP two-factor sign-in (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits, computed by pyotp) with one-time
recovery codes.

Enrolment stores the secret encrypted but inactive; confirming with a valid code turns it on and
hands out ten recovery codes (stored as sha256, each usable once). A code is accepted one step
either side of now, and never twice: the last accepted step per user is remembered.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from cryb_node import lazy
from cryb_node.db import Connection
from cryb_node.problems import Problem

from .keys import token_hash

if TYPE_CHECKING:
    import pyotp
    import segno

    from .service import Client, Users
else:  # QR codes and TOTP are for the few sign-ins with two factors: loaded on first use
    pyotp = lazy.module("pyotp")
    segno = lazy.module("segno")

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


def _totp(secret: bytes) -> pyotp.TOTP:
    return pyotp.TOTP(base64.b32encode(secret).decode(), digits=DIGITS, interval=STEP_S)


def matching_step(secret: bytes, code: str, now: float) -> int | None:
    """The time step whose code this is (one step either side of now), or None. The step, not a
    yes/no as pyotp's verify() gives, because a step once accepted must never be accepted again."""
    totp = _totp(secret)
    step = totp.timecode(datetime.fromtimestamp(now, UTC))
    for candidate in (step, step - 1, step + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):  # constant time
            return candidate
    return None


def _secret(users: Users, sealed: bytes | None) -> bytes:
    return bytes.fromhex(users.keys.open(sealed) or "")


def _normalise_recovery(code: str) -> str:
    return code.replace("-", "").replace(" ", "").lower()


async def enrol(users: Users, user_id: str, password: str, client: Client) -> Enrolment:
    await users.check_password(user_id, password)
    secret = os.urandom(20)

    def write(conn: Connection) -> str:
        row = conn.execute(
            "SELECT username, totp_enabled FROM users_accounts WHERE id = ?", (user_id,)
        ).fetchone()
        if row["totp_enabled"]:
            raise Problem("totp_enabled", 409, "two-factor sign-in is already on; disable it first")
        conn.execute(
            "UPDATE users_accounts SET totp_secret_ct = ? WHERE id = ?",
            (users.keys.seal(secret.hex()), user_id),
        )
        users.audit(conn, "totp.enrolment_started", client, user_id=user_id)
        return row["username"]

    username = await users.node.db.write(write)
    uri = _totp(secret).provisioning_uri(name=username, issuer_name=users.node.config.node.name)
    return Enrolment(base64.b32encode(secret).decode().rstrip("="), uri, qr_svg(uri))


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
        if row["totp_secret_ct"] is None or row["totp_enabled"]:
            raise Problem("totp_not_enrolling", 409, "start enrolment first")
        step = matching_step(_secret(users, row["totp_secret_ct"]), code.strip(), users.node.clock.time())
        if step is None:
            return False
        users.totp_last_step[user_id] = step
        conn.execute("UPDATE users_accounts SET totp_enabled = 1 WHERE id = ?", (user_id,))
        conn.execute("DELETE FROM users_recovery_codes WHERE user_id = ?", (user_id,))
        conn.executemany(
            "INSERT INTO users_recovery_codes (user_id, code_hash) VALUES (?, ?)",
            [(user_id, token_hash(_normalise_recovery(c))) for c in codes],
        )
        users.audit(conn, "totp.enabled", client, user_id=user_id)
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
        users.audit(conn, "totp.disabled", client, user_id=user_id)

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
            step = matching_step(_secret(users, row["totp_secret_ct"]), code, users.node.clock.time())
            if step is None or step <= users.totp_last_step.get(user_id, -1):
                return False
            users.totp_last_step[user_id] = step
            return True
        cur = conn.execute(
            "UPDATE users_recovery_codes SET used_at = ?"
            " WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            (users.now(), user_id, token_hash(_normalise_recovery(code))),
        )
        if cur.rowcount:
            users.audit(conn, "totp.recovery_code_used", client, user_id=user_id)
        return cur.rowcount == 1

    return await users.node.db.write(write)
