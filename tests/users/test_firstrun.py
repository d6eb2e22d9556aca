"""First run: a one-time link creates the node admin; it works once and never after an admin exists."""

from __future__ import annotations

import re

from cryb_node.app import build_app
from tests.conftest import make_config
from tests.users_fixtures import FAST_HASHING, auth

BODY = {"username": "rootadmin", "email": "root@example.test", "password": "a long admin password"}


def _token(data_dir) -> str:
    link = (data_dir / "setup-link.txt").read_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/setup#token=[\w-]+", link)
    return link.split("#token=")[1]


async def test_setup_link_creates_the_admin_once(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client = await aiohttp_client(build_app(make_config(data, plugin={"users": FAST_HASHING})))
    token = _token(data)
    assert (data / "setup-link.txt").stat().st_mode & 0o777 == 0o600

    wrong = await client.post("/api/v1/auth/setup", json={**BODY, "token": "nope"})
    assert wrong.status == 403 and (await wrong.json())["field"] == "token"
    bad = await client.post("/api/v1/auth/setup", json={**BODY, "token": token, "password": "short"})
    assert bad.status == 400 and (await bad.json())["field"] == "password"  # the link survives bad input

    ok = await client.post("/api/v1/auth/setup", json={**BODY, "token": token})
    assert ok.status == 201
    body = await ok.json()
    assert body["user"]["admin"] is True
    audit = await client.get("/api/v1/admin/audit", headers=auth(body["access_token"]))
    assert audit.status == 200  # a real node admin

    again = await client.post("/api/v1/auth/setup", json={**BODY, "username": "second", "token": token})
    assert again.status == 403
    assert not (data / "setup-link.txt").exists()


async def test_the_admin_may_be_called_admin_but_no_one_signing_up_may(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client = await aiohttp_client(build_app(make_config(data, plugin={"users": FAST_HASHING})))
    ok = await client.post("/api/v1/auth/setup", json={**BODY, "username": "admin", "token": _token(data)})
    assert ok.status == 201, await ok.text()
    assert (await ok.json())["user"]["username"] == "admin"
    body = {"username": "root", "email": "r@example.test", "password": "a long member password"}
    member = await client.post("/api/v1/auth/register", json=body)
    assert member.status == 400 and (await member.json())["code"] == "username_reserved"


async def test_no_link_once_an_admin_exists(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    first = await aiohttp_client(build_app(make_config(data, plugin={"users": FAST_HASHING})))
    assert (await first.post("/api/v1/auth/setup", json={**BODY, "token": _token(data)})).status == 201
    await first.close()
    again = await aiohttp_client(build_app(make_config(data, plugin={"users": FAST_HASHING})))
    assert not (data / "setup-link.txt").exists()
    resp = await again.post("/api/v1/auth/setup", json={**BODY, "username": "other", "token": "anything"})
    assert resp.status == 403


def test_cli_commands_offer_no_setup_link(tmp_path):
    from tests.conftest import run_cryb

    data = tmp_path / "data"
    res = run_cryb("--data", str(data), "user", "create", "nodeowner", "--email", "r@example.test", "--admin",
                   "--password", "a long admin password")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "setup#token=" not in res.stderr and not (data / "setup-link.txt").exists()
