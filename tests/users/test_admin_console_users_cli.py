"""The node admin console's users section through `cryb user ...` (the same console.py functions as
the HTTP routes in test_admin_console_users.py), run as a subprocess beside a serving node on the
same data directory: what the CLI does shows on the running node (tokens, sockets, content)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import cryb_env, make_config, write_config
from tests.content.conftest import make_space, ok
from tests.users_fixtures import FAST_HASHING, PASSWORD

FAST = """
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
[log]
level = "WARNING"
"""


async def cryb(tmp_path: Path, *args: str, answer: str | None = None) -> subprocess.CompletedProcess:
    """`cryb --config ... --data ... ARGS` in a thread, so the node serving beside it keeps running."""
    config = write_config(tmp_path / "cryb.toml", FAST)
    command = [sys.executable, "-m", "cryb_node", "--config", str(config), "--data", str(tmp_path / "data")]
    return await asyncio.to_thread(
        subprocess.run, [*command, *args], env=cryb_env(), capture_output=True, text=True, timeout=60,
        input=answer,
    )  # fmt: skip


async def cryb_json(tmp_path: Path, *args: str) -> Any:
    res = await cryb(tmp_path, *args, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture
async def served(tmp_path, aiohttp_client):
    """A boss (node admin, made by the CLI) and a serving node on the same data directory, with a
    community whose member wrote a message; revocations made by the CLI are seen within 0.1 s."""
    res = await cryb(
        tmp_path, "user", "create", "boss", "--email", "boss@example.test", "--password", PASSWORD, "--admin"
    )
    assert res.returncode == 0, res.stderr
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": {**FAST_HASHING, "revocation_poll_s": 0.1}},
        rate_limits={"enabled": False},
    )
    client = await aiohttp_client(build_app(cfg))
    space = await make_space(client)
    await ok(client, "PATCH", "/users/@me", space.member, json={"display_name": "Wanda Wonder"})
    await ok(
        client, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "cli-mark one"}
    )
    return space


async def name_of(client: Any, user_id: str) -> str:
    return await client.app[NODE].db.fetchval("SELECT username FROM users_accounts WHERE id = ?", (user_id,))


async def row(client: Any, user_id: str) -> tuple:
    r = await client.app[NODE].db.fetchone(
        "SELECT status, admin FROM users_accounts WHERE id = ?", (user_id,)
    )
    return tuple(r)


async def login(client: Any, name: str) -> tuple[int, Any]:
    resp = await client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    return resp.status, await resp.json()


async def me_status(client: Any, token: str) -> int:
    return (await client.get("/api/v1/users/@me", headers={"Authorization": f"Bearer {token}"})).status


async def test_cli_lists_searches_and_shows_accounts(tmp_path, served):
    c, member = served.client, served.member
    member_name, owner_name = await name_of(c, member.id), await name_of(c, served.owner.id)
    listed = await cryb_json(tmp_path, "user", "list")
    assert [a["username"] for a in listed] == [member_name, owner_name, "boss"]  # newest first
    assert listed[0]["display_name"] == "Wanda Wonder" and listed[0]["last_seen_at"] is not None
    assert [a["id"] for a in await cryb_json(tmp_path, "user", "list", "--search", "wonder")] == [member.id]
    email = f"{member_name.upper()}@example.test"
    assert [a["id"] for a in await cryb_json(tmp_path, "user", "list", "--search", email)] == [member.id]
    assert [a["username"] for a in await cryb_json(tmp_path, "user", "list", "--admin")] == ["boss"]
    readme = await cryb(tmp_path, "user", "list", "--search", "wonder", "--status", "active")  # README's
    assert readme.returncode == 0 and readme.stdout.startswith(f"{member.id}  {member_name}")

    text = await cryb(tmp_path, "user", "list", "--limit", "1")
    assert text.returncode == 0 and member_name in text.stdout and owner_name not in text.stdout
    assert f"more: --after {member.id}" in text.stdout
    page2 = await cryb_json(tmp_path, "user", "list", "--limit", "1", "--after", member.id)
    assert [a["username"] for a in page2] == [owner_name]
    bad = await cryb(tmp_path, "user", "list", "--status", "Bad!")
    assert bad.returncode != 0 and "status" in bad.stderr

    shown = await cryb_json(tmp_path, "user", "show", member_name)
    assert shown["id"] == member.id and shown["sessions"] == 1
    assert shown["written"] == {"messages": 1, "posts": 0, "comments": 0}
    assert shown["audit"][-1]["action"] == "account.created"
    text = await cryb(tmp_path, "user", "show", member.id)
    assert (
        "wrote: 1 messages, 0 posts, 0 comments" in text.stdout
        and "display name: Wanda Wonder" in text.stdout
    )


async def test_cli_disable_closes_the_running_nodes_socket_and_enable_lets_them_back(tmp_path, served):
    c, member = served.client, served.member
    name = await name_of(c, member.id)
    ws = await websockets.connect(f"ws://127.0.0.1:{c.server.port}/gateway", compression=None)
    await ws.recv()  # HELLO
    await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": member.token}}))
    assert json.loads(await ws.recv())["op"] == "READY"

    res = await cryb(tmp_path, "user", "disable", name)
    assert res.returncode == 0 and res.stdout.strip() == f"{name}: disabled"
    with pytest.raises(ConnectionClosed) as closed:  # the node's revocation poll closes it
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4004
    assert await me_status(c, member.token) == 401
    assert await row(c, member.id) == ("disabled", 0)
    assert (await login(c, name))[0] == 403

    assert (await cryb(tmp_path, "user", "enable", name)).returncode == 0
    assert await row(c, member.id) == ("active", 0)
    assert (await login(c, name))[0] == 200
    audit = await cryb_json(tmp_path, "audit", "--user", name)
    assert [e["action"] for e in audit][:2] == ["login.succeeded", "account.active"]
    assert audit[1]["actor_id"] is None  # the CLI: no signed-in actor


async def test_cli_promote_demote_and_the_last_admin_stays(tmp_path, served):
    c, member = served.client, served.member
    name = await name_of(c, member.id)
    assert (await cryb(tmp_path, "user", "promote", name)).stdout.strip() == f"{name}: node admin"
    assert await row(c, member.id) == ("active", 1)
    res = await cryb(tmp_path, "user", "demote", name)
    assert res.returncode == 0 and res.stdout.strip() == f"{name}: no longer a node admin"
    assert await row(c, member.id) == ("active", 0)
    for command in ("demote", "disable"):
        res = await cryb(tmp_path, "user", command, "boss")
        assert res.returncode != 0 and "last active admin" in res.stderr, command
    boss = await c.app[NODE].db.fetchone("SELECT status, admin FROM users_accounts WHERE username = 'boss'")
    assert tuple(boss) == ("active", 1)


async def test_cli_sign_out_ends_every_session(tmp_path, served):
    c, member = served.client, served.member
    name = await name_of(c, member.id)
    _, second = await login(c, name)
    res = await cryb(tmp_path, "user", "sign-out", name)
    assert res.returncode == 0 and res.stdout.strip() == f"{name}: 2 session(s) signed out"
    for token in (member.token, second["access_token"]):
        for _ in range(50):  # the node's revocation poll (0.1 s) learns what the CLI revoked
            if await me_status(c, token) == 401:
                break
            await asyncio.sleep(0.1)
        assert await me_status(c, token) == 401
    assert (await login(c, name))[0] == 200


async def _texts(c: Any, marker: str) -> int:
    return await c.app[NODE].db.fetchval(
        "SELECT count(*) FROM content_messages WHERE content LIKE ?", (f"%{marker}%",)
    )


async def test_cli_purge_content_asks_for_the_username_and_keeps_the_account(tmp_path, served):
    c, member = served.client, served.member
    name = await name_of(c, member.id)
    wrong = await cryb(tmp_path, "user", "purge-content", name, answer="not-the-name\n")
    assert wrong.returncode != 0 and "type the account's username" in wrong.stderr
    assert await _texts(c, "cli-mark") == 1
    typed = await cryb(tmp_path, "user", "purge-content", name, answer=f"{name}\n")
    assert typed.returncode == 0 and f"{name}: 1 item(s) deleted" in typed.stdout
    for _ in range(50):  # the CLI appended the deletes; the node's projection already holds them
        if await _texts(c, "cli-mark") == 0:
            break
        await asyncio.sleep(0.1)
    assert await _texts(c, "cli-mark") == 0
    assert await row(c, member.id) == ("active", 0)
    assert await me_status(c, member.token) == 200
    await ok(c, "POST", f"/channels/{served.text}/messages", member, json={"content": "cli-mark two"})
    res = await cryb(tmp_path, "user", "purge-content", name, "--yes")
    assert res.returncode == 0 and f"{name}: 1 item(s) deleted" in res.stdout


async def test_cli_erase_removes_the_account_and_what_it_wrote(tmp_path, served):
    c, member = served.client, served.member
    name = await name_of(c, member.id)
    refused = await cryb(tmp_path, "user", "erase", name, answer="\n")
    assert refused.returncode != 0 and await row(c, member.id) == ("active", 0)
    res = await cryb(tmp_path, "user", "erase", member.id, "--yes")
    assert res.returncode == 0 and res.stdout.strip() == f"{member.id}: erased"
    assert await row(c, member.id) == ("deleted", 0)
    assert await _texts(c, "cli-mark") == 0
    for _ in range(50):
        if await me_status(c, member.token) == 401:
            break
        await asyncio.sleep(0.1)
    assert await me_status(c, member.token) == 401
    assert (await login(c, name))[0] == 401
    gone = await cryb(tmp_path, "user", "erase", member.id, "--yes")
    assert gone.returncode != 0
    audit = await cryb_json(tmp_path, "audit", "--action", "account.deleted")
    assert [e["user_id"] for e in audit] == [member.id]
