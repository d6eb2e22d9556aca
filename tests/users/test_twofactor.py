"""TOTP two-factor sign-in, with codes computed here independently from the RFC 6238 definition."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
import segno
from cryb_plugins.users.twofactor import matching_step

from tests.users.conftest import count
from tests.users_fixtures import PASSWORD, auth, register_user


def rfc6238(secret_b32: str, at: float, step: int = 30, digits: int = 6) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // step), hashlib.sha1).digest()
    offset = digest[19] & 0xF
    code = (int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def test_rfc6238_reference_vector():
    # RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T = 59 -> 94287082 (8 digits).
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert rfc6238(secret, 59, digits=8) == "94287082"


# RFC 6238 appendix B, SHA-1 rows; the node uses 6 digits, which are the last 6 of the 8 shown there.
RFC6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "code8"), RFC6238_SHA1)
def test_node_totp_matches_rfc6238_vectors(at, code8):
    secret = b"12345678901234567890"
    assert matching_step(secret, code8[-6:], at) == at // 30
    # A code one step either side still matches (clock drift), at its own step; two steps off does not.
    b32 = base64.b32encode(secret).decode()
    assert matching_step(secret, rfc6238(b32, at + 30), at) == at // 30 + 1
    assert matching_step(secret, rfc6238(b32, at + 60), at) is None
    if at >= 60:
        assert matching_step(secret, rfc6238(b32, at - 30), at) == at // 30 - 1


def test_node_totp_refuses_non_ascii_digits_without_error():
    # Arabic-Indic digits for 287082: a wrong code, not a server error.
    assert matching_step(b"12345678901234567890", "\u0662\u0668\u0667\u0660\u0668\u0662", 59) is None


async def login(client, code=None, password=PASSWORD):
    body = {"login": "twofa", "password": password}
    if code is not None:
        body["totp_code"] = code
    return await client.post("/api/v1/auth/login", json=body)


async def test_totp_enrol_confirm_login_and_one_time_recovery_code(uclient):
    _, token = await register_user(uclient, "twofa")
    enrol = await uclient.post(
        "/api/v1/users/@me/totp/enrol", json={"password": PASSWORD}, headers=auth(token)
    )
    assert enrol.status == 200
    secret = (await enrol.json())["secret"]
    assert (await enrol.json())["otpauth_uri"].startswith("otpauth://totp/")
    # Not active until confirmed: sign-in still needs no code.
    assert (await login(uclient)).status == 200

    bad = await uclient.post("/api/v1/users/@me/totp/confirm", json={"code": "000000"}, headers=auth(token))
    assert bad.status == 400 and (await bad.json())["field"] == "code"
    now = time.time()
    ok = await uclient.post(
        "/api/v1/users/@me/totp/confirm", json={"code": rfc6238(secret, now - 30)}, headers=auth(token)
    )
    assert ok.status == 200
    recovery = (await ok.json())["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10

    missing = await login(uclient)
    assert missing.status == 401 and (await missing.json())["code"] == "totp_required"
    wrong = await login(uclient, "123456" if rfc6238(secret, now) != "123456" else "654321")
    assert wrong.status == 401 and (await wrong.json())["code"] == "totp_invalid"
    assert (await wrong.json())["field"] == "totp_code"
    # A wrong password with a code is still only "not correct": nothing said about the code.
    bad_pw = await login(uclient, "123456", password="wrong password!")
    assert bad_pw.status == 401 and (await bad_pw.json())["code"] == "invalid_credentials"
    code = rfc6238(secret, time.time())
    assert (await login(uclient, code)).status == 200
    # The same code cannot be replayed.
    assert (await login(uclient, code)).status == 401

    assert (await login(uclient, recovery[3])).status == 200
    assert (await login(uclient, recovery[3])).status == 401
    assert (
        await count(uclient, "SELECT count(*) FROM users_audit WHERE action = 'totp.recovery_code_used'") == 1
    )
    me = await (await uclient.get("/api/v1/users/@me", headers=auth(token))).json()
    assert me["totp_enabled"] is True

    off = await uclient.post(
        "/api/v1/users/@me/totp/disable",
        json={"password": PASSWORD, "code": recovery[0]},
        headers=auth(token),
    )
    assert off.status == 204
    assert (await login(uclient)).status == 200


def svg_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules drawn by segno's SVG path (absolute M, then relative m moves and h runs)."""
    path = re.search(r' d="([^"]+)"', svg).group(1)
    x = y = 0.0
    dark = set()
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(a)))
            x += float(a)
    return dark


async def test_enrolment_returns_a_qr_code_of_the_otpauth_uri_drawn_on_the_node(uclient):
    _, token = await register_user(uclient, "qrcode")
    enrol = await uclient.post(
        "/api/v1/users/@me/totp/enrol", json={"password": PASSWORD}, headers=auth(token)
    )
    body = await enrol.json()
    svg = body["qr_svg"]
    assert svg.startswith("<svg") and "<script" not in svg and "http://www.w3.org/2000/svg" in svg
    # The drawing is the QR code of exactly this URI (with its secret), with a 4-module quiet zone.
    expected = segno.make(body["otpauth_uri"], error="m", micro=False)
    want = {(x + 4, y + 4) for y, row in enumerate(expected.matrix) for x, v in enumerate(row) if v}
    assert svg_modules(svg) == want
    assert body["secret"] in body["otpauth_uri"]
