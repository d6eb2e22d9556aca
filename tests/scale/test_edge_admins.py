"""Node admins on an edge: the edge decides reads from its replica, but who is a node admin lives in
the primary's account tables, which the event stream does not carry. An admin's token counts as an
admin's on every process; a demotion on the primary reaches the edges at once (a signal), not when
the token expires."""

from __future__ import annotations

import secrets

import aiohttp

from tests.support.waiting import eventually
from tests.users_fixtures import PASSWORD

from .conftest import Cluster, needs_nats
from .helpers import call, cli_admin, register

pytestmark = needs_nats


async def _status(http: aiohttp.ClientSession, base: str, path: str, token: str) -> int:
    async with http.get(base + "/api/v1/" + path, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status


async def test_a_node_admin_is_one_on_an_edge_until_demoted(edges: Cluster):
    assert edges.primary is not None
    edge = edges.edges[0].url
    name = await cli_admin(edges.config, edges.primary.data_dir, "root")
    async with aiohttp.ClientSession() as http:
        root = (await call(http, edge, "POST", "auth/login", json={"login": name, "password": PASSWORD}))[
            "access_token"
        ]
        _, owner = await register(http, edge, f"owner_{secrets.token_hex(3)}")
        helper_name = f"helper_{secrets.token_hex(3)}"
        helper_id, helper = await register(http, edge, helper_name)
        cid = (await call(http, edge, "POST", "communities", owner, json={"name": "c", "public": True}))["id"]
        bans = f"communities/{cid}/bans"

        # decided on the edge's replica: the owner, the node admin; not a stranger
        async def owner_sees() -> bool:
            return await _status(http, edge, bans, owner) == 200

        await eventually(owner_sees, what="the community on the edge")
        assert await _status(http, edge, bans, root) == 200
        assert await _status(http, edge, bans, helper) == 403
        await call(http, edge, "PATCH", f"admin/users/{helper_id}", root, json={"admin": True})
        helper = (
            await call(http, edge, "POST", "auth/login", json={"login": helper_name, "password": PASSWORD})
        )["access_token"]
        assert await _status(http, edge, bans, helper) == 200
        await call(http, edge, "PATCH", f"admin/users/{helper_id}", root, json={"admin": False})
        # the same token, on both edges: an admin no longer
        for e in edges.edges:

            async def refused(url: str = e.url) -> bool:
                return await _status(http, url, bans, helper) == 403

            await eventually(refused, what=f"the demotion on {e.url}")
        assert await _status(http, edges.primary.url, bans, helper) == 403
        assert await _status(http, edges.edges[1].url, bans, root) == 200
