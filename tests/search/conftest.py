"""Fixtures for the search tests: a real node (users + communities + content + search) on loopback,
a community with a public and a private channel, and helpers to wait for the indexer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.services import Perm
from tests.content.conftest import Space, User, call, content_config, make_space, new_user, ok

__all__ = ["Space", "User", "call", "make_space", "new_user", "ok"]


@pytest.fixture
async def sc(aiohttp_client, tmp_path: Path, clock):
    """A test client on a fresh node on the test's `clock`."""
    return await aiohttp_client(build_app(content_config(tmp_path / "data"), clock=clock))


async def indexed(client: Any, timeout: float = 20.0) -> None:
    """Wait until the search index holds every committed event (and any rebuild finished)."""
    node = client.server.app[NODE]
    from cryb_plugins.search import state_of

    st = state_of(node)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        assert st.started is not None
        if st.started.done():
            ix = st.indexer
            if ix.state == "ready" and ix.offset >= node.events.length:
                return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"index at {st.indexer.offset} of {node.events.length} ({st.indexer.state})")
        await asyncio.sleep(0.02)


async def search(client: Any, user: User, q: str, **params: Any) -> tuple[int, Any]:
    query = {"q": q, **{k: str(v) for k, v in params.items()}}
    return await call(client, "GET", "/search", user, params=query)


async def found(client: Any, user: User, q: str, **params: Any) -> Any:
    status, body = await search(client, user, q, **params)
    assert status == 200, body
    return body


@dataclass
class World:
    """A public community 'space' with #general (text), #forum and #secret (text, @everyone denied
    VIEW_CHANNEL, the insider allowed), an owner, a member and an insider."""

    space: Space
    secret: str
    insider: User

    @property
    def client(self) -> Any:
        return self.space.client


async def make_world(client: Any) -> World:
    space = await make_space(client)
    c, owner = client, space.owner
    secret = await ok(c, "POST", f"/communities/{space.community}/channels", owner, json={"name": "secret"})
    await ok(
        c,
        "PUT",
        f"/channels/{secret['id']}/overwrites/role/{space.community}",
        owner,
        json={"deny": int(Perm.VIEW_CHANNEL)},
    )
    insider = await space.join()
    await ok(
        c,
        "PUT",
        f"/channels/{secret['id']}/overwrites/member/{insider.id}",
        owner,
        json={"allow": int(Perm.VIEW_CHANNEL | Perm.READ_HISTORY | Perm.SEND_MESSAGES)},
    )
    return World(space, secret["id"], insider)


@pytest.fixture
async def world(sc) -> World:
    return await make_world(sc)


async def say(client: Any, user: User, channel: str, text: str, **extra: Any) -> str:
    body = await ok(client, "POST", f"/channels/{channel}/messages", user, json={"content": text, **extra})
    return body["id"]
