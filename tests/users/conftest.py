"""Fixtures for the users plugin's tests: a node with fast password hashing, and helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryb_plugins.users.service import Users

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.users_fixtures import FAST_HASHING


def users_config(data_dir: Path, users: dict[str, Any] | None = None, **sections: Any):
    return make_config(data_dir, plugin={"users": {**FAST_HASHING, **(users or {})}}, **sections)


@pytest.fixture
def ucfg(tmp_path: Path):
    return users_config(tmp_path / "data")


@pytest.fixture
async def uclient(aiohttp_client, ucfg):
    return await aiohttp_client(build_app(ucfg))


def users_service(client: Any) -> Users:
    users = client.app[NODE].services.get(Users)
    assert users is not None
    return users


async def count(client: Any, sql: str, params: tuple = ()) -> int:
    return await client.app[NODE].db.fetchval(sql, params)
