"""Every operation of the API answers the same on an edge as on the primary (issue 25, acceptance 1):
the authorization sweep's routes (tests/test_authz_sweep.py) called anonymously and as a signed-in
user with no standing, on both, compared status and problem code by status and problem code. Reads
are decided on the edge's replica, writes and node-local reads on the primary."""

from __future__ import annotations

import json

import aiohttp

from tests import test_authz_sweep as sweep

from .conftest import Cluster, needs_nats
from .helpers import register

pytestmark = needs_nats


async def _answer(http: aiohttp.ClientSession, base: str, op: str, token: str | None) -> tuple[int, str]:
    method, path = op.split(" ", 1)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = sweep.BODY if method in ("POST", "PUT", "PATCH") else None
    async with http.request(
        method, base + sweep._url(path), headers=headers, json=body, allow_redirects=False
    ) as resp:
        raw = await resp.read()
    try:
        code = json.loads(raw).get("code", "") if raw.startswith(b"{") else ""
    except ValueError:
        code = ""
    return resp.status, code


async def test_every_operation_answers_on_an_edge_as_on_the_primary(edges: Cluster):
    assert edges.primary is not None
    e1 = edges.edges[0]
    async with aiohttp.ClientSession() as http:
        # one user per side, alike: a call that changes the caller (signing out) does so on both
        _, mine = await register(http, edges.primary.url, "sweeper1")
        _, theirs = await register(http, edges.primary.url, "sweeper2")
        differ = []
        unsigned = []  # a signed-in call to a user route refused as anonymous would prove nothing
        checked = 0
        # signing out last: the calls before it are made signed in
        ops = sorted(sweep.ROUTES, key=lambda op: op == "POST /api/v1/auth/logout")
        for op in ops:
            if op.endswith(" /gateway"):
                continue
            for on_e1, on_p in ((None, None), (mine, theirs)):
                on_edge = await _answer(http, e1.url, op, on_e1)
                on_primary = await _answer(http, edges.primary.url, op, on_p)
                checked += 1
                if on_e1 and sweep.ROUTES[op] == "user" and on_edge[0] == 401:
                    unsigned.append(op)
                if on_edge != on_primary:
                    differ.append((op, "user" if on_e1 else "anonymous", on_edge, on_primary))
    assert checked > 300  # every route, both callers
    assert ops[-1] == "POST /api/v1/auth/logout"
    assert differ == []
    assert unsigned == []
