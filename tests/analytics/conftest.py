"""Fixtures for the analytics tests: a real node on loopback whose event clock and analytics clock
are fixed by the test, users and a community made over HTTP, and small helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryb_plugins.analytics.service import ANALYTICS, AnalyticsService

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.clock import HLC
from cryb_node.node import Node
from tests.conftest import make_config
from tests.support.api import User
from tests.users_fixtures import FAST_HASHING, PASSWORD, register_user

API = "/api/v1"


def analytics_config(data_dir: Path, **sections: Any):
    sections.setdefault("rate_limits", {"enabled": False})
    return make_config(data_dir, plugin={"users": dict(FAST_HASHING)}, **sections)


class FakeClock:
    """One instant for both the event log's HLC and the analytics service; tests move it forward."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def set(self, when: dt.datetime) -> None:
        assert when >= self.now, "the event clock only moves forward"
        self.now = when

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def seconds(self) -> float:
        return self.now.timestamp()


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


@dataclass
class Env:
    client: Any
    clock: FakeClock

    @property
    def node(self) -> Node:
        return self.client.app[NODE]

    @property
    def svc(self) -> AnalyticsService:
        return self.node.services.require(ANALYTICS)

    async def user(self, name: str | None = None) -> User:
        uid, token = await register_user(self.client, name)
        return User(uid, token, name or "")

    async def admin(self) -> User:
        from cryb_plugins.users.service import CLI, USERS

        users = self.node.services.require(USERS)
        name = "node_admin"
        uid, pair = await users.create_account(name, f"{name}@example.test", PASSWORD, client=CLI, admin=True)
        assert pair is not None
        return User(uid, pair.access_token, name)

    async def call(self, method: str, path: str, user: User | None = None, **kw: Any) -> tuple[int, Any]:
        headers = {**(user.h if user else {}), **kw.pop("headers", {})}
        resp = await self.client.request(method, API + path, headers=headers, **kw)
        if resp.content_type == "text/csv":
            return resp.status, await resp.text()
        body = await resp.json() if resp.status != 204 and resp.content_length != 0 else None
        return resp.status, body

    async def ok(self, method: str, path: str, user: User | None = None, **kw: Any) -> Any:
        status, body = await self.call(method, path, user, **kw)
        assert status < 300, (method, path, status, body)
        return body

    async def community(self, owner: User, name: str = "space") -> tuple[str, str, str]:
        """(community id, its text channel 'general', a forum channel)."""
        com = await self.ok("POST", "/communities", owner, json={"name": name, "public": True})
        chans = await self.ok("GET", f"/communities/{com['id']}/channels", owner)
        text = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
        forum = await self.ok(
            "POST", f"/communities/{com['id']}/channels", owner, json={"name": "forum", "kind": "forum"}
        )
        return com["id"], text, forum["id"]

    async def join(self, user: User, community: str) -> None:
        await self.ok("PUT", f"/communities/{community}/members/@me", user, json={})

    async def say(self, user: User, channel: str, text: str = "hello") -> dict[str, Any]:
        return await self.ok("POST", f"/channels/{channel}/messages", user, json={"content": text})

    async def caught_up(self) -> None:
        await self.node.bus.consumers["analytics"].caught_up()


START = at("2025-02-24", 0)


@pytest.fixture
async def env(aiohttp_client, tmp_path: Path) -> Env:
    """A node whose clocks read START until the test moves them (events before any user exists)."""
    clock = FakeClock(START)
    client = await aiohttp_client(build_app(analytics_config(tmp_path / "data")))
    node: Node = client.app[NODE]
    assert node.events.length == 0
    node.events.clock = HLC(0, now_ms=clock.ms)
    node.services.require(ANALYTICS).clock = clock.seconds
    return Env(client, clock)
