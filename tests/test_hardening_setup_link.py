"""The first-run setup link dies the moment any admin exists, whoever made that admin."""

from __future__ import annotations

from cryb_node.app import build_app
from tests.conftest import cryb_env, make_config, run_cryb
from tests.users_fixtures import FAST_HASHING

BODY = {"username": "intruder", "email": "intruder@example.test", "password": "a long intruder password"}


async def test_setup_link_stops_working_once_the_cli_creates_an_admin(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client = await aiohttp_client(build_app(make_config(data, plugin={"users": FAST_HASHING})))
    link_file = data / "setup-link.txt"
    token = link_file.read_text().strip().split("#token=")[1]

    res = run_cryb(
        "--data", str(data), "user", "create", "nodeowner", "--email", "owner@example.test", "--admin",
        "--password", "a long admin password", env=cryb_env(CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT="1",
                                                          CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT="8192"),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert not link_file.exists()

    resp = await client.post("/api/v1/auth/setup", json={**BODY, "token": token})
    assert resp.status == 403, await resp.text()
    assert (await resp.json())["code"] == "setup_unavailable"
    assert not link_file.exists()


async def test_setup_link_refused_after_an_admin_is_promoted_by_the_cli(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client = await aiohttp_client(build_app(make_config(data, plugin={"users": FAST_HASHING})))
    token = (data / "setup-link.txt").read_text().strip().split("#token=")[1]
    env = cryb_env(CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT="1", CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT="8192")
    made = run_cryb("--data", str(data), "user", "create", "member", "--email", "m@example.test",
                    "--password", "a long member password", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (data / "setup-link.txt").exists()  # a member is not an admin: the link still stands
    promoted = run_cryb("--data", str(data), "user", "promote", "member", env=env)
    assert promoted.returncode == 0, promoted.stderr
    assert not (data / "setup-link.txt").exists()
    resp = await client.post("/api/v1/auth/setup", json={**BODY, "token": token})
    assert resp.status == 403
