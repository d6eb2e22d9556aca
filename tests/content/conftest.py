"""Fixtures for the content tests: a real node (users + communities + content) on loopback, a
community built through the communities routes, and small HTTP helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cryb_node.app import build_app
from tests.conftest import make_config
from tests.support.api import API, User, call, new_user, ok  # noqa: F401 (for the tests here)
from tests.support.clock import SteppedClock
from tests.users_fixtures import FAST_HASHING


def content_config(data_dir: Path, **sections: Any):
    return make_config(
        data_dir, plugin={"users": dict(FAST_HASHING)}, rate_limits={"enabled": False}, **sections
    )


@pytest.fixture
async def cc(aiohttp_client, tmp_path: Path, clock: SteppedClock):
    """A test client on a fresh node whose clock the test may move (the ``clock`` fixture)."""
    return await aiohttp_client(build_app(content_config(tmp_path / "data"), clock=clock))


@dataclass
class Space:
    """A public community with a text channel (general) and a forum channel, an owner and a member."""

    client: Any
    owner: User
    member: User
    community: str
    text: str
    forum: str

    async def join(self, user: User | None = None) -> User:
        user = user or await new_user(self.client)
        await ok(self.client, "PUT", f"/communities/{self.community}/members/@me", user, json={})
        return user


async def make_space(client: Any, *, public: bool = True, **forum: Any) -> Space:
    owner = await new_user(client)
    com = await ok(client, "POST", "/communities", owner, json={"name": "space", "public": public})
    chans = await ok(client, "GET", f"/communities/{com['id']}/channels", owner)
    text = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
    forum_ch = await ok(
        client,
        "POST",
        f"/communities/{com['id']}/channels",
        owner,
        json={"name": "forum", "kind": "forum", **forum},
    )
    space = Space(client, owner, owner, com["id"], text, forum_ch["id"])
    space.member = await space.join()
    return space


@pytest.fixture
async def space(cc) -> Space:
    return await make_space(cc)
