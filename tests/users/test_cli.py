"""`cryb user ...` and `cryb audit` as subprocesses, then the same data served over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cryb_node.app import build_app
from tests.conftest import run_cryb, write_config
from tests.support.waiting import eventually
from tests.users.conftest import users_config
from tests.users_fixtures import PASSWORD, auth, register_user

FAST = """
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
[log]
level = "WARNING"
"""


def cryb(tmp_path: Path, *args: str):
    config = write_config(tmp_path / "cryb.toml", FAST)
    return run_cryb("--config", str(config), "--data", str(tmp_path / "data"), *args)


async def test_cli_creates_admin_manages_accounts_and_shows_the_audit(tmp_path, aiohttp_client):
    res = cryb(
        tmp_path, "user", "create", "boss", "--email", "boss@example.test", "--password", PASSWORD, "--admin"
    )
    assert res.returncode == 0, res.stderr
    assert "boss" in res.stdout and "admin" in res.stdout
    assert (
        cryb(
            tmp_path, "user", "create", "worker", "--email", "w@example.test", "--password", PASSWORD
        ).returncode
        == 0
    )
    dup = cryb(tmp_path, "user", "create", "Worker", "--email", "x@example.test", "--password", PASSWORD)
    assert dup.returncode != 0 and "already in use (username)" in dup.stderr
    listed = json.loads(cryb(tmp_path, "user", "list", "--json").stdout)
    # newest first: the console's order, where a wave of new sign-ups shows at the top
    assert [(a["username"], a["admin"]) for a in listed] == [("worker", False), ("boss", True)]
    assert cryb(tmp_path, "user", "promote", "worker").returncode == 0
    assert cryb(tmp_path, "user", "disable", "w@example.test").returncode == 0
    shown = json.loads(cryb(tmp_path, "user", "show", "worker", "--json").stdout)
    assert shown["admin"] is True and shown["status"] == "disabled" and shown["email"] == "w@example.test"
    link = cryb(tmp_path, "user", "reset-password", "boss")
    assert link.returncode == 0 and "reset link: " in link.stdout
    token = link.stdout.strip().split("token=")[1]
    audit = json.loads(cryb(tmp_path, "audit", "--json").stdout)
    actions = [e["action"] for e in audit]
    for expected in ("account.created", "account.promoted", "account.disabled", "password.reset_requested"):
        assert expected in actions

    # The same node served over HTTP sees what the CLI did.
    cfg = users_config(tmp_path / "data")
    client = await aiohttp_client(build_app(cfg))
    worker = await client.post("/api/v1/auth/login", json={"login": "worker", "password": PASSWORD})
    assert worker.status == 403
    resp = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "boss's new password"}
    )
    assert resp.status == 204
    boss = await (
        await client.post("/api/v1/auth/login", json={"login": "boss", "password": "boss's new password"})
    ).json()
    page = await (await client.get("/api/v1/admin/audit", headers=auth(boss["access_token"]))).json()
    assert page["entries"][0]["action"] == "login.succeeded"


async def test_cli_disable_signs_out_a_user_of_the_running_node(tmp_path, aiohttp_client):
    cfg = users_config(tmp_path / "data", {"revocation_poll_s": 0.1})
    client = await aiohttp_client(build_app(cfg))
    _, token = await register_user(client, "runner")
    res = await asyncio.to_thread(cryb, tmp_path, "user", "disable", "runner")
    assert res.returncode == 0, res.stderr

    async def refused() -> bool:
        return (await client.get("/api/v1/users/@me", headers=auth(token))).status == 401

    await eventually(refused, 5, what="the access token to stop working after `cryb user disable`")
