"""Brute-force protection, the audit log, and PII at rest."""

from __future__ import annotations

import os
import time

import pytest
from aiohttp.test_utils import TestClient
from cryb_plugins.users.schemas import Settings
from cryb_plugins.users.service import CLI
from cryb_plugins.users.throttle import Throttle

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.db import DatabaseError
from tests.users.conftest import users_config, users_service
from tests.users_fixtures import PASSWORD, auth, register_user


async def make_admin(client: TestClient) -> str:
    """A node admin, created the way `cryb user create --admin` does, signed in over HTTP."""
    users = users_service(client)
    await users.create_account(
        "root_admin", "admin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    resp = await client.post("/api/v1/auth/login", json={"login": "root_admin", "password": PASSWORD})
    return (await resp.json())["access_token"]


async def test_eleventh_wrong_password_in_a_minute_is_refused_without_hashing_and_audited(
    aiohttp_client, tmp_path
):
    cfg = users_config(tmp_path / "d", {"slowdown_ms": 1})
    client = await aiohttp_client(build_app(cfg))
    victim, _ = await register_user(client, "victim")
    users = users_service(client)
    for attempt in range(10):
        resp = await client.post(
            "/api/v1/auth/login", json={"login": "victim", "password": f"wrong {attempt}"}
        )
        assert resp.status == 401
        assert (await resp.json())["code"] == "invalid_credentials"
    checked = users.hasher.verifications
    resp = await client.post("/api/v1/auth/login", json={"login": "victim", "password": "wrong again"})
    assert resp.status == 429 and (await resp.json())["code"] == "login_locked"
    assert int(resp.headers["Retry-After"]) > 0
    # Even the right password is refused while locked, and no hash was computed for either.
    resp = await client.post("/api/v1/auth/login", json={"login": "victim", "password": PASSWORD})
    assert resp.status == 429
    assert users.hasher.verifications == checked

    admin = await make_admin(client)
    page = await (
        await client.get("/api/v1/admin/audit", params={"user_id": victim}, headers=auth(admin))
    ).json()
    actions = [e["action"] for e in reversed(page["entries"])]
    assert actions.count("login.failed") == 10
    assert actions.count("login.lockout") == 1
    assert actions[-2:] == ["login.refused_locked", "login.refused_locked"]
    assert page["entries"][0]["ip"] == "127.0.0.1"


async def test_unknown_accounts_fail_and_lock_exactly_like_real_ones(aiohttp_client, tmp_path):
    client = await aiohttp_client(
        build_app(users_config(tmp_path / "d", {"slowdown_ms": 1, "account_failure_limit": 3}))
    )
    await register_user(client, "real")
    answers = {}
    for login in ("real", "ghost"):
        seen = []
        for _ in range(4):
            resp = await client.post(
                "/api/v1/auth/login", json={"login": login, "password": "nope nope nope"}
            )
            body = await resp.json()
            seen.append((resp.status, body["code"], body["detail"].split(";")[0]))
        answers[login] = seen
    assert answers["real"] == answers["ghost"]
    assert [s for s, _, _ in answers["real"]] == [401, 401, 401, 429]


async def test_failures_slow_down_before_the_lockout(aiohttp_client, tmp_path):
    cfg = users_config(tmp_path / "d", {"slowdown_ms": 200, "slowdown_after": 2})
    client = await aiohttp_client(build_app(cfg))
    await register_user(client, "slowpoke")
    for _ in range(2):
        await client.post("/api/v1/auth/login", json={"login": "slowpoke", "password": "bad password!"})
    started = time.perf_counter()
    await client.post("/api/v1/auth/login", json={"login": "slowpoke", "password": "bad password!"})
    assert time.perf_counter() - started >= 0.2


async def test_many_accounts_from_one_address_lock_the_address(aiohttp_client, tmp_path):
    cfg = users_config(tmp_path / "d", {"slowdown_ms": 1, "ip_failure_limit": 4})
    client = await aiohttp_client(build_app(cfg))
    await register_user(client, "target")
    for i in range(4):
        await client.post("/api/v1/auth/login", json={"login": f"spray{i}", "password": "Password1!"})
    resp = await client.post("/api/v1/auth/login", json={"login": "target", "password": PASSWORD})
    assert resp.status == 429


async def test_audit_is_admin_only_and_append_only(uclient):
    _, token = await register_user(uclient, "plain")
    assert (await uclient.get("/api/v1/admin/audit", headers=auth(token))).status == 403
    assert (await uclient.get("/api/v1/admin/audit")).status == 401
    db = uclient.app[NODE].db
    with pytest.raises(DatabaseError, match="append-only"):
        await db.write(lambda c: c.execute("DELETE FROM users_audit"))
    with pytest.raises(DatabaseError, match="append-only"):
        await db.write(lambda c: c.execute("UPDATE users_audit SET action = 'x'"))


async def test_raw_database_and_wal_hold_no_plaintext_email_or_address(uclient):
    email = "very.private.person@example.test"
    _, token = await register_user(uclient, "private", email=email)
    resp = await uclient.post("/api/v1/auth/login", json={"login": email.upper(), "password": PASSWORD})
    assert resp.status == 200  # found by the blind index, case-insensitively
    me = await (await uclient.get("/api/v1/users/@me", headers=auth(token))).json()
    assert me["email"] == email  # stored, decryptable, just not in clear

    node = uclient.app[NODE]
    db_file, wal = node.db_path, node.db_path.with_name(node.db_path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    for path in (db_file, wal):
        raw = path.read_bytes()
        for needle in (email, email.upper(), "very.private.person", "127.0.0.1"):
            assert needle.encode() not in raw, f"{needle} in {path.name}"
            assert needle.encode("utf-16-le") not in raw
    assert users_service(uclient).keys.blind("email", email) in wal.read_bytes() + db_file.read_bytes()
    key = node.data_dir / "keys" / "users.key"
    assert os.stat(key).st_mode & 0o777 == 0o600


def test_throttle_forgets_expired_failures_and_lockouts():
    now = [1000.0]
    throttle = Throttle(Settings(account_failure_limit=2, lockout_s=60, failure_window_s=30), lambda: now[0])
    throttle.fail("acct:a", 2)
    throttle.fail("ip:b", 5)
    assert throttle.fail("acct:a", 2) is True and throttle.locked_for("acct:a") == 60
    now[0] += 61
    throttle.sweep()
    assert throttle.locked_for("acct:a") <= 0
    assert throttle._failures == {} and throttle._locked_until == {}
