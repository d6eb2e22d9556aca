"""What a user cannot escape by switching edges (issue 25): rate-limit windows are counted across
every process of the node, and an account that is deactivated, disabled or signed out everywhere has
its live sockets closed on every edge, not only on the process that made the change."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import run_cryb
from tests.users_fixtures import PASSWORD

from .conftest import CONFIG, Cluster, needs_nats
from .helpers import Listener, call, register

pytestmark = needs_nats

INVITE_GUESSES = 20  # the invites bucket's limit per window in this test's config
LIMITED = CONFIG.replace(
    "[rate_limits]\nenabled = false",
    f"[rate_limits]\nenabled = true\n[rate_limits.buckets.invites]\nlimit = {INVITE_GUESSES}\nwindow_s = 600",
)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A primary and two edges with rate limits on."""
    c = Cluster(tmp_path_factory.mktemp("limited"))
    assert LIMITED != CONFIG
    c.config.write_text(LIMITED, encoding="utf-8")
    c.nats.start()
    try:
        c.start_primary()
        c.start_edge("edge1")
        c.start_edge("edge2")
        yield c
    finally:
        c.stop()


async def _guess(http: aiohttp.ClientSession, base: str, n: int) -> list[int]:
    """``n`` anonymous looks at invite codes that do not exist, one after the other: their statuses."""
    statuses = []
    for i in range(n):
        async with http.get(f"{base}/api/v1/invites/nosuchcode{i}") as resp:
            statuses.append(resp.status)
    return statuses


async def test_an_invite_guesser_gets_no_more_tries_by_switching_edges(limited: Cluster):
    e1, e2 = limited.edges
    first = INVITE_GUESSES * 3 // 4
    async with aiohttp.ClientSession() as http:
        on_e1 = await _guess(http, e1.url, first)
        assert on_e1 == [404] * first
        await asyncio.sleep(0.5)  # hits travel in batches every 5 ms (a busy machine: longer)
        # the other edge knows of those tries: only the window's remainder is left there
        on_e2 = await _guess(http, e2.url, INVITE_GUESSES)
        assert on_e2.count(404) == INVITE_GUESSES - first, on_e2
        assert on_e2[-1] == 429
        # and the tries made there count back on the first edge (they travel every few ms)
        await asyncio.sleep(0.5)
        async with http.get(f"{e1.url}/api/v1/invites/nosuchcode") as resp:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) > 0


async def test_a_window_shared_by_edges_is_shared_with_the_primary_too(limited: Cluster):
    assert limited.primary is not None
    e1 = limited.edges[0]
    async with aiohttp.ClientSession() as http:
        _, tok = await register(http, limited.primary.url, "rita")
        headers = {"Authorization": f"Bearer {tok}"}
        got = []
        for base in (limited.primary.url, e1.url) * INVITE_GUESSES:
            async with http.get(f"{base}/api/v1/invites/nosuchcode", headers=headers) as resp:
                got.append(resp.status)
            if resp.status == 429:
                break
        # alternating processes request by request: a few tries may pass in the moment a hit
        # travels, never the double a per-process count allows
        assert got.count(404) <= INVITE_GUESSES + 5, got
        assert got[-1] == 429


async def _closed(listener: Listener, timeout: float = 10) -> int | None:
    async with asyncio.timeout(timeout):
        await listener.closed.wait()
    return listener.ws.close_code


async def test_a_deactivated_account_loses_its_sockets_on_every_edge(edges: Cluster):
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        _, tok = await register(http, e1.url, "dora")
        _, other = await register(http, e1.url, "otto")
        mine = [await Listener(e.url, tok).open() for e in (e1, e2)]
        bystander = await Listener(e2.url, other).open()
        await call(http, e1.url, "POST", "users/@me/deactivate", tok, json={"password": PASSWORD})
        for lst in mine:
            assert await _closed(lst) == 4004  # authentication failed: the page signs out
        assert not bystander.closed.is_set()  # only that account's sockets
        await bystander.close()


async def test_an_account_disabled_from_the_cli_loses_its_sockets_on_every_edge(edges: Cluster):
    assert edges.primary is not None
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        _, tok = await register(http, e2.url, "dirk")
        mine = [await Listener(e.url, tok).open() for e in (e1, e2)]
        # beside the primary, as an operator would: the primary's revocation poll finds it
        out = await asyncio.to_thread(
            run_cryb, "--config", str(edges.config), "--data", str(Path(edges.primary.data_dir)),
            "user", "disable", "dirk",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        for lst in mine:
            assert await _closed(lst, timeout=20) == 4004


async def test_a_client_that_sends_back_the_log_position_reads_its_write_on_any_edge(edges: Cluster):
    """Behind a balancer that is not sticky, the read after a write may reach another edge: the
    client sends the write's Cryb-Log-Position back and that edge answers once it has applied it."""
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        _, tok = await register(http, e1.url, "ruth")
        headers = {"Authorization": f"Bearer {tok}"}
        missed = []
        for i in range(15):
            async with http.post(
                f"{e1.url}/api/v1/communities", headers=headers, json={"name": f"ryw{i}", "public": True}
            ) as resp:
                assert resp.status == 201
                made, position = (await resp.json())["id"], resp.headers["Cryb-Log-Position"]
            async with http.get(
                f"{e2.url}/api/v1/communities/{made}/channels",
                headers={**headers, "Cryb-Log-Position": position},
            ) as resp:
                if resp.status != 200:
                    missed.append((i, resp.status))
        assert missed == []


@pytest.mark.parametrize("value", ["²", "-1", "12abc", "9" * 40, ""])
async def test_a_log_position_that_is_not_a_plain_number_is_ignored(edges: Cluster, value: str):
    e2 = edges.edges[1]
    async with aiohttp.ClientSession() as http:
        started = asyncio.get_running_loop().time()
        async with http.get(f"{e2.url}/api/v1/node", headers={"Cryb-Log-Position": value}) as resp:
            assert resp.status == 200
        assert asyncio.get_running_loop().time() - started < 5  # not held for apply_wait_s (10 s)
