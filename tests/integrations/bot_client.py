"""A bot process for tests, built only on the node's public HTTP API and WebSocket gateway (as a
third-party bot would be): it identifies with intents, heartbeats, registers slash commands and
answers the interactions it receives with a handler."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class BotClient:
    def __init__(self, base: str, token: str, intents: list[str] | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.intents = intents
        self.dispatches: list[dict[str, Any]] = []  # every DISPATCH frame received, in order
        self.on_interaction: Handler | None = None  # returns the answer body, or None to stay silent
        self.answers: list[tuple[int, Any]] = []  # (status, body) of each callback made
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.ready: dict[str, Any] = {}
        self.close_code: int | None = None  # set when the node closes the socket

    async def __aenter__(self) -> BotClient:
        self._http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"})
        self._ws = await self._http.ws_connect(self.base + "/gateway")
        hello = await self._ws.receive_json(timeout=5)
        assert hello["op"] == "HELLO", hello
        d: dict[str, Any] = {"token": self.token}
        if self.intents is not None:
            d["intents"] = self.intents
        await self._ws.send_json({"op": "IDENTIFY", "d": d})
        ready = await self._ws.receive_json(timeout=5)
        assert ready["op"] == "READY", ready
        self.ready = ready["d"]
        interval = hello["d"]["heartbeat_interval_ms"] / 1000
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._beat(interval))]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()

    async def _beat(self, interval: float) -> None:
        assert self._ws is not None
        while True:
            await asyncio.sleep(interval * 0.5)
            await self._ws.send_json({"op": "HEARTBEAT", "d": None})

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame["op"] != "DISPATCH":
                continue
            self.dispatches.append(frame)
            if frame["t"] == "INTERACTION_CREATE" and self.on_interaction is not None:
                answer = await self.on_interaction(frame["d"])
                if answer is not None:
                    self.answers.append(await self.answer(frame["d"]["id"], **answer))
        self.close_code = self._ws.close_code

    async def closed(self, timeout: float = 5.0) -> int:
        for _ in range(int(timeout / 0.05)):
            if self.close_code is not None:
                return self.close_code
            await asyncio.sleep(0.05)
        raise AssertionError("the socket stayed open")

    def kinds(self) -> list[str]:
        return [f["t"] for f in self.dispatches]

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        assert self._http is not None
        async with self._http.request(method, self.base + "/api/v1" + path, json=body) as resp:
            data = await resp.json() if resp.status != 204 else None
            return resp.status, data

    async def register(
        self, community_id: str, name: str, description: str, options: list[dict] | None = None
    ) -> Any:
        status, body = await self.request(
            "PUT", f"/communities/{community_id}/commands/{name}",
            {"description": description, "options": options or []},
        )  # fmt: skip
        assert status == 200, body
        return body

    async def answer(self, interaction_id: str, content: str, ephemeral: bool = False) -> tuple[int, Any]:
        return await self.request(
            "POST", f"/interactions/{interaction_id}/callback", {"content": content, "ephemeral": ephemeral}
        )

    async def wait_for(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        for _ in range(int(timeout / 0.05)):
            for frame in self.dispatches:
                if frame["t"] == kind:
                    return frame["d"]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} in {timeout} s; got {self.kinds()}")
