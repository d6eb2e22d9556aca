"""docs/scaling.md's 3-server NATS cluster, started from the page's own config block with loopback
ports: a primary publishing with stream_replicas = 3 and an edge on another server of the cluster;
the stream outlives the server the primary was talking to."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT, free_port, run_cryb

from .conftest import CONFIG, NATS_SERVER, ServeProcess, _handed_back, needs_nats
from .helpers import call, register
from .test_edges import _community, _readyz

pytestmark = [needs_nats, pytest.mark.slow]


def _doc_config() -> str:
    page = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    found = re.search(r"^```\n(server_name: nats-a\n.*?)^```", page, re.S | re.M)
    assert found, "docs/scaling.md lost its NATS cluster config"
    return found.group(1)


async def test_the_documented_nats_cluster_carries_the_stream_through_a_server_loss(tmp_path: Path):
    names = ["nats-a", "nats-b", "nats-c"]
    client = {n: free_port() for n in names}
    route = {n: free_port() for n in names}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    nodes: list[ServeProcess] = []
    try:
        for n in names:
            conf = _doc_config().replace("server_name: nats-a", f"server_name: {n}")
            conf = conf.replace("0.0.0.0:4222", f"127.0.0.1:{client[n]}")
            conf = conf.replace("0.0.0.0:6222", f"127.0.0.1:{route[n]}")
            conf = conf.replace("/var/lib/nats", str(tmp_path / n))
            for m in names:
                conf = conf.replace(f"nats-route://{m}:6222", f"nats-route://127.0.0.1:{route[m]}")
            (tmp_path / f"{n}.conf").write_text(conf)
            _handed_back(client[n])
            procs[n] = subprocess.Popen(
                [NATS_SERVER, "-c", str(tmp_path / f"{n}.conf")],
                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{n}.log", "a"),
            )  # fmt: skip
        config = tmp_path / "cryb.toml"
        config.write_text(CONFIG + "[scale]\nstream_replicas = 3\n", encoding="utf-8")
        await asyncio.sleep(3)  # the cluster elects its JetStream meta leader
        primary = ServeProcess(tmp_path / "primary", config, "--nats", f"nats://127.0.0.1:{client['nats-a']}")
        nodes.append(primary.start())
        async with aiohttp.ClientSession() as http:
            _, ola = await register(http, primary.url, "ola")
            _, text = await _community(http, primary.url, ola, "clusterroom")
            out = run_cryb("--config", str(config), "--data", str(tmp_path / "primary"), "scale", "snapshot",
                           str(tmp_path / "edge"))  # fmt: skip
            assert out.returncode == 0, out.stderr
            edge = ServeProcess(
                tmp_path / "edge", config, "--role", "edge", "--primary", primary.url,
                # the documented form: every server, comma-separated (the first is tried first)
                "--nats", ",".join(f"nats://127.0.0.1:{client[n]}" for n in ("nats-c", "nats-b", "nats-a")),
            )  # fmt: skip
            nodes.append(edge.start())
            one = await call(http, edge.url, "POST", f"channels/{text}/messages", ola, json={"content": "1"})
            procs["nats-c"].terminate()  # the edge's server goes; it fails over to the others
            procs["nats-c"].wait(10)
            two = await call(http, edge.url, "POST", f"channels/{text}/messages", ola, json={"content": "2"})
            # the edge reconnects to a server it learnt from the cluster and the R3 stream carries on
            async with asyncio.timeout(20):
                while True:
                    history = await call(http, edge.url, "GET", f"channels/{text}/messages", ola)
                    if {one["id"], two["id"]} <= {m["id"] for m in history["messages"]}:
                        break
                    await asyncio.sleep(0.2)
            ready = await _readyz(edge.url)
            assert ready["checks"]["stream"]["ok"], ready
    finally:
        for node in nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait(10)
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
                p.wait(10)
