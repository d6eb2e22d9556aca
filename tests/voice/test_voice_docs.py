"""The `[plugin.voice]` examples in README.md and docs/voice.md are valid configuration, and a node
started with them hands out the STUN and TURN servers they name."""

from __future__ import annotations

import re
import time
import tomllib

import pytest

from cryb_node.app import build_app
from tests.conftest import ROOT
from tests.voice.conftest import make_space, ok, voice_config


def _examples(name: str) -> list[dict]:
    text = (ROOT / name).read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(\[plugin\.voice\]\n.*?)```", text, re.S)
    return [tomllib.loads(block)["plugin"]["voice"] for block in blocks]


def _example(name: str) -> dict:
    found = [e for e in _examples(name) if e.get("mode", "mesh") == "mesh"]
    assert found, f"{name} has no mesh [plugin.voice] example"
    return found[0]


@pytest.mark.parametrize("name", ["README.md", "docs/voice.md"])
async def test_the_documented_sfu_config_starts_a_node_in_sfu_mode(name, aiohttp_client, tmp_path):
    (example,) = [e for e in _examples(name) if e.get("mode") == "sfu"]
    config = voice_config(tmp_path / "data")
    config.plugin["voice"] = example
    client = await aiohttp_client(build_app(config))
    space = await make_space(client)
    out = await ok(client, "GET", f"/channels/{space.voice}/voice", await space.join())
    assert out["mode"] == "sfu" and out["ice_servers"] == []


@pytest.mark.parametrize("name", ["README.md", "docs/voice.md"])
async def test_the_documented_voice_config_starts_a_node_that_hands_out_those_servers(
    name, aiohttp_client, tmp_path
):
    example = _example(name)
    config = voice_config(tmp_path / "data")
    config.plugin["voice"] = example  # exactly as written, nothing from the test's defaults
    client = await aiohttp_client(build_app(config))
    space = await make_space(client)
    member = await space.join()
    out = await ok(client, "GET", f"/channels/{space.voice}/voice", member)
    assert out["ice_servers"][0] == {"urls": example["stun_urls"]}
    turn = out["ice_servers"][1]
    assert turn["urls"] == example["turn_urls"] and turn["username"].endswith(f":{member.id}")
    assert abs(out["ice_expires_at"] - (time.time() + example["turn_ttl_s"])) < 60
    assert out["mode"] == example.get("mode", "mesh")
