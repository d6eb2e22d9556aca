"""Fixtures for the communities tests: a node with real users (registered over HTTP) and helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.support.api import API, User, call, new_user, ok  # noqa: F401 (for the tests here)
from tests.users_fixtures import FAST_HASHING, PASSWORD


def communities_config(data_dir: Path, **sections: Any):
    return make_config(
        data_dir,
        plugin={"users": dict(FAST_HASHING)},
        rate_limits={"enabled": False},
        **sections,
    )


@pytest.fixture
async def cclient(aiohttp_client, tmp_path: Path, clock):
    return await aiohttp_client(build_app(communities_config(tmp_path / "data"), clock=clock))


async def new_admin(client: Any) -> User:
    """A node admin, made with the users plugin's own library call (what `cryb user create --admin`
    runs); its access token carries the admin flag."""
    import secrets

    from cryb_plugins.users.service import CLI, USERS

    users = client.app[NODE].services.require(USERS)
    name = f"admin_{secrets.token_hex(4)}"
    user_id, pair = await users.create_account(name, f"{name}@example.test", PASSWORD, client=CLI, admin=True)
    assert pair is not None
    return User(user_id, pair.access_token)


@dataclass
class World:
    """A community with one user in each standing the authorization matrix names."""

    client: Any
    owner: User
    community: str
    general: str
    users: dict[str, User | None] = field(default_factory=dict)
    mod_role: str = ""
