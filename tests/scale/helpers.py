"""HTTP and gateway calls against the scale tests' processes."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from tests.conftest import run_cryb
from tests.users_fixtures import PASSWORD

API = "/api/v1/"


async def call(
    http: aiohttp.ClientSession, base: str, method: str, path: str, token: str | None = None, **kw: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers |= kw.pop("headers", {})
    async with http.request(method, base + API + path, headers=headers, **kw) as resp:
        body = await resp.read()
        assert resp.status < 300, (method, path, resp.status, body[:500])
        return json.loads(body) if body else {}


async def register(http: aiohttp.ClientSession, base: str, name: str) -> tuple[str, str]:
    got = await call(
        http, base, "POST", "auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": PASSWORD},
    )  # fmt: skip
    return got["user"]["id"], got["access_token"]


async def cli_admin(config: Path, data_dir: Path, prefix: str = "admin") -> str:
    """A node admin made beside the primary with `cryb user create --admin`; its username (the
    password is PASSWORD)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    out = await asyncio.to_thread(
        run_cryb, "--config", str(config), "--data", str(data_dir),
        "user", "create", name, "--email", f"{name}@example.test", "--password", PASSWORD, "--admin",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return name


class Listener:
    """An identified gateway session that records every dispatch it is sent."""

    def __init__(self, base: str, token: str) -> None:
        self.url = base.replace("http://", "ws://") + "/gateway"
        self.token = token
        self.frames: list[dict[str, Any]] = []
        self.ws: Any = None
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def open(self) -> Listener:
        self.ws = await websockets.connect(self.url, compression=None)
        assert json.loads(await asyncio.wait_for(self.ws.recv(), 10))["op"] == "HELLO"
        await self.ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": self.token}}))
        ready = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ready["op"] == "READY", ready
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("op") == "DISPATCH":
                    self.frames.append(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def messages(self) -> set[str]:
        return {f["d"]["id"] for f in self.frames if f["t"] == "MESSAGE_CREATE"}

    async def wait_messages(self, ids: set[str], timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while not ids <= self.messages():
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            await self._task


def state_hash(config: str, data: str, community: str) -> str:
    out: subprocess.CompletedProcess[str] = run_cryb(
        "--config", config, "--data", data, "sync", "state", community, "--json"
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["state_hash"]
