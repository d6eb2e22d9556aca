"""The node admin's dashboard API: pinned peers with their sync state (GET /api/v1/admin/peers, the
report `cryb peer status` prints) and the backups in the replica with the replication status
(GET /api/v1/admin/backups, the listing `cryb backup list` prints). Node admins only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cryb_plugins.users.service import CLI, USERS

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.backup.replica import list_backups
from cryb_node.sync import peers
from cryb_node.sync.parts import SYNC
from tests.conftest import free_port, make_config, run_cryb
from tests.support.waiting import eventually
from tests.users_fixtures import FAST_HASHING, PASSWORD, auth, register_user


async def admin_token(client) -> str:
    """A node admin made the way `cryb user create --admin` does, signed in over HTTP."""
    users = client.server.app[NODE].services.require(USERS)
    await users.create_account(
        "nodeadmin", "nodeadmin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    resp = await client.post("/api/v1/auth/login", json={"login": "nodeadmin", "password": PASSWORD})
    return (await resp.json())["access_token"]


async def test_admin_sees_a_pinned_peer_failing_to_sync_with_its_breaker_and_error(aiohttp_client, tmp_path):
    client = await aiohttp_client(
        build_app(
            make_config(
                tmp_path / "d",
                plugin={"users": FAST_HASHING, "sync": {"backoff_initial_s": 0.05, "breaker_failures": 2}},
                rate_limits={"enabled": False},
            )
        )
    )
    node = client.server.app[NODE]
    token = await admin_token(client)
    empty = await (await client.get("/api/v1/admin/peers", headers=auth(token))).json()
    assert empty == {"peers": [], "live": True}

    # Pinned with a key, as `cryb peer add URL --key HEX` does, at an address nothing answers on.
    key = bytes(range(32))
    url = f"http://127.0.0.1:{free_port()}"
    await peers.pin(node.db, key, url, "gone", now=node.clock.time())
    await node.services.require(SYNC).engine.refresh_peers()  # the running node's 5 s poll, now

    async def failing():
        body = await (await client.get("/api/v1/admin/peers", headers=auth(token))).json()
        return body if body["peers"] and (body["peers"][0]["failures"] or 0) >= 2 else None

    body = await eventually(failing, 15)
    (p,) = body["peers"]
    assert (p["node_key"], p["fingerprint"], p["url"], p["name"]) == (key.hex(), key.hex()[:16], url, "gone")
    assert p["state"] == "failing" and p["last_ok_at"] is None and p["lag_s"] is None
    assert p["circuit"] == "open" and p["retry_in_s"] > 0 and p["last_error"]
    assert p["sessions"] == 0 and p["events_in"] == 0 and p["forks_recorded"] == 0

    # A member is refused; so is an anonymous caller.
    _, member = await register_user(client)
    for path in ("/api/v1/admin/peers", "/api/v1/admin/backups"):
        assert (await client.get(path, headers=auth(member))).status == 403
        assert (await client.get(path)).status == 401


async def test_admin_sees_the_snapshots_in_a_file_replica_and_replication_status(aiohttp_client, tmp_path):
    replica = tmp_path / "replica"
    client = await aiohttp_client(
        build_app(
            make_config(
                tmp_path / "d",
                plugin={"users": FAST_HASHING},
                rate_limits={"enabled": False},
                replication={"enabled": True, "type": "file", "path": str(replica), "sync_interval_s": 0.25},
            )
        )
    )
    node = client.server.app[NODE]
    token = await admin_token(client)
    # A backup taken now, as `cryb backup now` asks the running node to (SIGUSR1).
    node.replication.request_snapshot()

    async def snapshotted():
        return node.replication.status().snapshots >= 1

    await eventually(snapshotted, 30)
    resp = await client.get("/api/v1/admin/backups", headers=auth(token))
    body = await resp.json()
    assert resp.status == 200, body
    expected = list_backups(node.config, node.db_path)  # what `cryb backup list` prints
    assert body["enabled"] is True and body["error"] is None
    assert body["target"] == f"file://{Path(replica).resolve()}" == body["listing"]["target"]
    snaps = body["listing"]["snapshots"]
    assert len(snaps) >= 1 and all(s["size"] > 0 and s["timestamp"] for s in snaps)
    assert [s["max_txid"] for s in snaps] == [s.max_txid for s in expected.snapshots]
    assert body["status"]["state"] == "running"
    assert body["status"]["target"] == body["target"] and body["status"]["snapshots"] >= 1


async def test_backups_say_replication_is_off_when_it_is(aiohttp_client, tmp_path):
    client = await aiohttp_client(
        build_app(make_config(tmp_path / "d", plugin={"users": FAST_HASHING}, rate_limits={"enabled": False}))
    )
    token = await admin_token(client)
    body = await (await client.get("/api/v1/admin/backups", headers=auth(token))).json()
    assert body == {"enabled": False, "target": None, "listing": None, "status": None, "error": None}


async def test_cli_peer_status_and_the_admin_api_give_one_report(aiohttp_client, tmp_path):
    """`cryb peer add URL --key HEX` pins, and `cryb peer status --json` prints the report the admin
    API answers (the API adds the serving node's live worker state)."""
    data, key = tmp_path / "d", bytes(range(1, 33))
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n')
    cli = ["--config", str(toml), "--data", str(data)]
    url = f"http://127.0.0.1:{free_port()}"
    added = await asyncio.to_thread(run_cryb, *cli, "peer", "add", url, "--key", key.hex(), "--name", "cli")
    assert added.returncode == 0, added.stderr
    status = await asyncio.to_thread(run_cryb, *cli, "peer", "status", "--json")
    assert status.returncode == 0, status.stderr
    (printed,) = json.loads(status.stdout)
    assert printed["state"] == "never synced" and printed["circuit"] is None

    cfg = make_config(
        data, plugin={"users": FAST_HASHING, "sync": {"auto": False}}, rate_limits={"enabled": False}
    )
    client = await aiohttp_client(build_app(cfg))
    token = await admin_token(client)
    (served,) = (await (await client.get("/api/v1/admin/peers", headers=auth(token))).json())["peers"]
    # What the database recorded is the same in both; the API adds the worker's live state (which
    # may already show a failed attempt at the unreachable peer).
    recorded = ("node_key", "fingerprint", "url", "name", "added_at", "forks_recorded", "last_ok_at")
    assert {k: served[k] for k in recorded} == {k: printed[k] for k in recorded}
    assert (served["node_key"], served["url"], served["name"]) == (key.hex(), url, "cli")
    assert served["circuit"] in ("closed", "half-open", "open") and served["failures"] is not None
