"""Fixtures for the voice tests: a real node on loopback with a community, a voice channel, and
gateway sockets (the websockets library, an independent client)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets

from cryb_node.app import build_app
from tests.conftest import make_config
from tests.support.api import User, call, new_user, ok  # noqa: F401 (for the tests here)
from tests.users_fixtures import FAST_HASHING

VOICE = {"stun_urls": ["stun:stun.example.test:3478"], "turn_urls": ["turn:127.0.0.1:3478?transport=udp"],
         "turn_secret": "s3cret", "turn_ttl_s": 600}  # fmt: skip


def voice_config(data_dir: Path, **voice: Any):
    return make_config(
        data_dir,
        plugin={"users": dict(FAST_HASHING), "voice": {**VOICE, **voice}},
        rate_limits={"enabled": False},
    )


@pytest.fixture
async def vc(aiohttp_client, tmp_path: Path, clock):
    return await aiohttp_client(build_app(voice_config(tmp_path / "data"), clock=clock))


@dataclass
class Space:
    client: Any
    owner: User
    community: str
    text: str
    voice: str

    async def join(self) -> User:
        user = await new_user(self.client)
        await ok(self.client, "PUT", f"/communities/{self.community}/members/@me", user, json={})
        return user

    async def channel(self, name: str, kind: str = "voice") -> str:
        out = await ok(self.client, "POST", f"/communities/{self.community}/channels", self.owner,
                       json={"name": name, "kind": kind})  # fmt: skip
        return out["id"]


async def make_space(client: Any) -> Space:
    owner = await new_user(client)
    com = await ok(client, "POST", "/communities", owner, json={"name": "talk", "public": True})
    chans = await ok(client, "GET", f"/communities/{com['id']}/channels", owner)
    text = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
    space = Space(client, owner, com["id"], text, "")
    space.voice = await space.channel("lounge")
    return space


class Gw:
    """One gateway socket: send ops, wait for named dispatches (skipping others)."""

    def __init__(self, ws: Any, ready: dict) -> None:
        self.ws, self.ready = ws, ready

    async def op(self, op: str, d: Any) -> None:
        await self.ws.send(json.dumps({"op": op, "d": d}))

    async def next(self, *names: str, timeout: float = 5.0, where: Any = None) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if frame.get("op") == "DISPATCH" and frame["t"] in names and (where is None or where(frame["d"])):
                return frame

    async def none(self, *names: str, wait: float = 0.5) -> None:
        """Nothing named ``names`` arrives for ``wait`` seconds."""
        try:
            frame = await self.next(*names, timeout=wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {frame}")


async def gateway(client: Any, user: User) -> Gw:
    ws = await websockets.connect(f"ws://127.0.0.1:{client.server.port}/gateway", compression=None)
    assert json.loads(await ws.recv())["op"] == "HELLO"
    await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": user.token}}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ready["op"] == "READY"
    return Gw(ws, ready["d"])
