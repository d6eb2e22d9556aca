"""The managed Litestream child inside a running node: its config and environment, restarts after
it dies, an unreachable or refusing S3 endpoint, status in /readyz and /metrics, verify."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.backup import litestream, replica, replication
from cryb_node.config import ConfigError, ReplicationSection
from cryb_node.node import Node
from tests.conftest import make_config
from tests.replication_fixtures import TcpProxy, note_ids_in
from tests.support.waiting import eventually


async def start_node(aiohttp_client, data_dir: Path, repl: dict[str, Any]) -> tuple[Any, Node]:
    client = await aiohttp_client(
        build_app(make_config(data_dir, replication=repl, rate_limits={"enabled": False}))
    )
    return client, client.server.app[NODE]


async def post_notes(client, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        resp = await client.post("/api/v1/demo/notes", json={"text": f"{tag}-{i}"})
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    return ids


def caught_up(node: Node) -> bool:
    assert node.replication is not None
    st = node.replication.status()
    return (
        st.state == "running" and st.problem is None and st.lag_s == 0 and st.replica_txid >= st.db_txid > 0
    )


async def restored_ids(node: Node, out: Path) -> set[str]:
    await asyncio.to_thread(replica.restore_file, node.config, node.db_path, out)
    return note_ids_in(out)


def file_target(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "type": "file",
        "path": str(tmp_path / "replica"),
        "sync_interval_s": 0.5,
        **extra,
    }


def test_config_names_the_missing_key_for_each_target_type():
    for tree, key in [({"type": "s3"}, "bucket"), ({"type": "file"}, "path"), ({"type": "sftp"}, "host")]:
        with pytest.raises(ConfigError, match=f"replication: `{key}` is required"):
            make_config(Path("/nowhere"), replication={"enabled": True, **tree})
    # Disabled replication needs nothing.
    assert make_config(Path("/nowhere")).replication.enabled is False


def test_child_environment_is_deliberate_and_credentials_stay_out_of_the_config_file(tmp_path: Path):
    cfg = ReplicationSection(enabled=True, type="s3", bucket="b", access_key_id="AK", secret_access_key="SK")
    environ = {"AWS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt", "HOME": "/root", "SECRET_THING": "x"}
    env = litestream.child_env(cfg, environ)
    assert env == {
        "HOME": "/root",
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "AK",
        "AWS_SECRET_ACCESS_KEY": "SK",
    }
    # Credentials may come from the node's environment instead of cryb.toml.
    from_env = litestream.child_env(
        ReplicationSection(enabled=True, type="s3", bucket="b"),
        {"AWS_ACCESS_KEY_ID": "EK", "AWS_SECRET_ACCESS_KEY": "ES", "AWS_SESSION_TOKEN": "T"},
    )
    assert (from_env["AWS_ACCESS_KEY_ID"], from_env["AWS_SESSION_TOKEN"]) == ("EK", "T")
    path = litestream.write_config(cfg, tmp_path / "cryb.db", tmp_path / "ls.yml", socket=None)
    assert "SK" not in path.read_text() and path.stat().st_mode & 0o777 == 0o600


def test_retention_and_intervals_reach_litestream(tmp_path: Path):
    cfg = ReplicationSection(
        enabled=True,
        type="file",
        path=str(tmp_path),
        sync_interval_s=0.25,
        retention_h=6,
        snapshot_interval_h=2,
    )
    doc = json.loads(litestream.render_config(cfg, tmp_path / "cryb.db", socket=None))
    assert doc["snapshot"] == {"interval": "7200000ms", "retention": "21600000ms"}
    assert doc["dbs"][0]["replica"]["sync-interval"] == "250ms"
    assert doc["dbs"][0]["monitor-interval"] == "250ms"


async def test_killed_litestream_is_restarted_and_the_gap_shows_then_closes(
    aiohttp_client, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(replication, "BACKOFF_FIRST_S", 2.0)  # long enough to look at the gap
    client, node = await start_node(aiohttp_client, tmp_path / "data", file_target(tmp_path))
    assert node.replication is not None
    # Litestream checkpoints while it replicates, also while it is down: the node's own are off.
    assert node.db.checkpoints.enabled is False
    checkpointed = node.db.checkpoints.done
    await post_notes(client, 3, "before")
    await eventually(lambda: caught_up(node), timeout=20, what="first sync")
    first_pid = node.replication.status().pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    await eventually(
        lambda: node.replication.status().restarts == 1, timeout=20, what="the supervisor to notice"
    )
    gap = await post_notes(client, 3, "gap")
    await asyncio.sleep(0.3)
    st = node.replication.status()
    assert st.state == "restarting" and st.pid is None
    assert st.last_error is not None and "litestream stopped (signal 9)" in st.last_error
    assert st.lag_s >= 0.3
    resp = await client.get("/readyz")
    body = await resp.json()
    # The node keeps serving: replication trouble makes it "degraded", not unready.
    assert resp.status == 200 and body["status"] == "degraded"
    assert (
        body["checks"]["replication"]["ok"] is False and "signal 9" in body["checks"]["replication"]["detail"]
    )
    metrics = await (await client.get("/metrics")).text()
    assert "cryb_replication_restarts_total 1.0" in metrics and "cryb_replication_up 0.0" in metrics

    await eventually(lambda: caught_up(node), timeout=20, what="the gap to close")
    st = node.replication.status()
    assert st.pid not in (None, first_pid) and st.restarts == 1
    body = await (await client.get("/readyz")).json()
    assert body["status"] == "ready" and body["checks"]["replication"]["ok"]
    assert set(gap) <= await restored_ids(node, tmp_path / "restored.db")
    assert node.db.checkpoints.done == checkpointed and node.db.checkpoints.rounds > 0
    assert f"cryb_db_checkpoints_total {float(checkpointed)}" in metrics


async def test_unreachable_endpoint_keeps_the_node_serving_and_loses_nothing_once_back(
    aiohttp_client, tmp_path: Path, s3_server, monkeypatch
):
    monkeypatch.setattr(replication, "STALL_AFTER_S", 2.0)
    monkeypatch.setattr(litestream, "SHUTDOWN_SYNC_TIMEOUT_S", 1.0)
    proxy = TcpProxy(s3_server.port)
    await proxy.up()
    repl = s3_server.settings(
        f"unreachable-{uuid.uuid4().hex[:8]}", endpoint=proxy.endpoint, sync_interval_s=0.5
    )
    client, node = await start_node(aiohttp_client, tmp_path / "data", repl)
    before = await post_notes(client, 3, "before")
    await eventually(lambda: caught_up(node), timeout=20, what="first sync")
    await proxy.down()
    during = await post_notes(client, 5, "during")  # every write still acknowledged
    # Litestream retries quietly; the node reports the replica falling behind.
    problem = await eventually(lambda: node.replication.status().problem, timeout=30, what="a problem")
    assert "behind: writes are not getting through" in problem
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "degraded"
    assert "not getting through" in body["checks"]["replication"]["detail"]
    assert (await client.post("/api/v1/demo/notes", json={"text": "still serving"})).status == 201
    await proxy.up()
    await eventually(lambda: caught_up(node), timeout=30, what="catching up")
    assert set(before + during) <= await restored_ids(node, tmp_path / "restored.db")
    await proxy.down()


async def test_wrong_credentials_show_in_status_and_nothing_is_lost_once_fixed(
    aiohttp_client, tmp_path: Path, s3_server, monkeypatch
):
    monkeypatch.setattr(litestream, "SHUTDOWN_SYNC_TIMEOUT_S", 1.0)  # the final sync cannot succeed
    prefix = f"creds-{uuid.uuid4().hex[:8]}"
    bad = s3_server.settings(prefix, secret_access_key="not-the-secret", sync_interval_s=0.5)
    client, node = await start_node(aiohttp_client, tmp_path / "data", bad)
    ids = await post_notes(client, 4, "unshipped")
    error = await eventually(lambda: node.replication.status().last_error, timeout=30, what="an error")
    assert "SignatureDoesNotMatch" in error
    # The media copy pass (local media backend) is refused too, and says so without the secret.
    media_error = await eventually(lambda: node.replication.status().media_error, timeout=30, what="media")
    assert media_error.startswith("copying media blobs failed") and "not-the-secret" not in media_error
    resp = await client.get("/readyz")
    assert resp.status == 200 and (await resp.json())["status"] == "degraded"
    await client.close()

    good = s3_server.settings(prefix, sync_interval_s=0.5)
    client, node = await start_node(aiohttp_client, tmp_path / "data", good)
    await eventually(lambda: caught_up(node), timeout=30, what="catching up")
    assert set(ids) <= await restored_ids(node, tmp_path / "restored.db")


async def test_verify_restores_a_copy_and_catches_a_tampered_event(aiohttp_client, tmp_path: Path):
    client, node = await start_node(aiohttp_client, tmp_path / "data", file_target(tmp_path))
    await post_notes(client, 4, "v")
    await eventually(lambda: caught_up(node), timeout=20, what="sync")
    good = await asyncio.to_thread(replica.verify, node.config, node.db_path, node.plugins)
    checks = {c["check"]: c for c in good.checks}
    assert good.ok and checks["integrity"]["ok"] and checks["event_log"]["detail"] == "4 events verified"

    def tamper(conn) -> None:
        body = bytearray(conn.execute("SELECT body FROM events WHERE seq = 2").fetchone()[0])
        body[len(body) // 2] ^= 0x01
        conn.execute("UPDATE events SET body = ? WHERE seq = 2", (bytes(body),))

    await node.db.write(tamper)
    await eventually(lambda: caught_up(node), timeout=20, what="the tampered row to replicate")
    bad = await asyncio.to_thread(replica.verify, node.config, node.db_path, node.plugins)
    event_log = next(c for c in bad.checks if c["check"] == "event_log")
    assert not bad.ok and not event_log["ok"] and "event pos 2 (demo.note)" in event_log["detail"]


async def test_a_cli_process_beside_a_replicated_node_never_checkpoints(tmp_path: Path):
    # `cryb user create` and the other commands open the node's database in a process of their
    # own; while the serving node's Litestream replicates it, a checkpoint from that process would
    # drop WAL frames Litestream has not copied yet. Without replication, it checkpoints as usual.
    replicated = Node(make_config(tmp_path / "a", replication=file_target(tmp_path)))
    async with replicated.running(background=False):
        assert replicated.replication is None  # not the serving process: Litestream is not its child
        assert replicated.db.checkpoints.enabled is False
        assert (
            await replicated.db.run_in_writer(lambda c: c.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
            == 0
        )
    plain = Node(make_config(tmp_path / "b"))
    async with plain.running(background=False):
        assert plain.db.checkpoints.enabled is True
