"""Upgrading a real older database: tests/fixtures/node-9221ba1.tar.gz is the data dir of a node built
from commit 9221ba1 (core + the first users schema), with one account. The current node migrates it
(backing it up first), the account still signs in with its old password, its profile is intact, and
`cryb doctor` is clean."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from cryb_node.app import build_app
from tests.conftest import ROOT, make_config, run_cryb

FIXTURE = ROOT / "tests" / "fixtures" / "node-9221ba1.tar.gz"


def _unpack(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(data, filter="data")
    return data


async def test_a_database_from_an_older_release_upgrades_and_keeps_its_accounts(aiohttp_client, tmp_path):
    data = _unpack(tmp_path)
    plan = run_cryb("--data", str(data), "migrate", "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    pending = {(p["source"], p["name"]) for p in json.loads(plan.stdout)}
    assert ("users", "security") in pending and ("communities", "communities") in pending

    client = await aiohttp_client(build_app(make_config(data)))
    resp = await client.post(
        "/api/v1/auth/login", json={"login": "oldtimer", "password": "an old long password"}
    )
    assert resp.status == 200, await resp.text()
    token = (await resp.json())["access_token"]
    me = await (await client.get("/api/v1/users/@me", headers={"Authorization": f"Bearer {token}"})).json()
    assert (me["display_name"], me["bio"], me["email"]) == ("Old Timer", "here since 0.1", "old@example.test")
    await client.close()

    assert len(list((data / "backups").glob("pre-upgrade-*.db"))) == 1
    status = run_cryb("--data", str(data), "migrate", "--status", "--json")
    assert {r["state"] for r in json.loads(status.stdout)} == {"applied"}
    doctor = run_cryb("--data", str(data), "doctor", "--offline")
    assert doctor.returncode == 0, doctor.stdout
