"""Fixtures for the integrations tests: a real node on loopback whose integrations plugin may reach
127.0.0.1 (the admin allow-list), a community with a text channel, and small loopback HTTP servers
(receivers, web sites) the node talks to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cryb_node.app import build_app
from cryb_node.services import Perm
from tests.conftest import make_config
from tests.content.conftest import Space, User, call, make_space, new_user, ok
from tests.users_fixtures import FAST_HASHING

__all__ = ["Space", "User", "call", "grant", "hooks_config", "make_space", "new_user", "ok", "serve"]

LOOPBACK = {"allow_networks": ["127.0.0.1/32"], "retry_base_s": 0.2, "retry_max_s": 1.0, "poll_s": 0.1}


def hooks_config(data_dir: Path, integrations: dict[str, Any] | None = None, **sections: Any):
    """The content tests' node config, with the integrations plugin allowed onto loopback."""
    plugin = {"users": dict(FAST_HASHING), "integrations": {**LOOPBACK, **(integrations or {})}}
    return make_config(data_dir, plugin=plugin, **{"rate_limits": {"enabled": False}, **sections})


@pytest.fixture
async def hc(aiohttp_client, tmp_path: Path):
    """A test client on a fresh node that may connect to 127.0.0.1."""
    return await aiohttp_client(build_app(hooks_config(tmp_path / "data")))


@pytest.fixture
async def space(hc) -> Space:
    return await make_space(hc)


async def grant(space: Space, user: User, perms: Perm) -> None:
    """Give ``user`` a new role holding ``perms``."""
    c = space.client
    role = await ok(c, "POST", f"/communities/{space.community}/roles", space.owner,
                    json={"name": f"r{int(perms)}", "perms": int(perms)})  # fmt: skip
    await ok(c, "PUT", f"/communities/{space.community}/members/{user.id}/roles/{role['id']}", space.owner)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Run ``app`` on a free loopback port; returns the runner (clean it up) and its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
