"""`cryb serve` as a real process: restarts reuse keys, SIGTERM drains to exit 0, SIGKILL loses no
acknowledged write."""

from __future__ import annotations

import asyncio
import json
import random
import urllib.request
from pathlib import Path

import aiohttp


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_restart_reuses_keys_and_sigterm_exits_0(node_process, demo_config_file: Path, tmp_path: Path):
    node = node_process(demo_config_file).start()
    first = _get(node.url + "/api/v1/node")
    assert (tmp_path / "data" / "cryb.db").exists()
    assert (tmp_path / "data" / "keys" / "node.key").stat().st_mode & 0o777 == 0o600
    assert node.terminate() == 0
    again = node_process(demo_config_file).start()
    assert _get(again.url + "/api/v1/node")["node_key"] == first["node_key"]
    assert again.terminate() == 0


async def _burst(url: str, acked: list[str]) -> None:
    """Eight writers post notes until the node goes away; ``acked`` gets each id answered 201."""
    async with aiohttp.ClientSession() as session:

        async def writer(w: int) -> None:
            i = 0
            while True:
                try:
                    async with session.post(f"{url}/api/v1/demo/notes", json={"text": f"w{w}-{i}"}) as resp:
                        if resp.status == 201:
                            acked.append((await resp.json())["id"])
                except (TimeoutError, aiohttp.ClientError):
                    return
                i += 1

        await asyncio.gather(*(writer(w) for w in range(8)))


def test_sigkill_mid_burst_loses_no_acknowledged_write(node_process, demo_config_file: Path, tmp_path: Path):
    rounds = 3
    all_acked: list[str] = []
    for r in range(rounds):
        node = node_process(demo_config_file, CRYB_RATE_LIMITS__ENABLED="false").start()
        acked: list[str] = []

        async def run(node, acked) -> None:
            task = asyncio.create_task(_burst(node.url, acked))
            await asyncio.sleep(0.3 + random.random() * 0.5)
            node.kill()  # mid-burst: requests are in flight
            await asyncio.wait_for(task, 10)

        asyncio.run(run(node, acked))
        assert len(acked) > 20, f"round {r}: too few writes acknowledged before the kill"
        all_acked += acked
    node = node_process(demo_config_file, CRYB_RATE_LIMITS__ENABLED="false").start()
    missing = []
    for note_id in all_acked:
        try:
            urllib.request.urlopen(f"{node.url}/api/v1/demo/notes/{note_id}", timeout=5).close()
        except urllib.error.HTTPError as err:
            missing.append((note_id, err.code))
    assert missing == []
    assert node.terminate() == 0
    from tests.conftest import run_cryb

    data = str(tmp_path / "data")
    doctor = run_cryb("--config", str(demo_config_file), "--data", data, "doctor", "--offline")
    assert doctor.returncode == 0, doctor.stdout
