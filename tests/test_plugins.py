"""The plugin contract: a third-party plugin adds a route, migration, projection, bus subscriber,
scheduled job, readiness check and CLI command through the same loader built-ins use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryb_node import config as configmod
from cryb_node import plugins
from cryb_node.app import build_app
from cryb_node.node import Node
from tests.conftest import make_config, run_cryb


async def test_scheduled_job_runs_while_the_node_serves(tmp_path: Path):
    import asyncio

    node = Node(make_config(tmp_path / "data", plugin={"demo": {"job_interval_s": 0.05}}))
    async with node.running():
        for _ in range(100):
            if await node.db.fetchval("SELECT count(*) FROM demo_ticks") >= 3:
                break
            await asyncio.sleep(0.05)
        assert await node.db.fetchval("SELECT count(*) FROM demo_ticks") >= 3
        assert node.scheduler.runs["demo.tick"] >= 3


async def test_plugin_cli_command_uses_the_same_database(tmp_path: Path, demo_config_file: Path):
    data = tmp_path / "data"
    node = Node(make_config(data))
    async with node.running(background=False):
        from tests.demo_plugin import Note

        for i in range(3):
            await node.events.append("demo.note", Note(f"c{i}", "x"))
    res = run_cryb("--config", str(demo_config_file), "--data", str(data), "demo", "count")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "3"
    helptext = run_cryb("--config", str(demo_config_file), "--help").stdout
    assert "demo" in helptext and "doctor" in helptext


async def test_node_without_the_plugin_still_serves_without_its_routes(aiohttp_client, tmp_path: Path):
    cfg = configmod.convert({"node": {"data_dir": str(tmp_path / "d")}})
    client = await aiohttp_client(build_app(cfg))
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/api/v1/demo/notes")).status == 404
    doc = await (await client.get("/api/openapi.json")).json()
    assert not any(p.startswith("/api/v1/demo") for p in doc["paths"])
    info = await (await client.get("/api/v1/node")).json()
    assert "demo" not in info["plugins"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["no.such.module:plugin"], "cannot load 'no.such.module:plugin'"),
        (["tests.demo_plugin:Note"], "is not a named cryb_node.plugins.Plugin"),
        (["tests.demo_plugin:plugin", "tests.demo_plugin:plugin"], "two plugins are named 'demo'"),
        (["no-such-entry-point"], "no plugin entry point named"),
    ],
)
def test_bad_plugin_specs_are_config_errors(tmp_path: Path, extra, message):
    cfg = configmod.convert({"node": {"data_dir": str(tmp_path)}, "plugins": {"extra": extra}})
    with pytest.raises(configmod.ConfigError, match=message):
        plugins.load(cfg)


def test_settings_for_a_plugin_that_is_not_enabled_are_refused(tmp_path: Path):
    cfg = configmod.convert({"node": {"data_dir": str(tmp_path)}, "plugin": {"ghost": {"x": 1}}})
    with pytest.raises(configmod.ConfigError, match="plugin.ghost: no such plugin is enabled"):
        plugins.load(cfg)


def test_migrate_status_json_lists_plugin_migrations(tmp_path: Path, demo_config_file: Path):
    res = run_cryb(
        "--config", str(demo_config_file), "--data", str(tmp_path / "d"), "migrate", "--status", "--json"
    )
    assert res.returncode == 0
    states = {(r["source"], r["state"]) for r in json.loads(res.stdout)}
    assert {("core", "pending"), ("demo", "pending")} <= states
    assert {state for _, state in states} == {"pending"}
