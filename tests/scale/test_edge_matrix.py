"""The community authorization matrix (tests/communities/test_authorization.py: every community,
channel and moderation endpoint x every standing) run against an edge: reads decided on the edge's
replica, writes forwarded to the primary, the same status for every persona. Slow (a world of seven
users per row)."""

from __future__ import annotations

import aiohttp
import pytest

import tests.communities.test_authorization as matrix
from tests.communities.conftest import User
from tests.users_fixtures import PASSWORD

from .conftest import Cluster, needs_nats
from .helpers import cli_admin

pytestmark = [needs_nats, pytest.mark.slow]


async def test_the_community_authorization_matrix_holds_on_an_edge(edges: Cluster, monkeypatch):
    assert edges.primary is not None
    e1 = edges.edges[0]

    async def new_admin(client: aiohttp.ClientSession) -> User:
        # made beside the primary with `cryb user create --admin`, signed in through the edge
        assert edges.primary is not None
        name = await cli_admin(edges.config, edges.primary.data_dir)
        async with client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD}) as resp:
            token = (await resp.json())["access_token"]
        async with client.get("/api/v1/users/@me", headers={"Authorization": f"Bearer {token}"}) as resp:
            me = await resp.json()
            assert me["admin"] is True, me
        return User(me["id"], token)

    monkeypatch.setattr(matrix, "new_admin", new_admin)
    wrong = []
    assert len(matrix.MATRIX) >= 40  # every row of the matrix, not a sample
    async with aiohttp.ClientSession(base_url=e1.url) as edge:
        for name, setup, expected in matrix.MATRIX:
            try:
                await matrix.test_authorization_matrix(edge, name, setup, expected)
            except AssertionError as err:
                wrong.append((name, str(err)[:300]))
    assert wrong == []
