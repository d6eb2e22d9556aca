"""The fan-out workload's CRYB side: users, one public community with a text channel, listeners on
/gateway, senders posting messages over HTTP."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp


class NodeWorkload:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base

    async def _call(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as r:
            data = await r.json() if r.content_type.endswith("json") else None
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: {r.status} {data}")
            return data

    async def _register(self, i: int, run: str) -> str:
        name = f"b{run}{i}"
        body = {"username": name, "email": f"{name}@bench.test", "password": "bench password 123"}
        return (await self._call("POST", "/api/v1/auth/register", body=body))["access_token"]

    async def prepare(self, listeners: int, senders: int) -> list[str]:
        """Users, a public community with a text channel, everyone a member; the listeners' tokens."""
        run = secrets.token_hex(3)
        tokens: list[str] = []
        for start in range(0, listeners + senders, 50):
            batch = range(start, min(start + 50, listeners + senders))
            tokens += await asyncio.gather(*(self._register(i, run) for i in batch))
        owner = tokens[0]
        community = await self._call(
            "POST", "/api/v1/communities", owner, {"name": f"bench {run}", "public": True}
        )
        cid = community["id"]
        channel = await self._call("POST", f"/api/v1/communities/{cid}/channels", owner, {"name": "chat"})
        for start in range(1, len(tokens), 50):
            await asyncio.gather(
                *(
                    self._call("PUT", f"/api/v1/communities/{cid}/members/@me", t, {})
                    for t in tokens[start : start + 50]
                )
            )
        self.channel_id, self.sender_tokens = channel["id"], tokens[listeners:]
        return tokens[:listeners]

    async def setup(self, listeners: int, senders: int):
        """prepare(), then the listeners' sockets (identified) and a post(i, k, body) for senders."""
        sockets = [await identify(self.http, self.base, t) for t in await self.prepare(listeners, senders)]
        path = f"/api/v1/channels/{self.channel_id}/messages"

        async def post(i: int, k: int, body: str) -> None:
            await self._call("POST", path, self.sender_tokens[i], {"content": body})

        return sockets, post

    @staticmethod
    def body_of(frame: dict[str, Any]) -> str | None:
        if frame.get("op") == "DISPATCH" and frame.get("t") == "MESSAGE_CREATE":
            return frame["d"]["content"]
        return None


async def identify(http: aiohttp.ClientSession, base: str, token: str) -> aiohttp.ClientWebSocketResponse:
    """A /gateway socket past HELLO and IDENTIFY (READY received)."""
    ws = await http.ws_connect(base.replace("http", "ws", 1) + "/gateway")
    await ws.receive_json()  # HELLO
    await ws.send_json({"op": "IDENTIFY", "d": {"token": token}})
    ready = await ws.receive_json()
    assert ready["op"] == "READY", ready
    return ws
