"""Fixtures for federation tests: real nodes on loopback (in-process aiohttp servers) that pin
each other, users and communities made over each node's HTTP API, and sessions run on demand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.node import Node
from cryb_node.sync import Sync, peers, statehash
from cryb_node.sync.engine import Report
from cryb_node.sync.parts import SYNC
from tests.conftest import make_config
from tests.support.api import User
from tests.users_fixtures import FAST_HASHING, register_user

API = "/api/v1"


def fed_config(data_dir: Path, **sync: Any):
    return make_config(
        data_dir,
        plugin={"users": dict(FAST_HASHING), "sync": {"auto": False, **sync}},
        rate_limits={"enabled": False},
    )


@dataclass
class Fed:
    """One node of a test federation."""

    name: str
    client: Any  # aiohttp TestClient (a real server on 127.0.0.1)

    @property
    def node(self) -> Node:
        return self.client.app[NODE]

    @property
    def sync(self) -> Sync:
        return self.node.services.require(SYNC)

    @property
    def url(self) -> str:
        return str(self.client.make_url("")).rstrip("/")

    @property
    def key(self) -> bytes:
        return self.node.identity.node_public

    async def pin(self, other: Fed, url: str | None = None) -> None:
        await peers.pin(self.node.db, other.key, url or other.url, other.name, now=self.node.clock.time())
        await self.sync.engine.refresh_peers()

    async def session(self, other: Fed, *, reconcile: bool = False) -> Report:
        peer = await peers.get(self.node.db, other.key)
        assert peer is not None
        return await self.sync.engine.session(peer, reconcile=reconcile)

    async def state(self, community: str) -> str:
        return (await statehash.community_state(self.node, community)).state_hash

    async def user(self) -> User:
        return User(*await register_user(self.client))

    async def call(self, method: str, path: str, user: User | None = None, **kw: Any) -> tuple[int, Any]:
        resp = await self.client.request(method, API + path, headers=user.h if user else {}, **kw)
        body = await resp.json() if resp.status != 204 and resp.content_length != 0 else None
        return resp.status, body

    async def ok(self, method: str, path: str, user: User | None = None, **kw: Any) -> Any:
        status, body = await self.call(method, path, user, **kw)
        assert status < 300, (self.name, method, path, status, body)
        return body

    async def count(self, sql: str, *args: Any) -> int:
        return await self.node.db.fetchval(sql, args)


MakeFed = Callable[..., Awaitable[list[Fed]]]


@pytest.fixture
def federation(aiohttp_client, tmp_path: Path) -> MakeFed:
    """``await federation(3)``: that many nodes, each pinning all the others."""

    async def make(n: int, *, pin: bool = True, **sync: Any) -> list[Fed]:
        feds = []
        for i in range(n):
            name = "abcdefgh"[i]
            client = await aiohttp_client(build_app(fed_config(tmp_path / name, **sync)))
            feds.append(Fed(name, client))
        if pin:
            for a in feds:
                for b in feds:
                    if a is not b:
                        await a.pin(b)
        return feds

    return make


async def make_community(fed: Fed, owner: User, *, public: bool = True) -> tuple[str, str]:
    """A community on ``fed``: (community id, its first text channel id)."""
    com = await fed.ok("POST", "/communities", owner, json={"name": "fedspace", "public": public})
    chans = await fed.ok("GET", f"/communities/{com['id']}/channels", owner)
    text = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
    return com["id"], text


async def mesh(feds: list[Fed], rounds: int = 2) -> None:
    """Sessions between every pair until nothing moves (bounded)."""
    for _ in range(rounds):
        for a in feds:
            for b in feds:
                if a is not b:
                    await a.session(b)
