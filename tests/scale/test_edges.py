"""A primary and two edges on loopback, fed by a real nats-server: writes through either edge reach
gateway listeners on both, an edge authorizes exactly as the primary does, and each edge's replica
hashes to the primary's state (issue 25)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiohttp
import pytest

from tests import test_authz_sweep as sweep

from .conftest import Cluster, needs_nats
from .helpers import Listener, call, register, state_hash

pytestmark = needs_nats


async def _community(http: aiohttp.ClientSession, base: str, owner: str, name: str) -> tuple[str, str]:
    space = await call(http, base, "POST", "communities", owner, json={"name": name, "public": True})
    chans = (await call(http, base, "GET", f"communities/{space['id']}/channels", owner))["channels"]
    return space["id"], next(c["id"] for c in chans if c["kind"] == "text")


async def _converged(c: Cluster, community: str, timeout: float = 20) -> tuple[str, list[str]]:
    assert c.primary is not None
    deadline = time.monotonic() + timeout
    while True:
        want = await asyncio.to_thread(state_hash, str(c.config), str(c.primary.data_dir), community)
        got = [
            await asyncio.to_thread(state_hash, str(c.config), str(e.data_dir), community) for e in c.edges
        ]
        if all(h == want for h in got) or time.monotonic() > deadline:
            return want, got
        await asyncio.sleep(0.5)


async def test_messages_written_through_either_edge_reach_listeners_on_both(edges: Cluster):
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        _, ann = await register(http, e1.url, "ann")
        _, ben = await register(http, e2.url, "ben")
        community, text = await _community(http, e1.url, ann, "edgeroom")
        await call(http, e2.url, "PUT", f"communities/{community}/members/@me", ben, json={})
        on_e1 = await Listener(e1.url, ann).open()
        on_e2 = await Listener(e2.url, ben).open()
        try:
            said = set()
            for i in range(5):
                said.add(
                    (
                        await call(
                            http,
                            e1.url,
                            "POST",
                            f"channels/{text}/messages",
                            ann,
                            json={"content": f"from e1 {i}"},
                        )
                    )["id"]
                )
                said.add(
                    (
                        await call(
                            http,
                            e2.url,
                            "POST",
                            f"channels/{text}/messages",
                            ben,
                            json={"content": f"from e2 {i}"},
                        )
                    )["id"]
                )
            await on_e1.wait_messages(said)
            await on_e2.wait_messages(said)
        finally:
            await on_e1.close()
            await on_e2.close()


async def test_a_write_through_an_edge_reads_back_from_that_edge_at_once(edges: Cluster):
    e2 = edges.edges[1]
    async with aiohttp.ClientSession() as http:
        cat_id, cat = await register(http, e2.url, "cat")
        # the user made through edge 2 is already in edge 2's replica
        assert (await call(http, e2.url, "GET", f"users/{cat_id}", cat))["username"] == "cat"
        _, text = await _community(http, e2.url, cat, "rywroom")
        for i in range(10):
            sent = await call(
                http, e2.url, "POST", f"channels/{text}/messages", cat, json={"content": f"n{i}"}
            )
            history = await call(http, e2.url, "GET", f"channels/{text}/messages", cat)
            assert sent["id"] in [m["id"] for m in history["messages"]]
        edited = await call(
            http, e2.url, "PATCH", f"channels/{text}/messages/{sent['id']}", cat, json={"content": "edited"}
        )
        again = await call(http, e2.url, "GET", f"channels/{text}/messages/{sent['id']}", cat)
        assert again["content"] == edited["content"] == "edited"


async def test_each_edge_state_hash_equals_the_primary(edges: Cluster):
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        _, dee = await register(http, e1.url, "dee")
        _, eve = await register(http, e2.url, "eve")
        community, text = await _community(http, e1.url, dee, "hashroom")
        await call(http, e2.url, "PUT", f"communities/{community}/members/@me", eve, json={})
        msg = await call(http, e2.url, "POST", f"channels/{text}/messages", eve, json={"content": "hello"})
        await call(http, e1.url, "PUT", f"messages/{msg['id']}/reactions/%F0%9F%91%8D", dee)
        await call(
            http, e1.url, "DELETE", f"channels/{text}/messages/{msg['id']}", dee
        )  # a moderator's delete
    want, got = await _converged(edges, community)
    assert got == [want, want]


async def test_the_authorization_sweep_holds_on_an_edge(edges: Cluster):
    e1 = edges.edges[0]
    async with aiohttp.ClientSession(base_url=e1.url) as edge:
        await sweep.test_every_operation_has_a_declared_audience(edge)
        await sweep.test_anonymous_callers_get_only_what_is_public(edge)
        await sweep.test_signed_in_users_never_reach_admin_or_peer_routes(edge)


async def test_an_edge_refuses_what_the_primary_refuses(edges: Cluster):
    """Community-scoped rules on the edge's replica: a non-member cannot read a private channel,
    a member cannot delete another's message; the primary answers the same."""
    e1 = edges.edges[0]
    async with aiohttp.ClientSession() as http:
        _, fay = await register(http, e1.url, "fay")
        _, gus = await register(http, e1.url, "gus")
        space = await call(http, e1.url, "POST", "communities", fay, json={"name": "closed", "public": False})
        chans = (await call(http, e1.url, "GET", f"communities/{space['id']}/channels", fay))["channels"]
        text = next(c["id"] for c in chans if c["kind"] == "text")
        msg = await call(http, e1.url, "POST", f"channels/{text}/messages", fay, json={"content": "private"})
        assert edges.primary is not None
        for base in (e1.url, edges.primary.url):
            headers = {"Authorization": f"Bearer {gus}"}
            async with http.get(f"{base}/api/v1/channels/{text}/messages", headers=headers) as resp:
                read = (resp.status, (await resp.json())["code"])
            async with http.delete(
                f"{base}/api/v1/channels/{text}/messages/{msg['id']}", headers=headers
            ) as resp:
                delete = (resp.status, (await resp.json())["code"])
            assert read[0] in (403, 404) and delete[0] in (403, 404), (base, read, delete)
            if base == e1.url:
                on_edge = (read, delete)
        assert (read, delete) == on_edge


async def test_an_edge_whose_primary_is_down_keeps_reading_and_answers_writes_503(cluster: Cluster):
    primary = cluster.start_primary()
    async with aiohttp.ClientSession() as http:
        _, hal = await register(http, primary.url, "hal")
        _, text = await _community(http, primary.url, hal, "downroom")
        edge = cluster.start_edge("edge1")
        primary.kill()
        history = await call(http, edge.url, "GET", f"channels/{text}/messages", hal)
        assert history["messages"] == []
        async with http.post(
            f"{edge.url}/api/v1/channels/{text}/messages", json={"content": "x"},
            headers={"Authorization": f"Bearer {hal}"},
        ) as resp:  # fmt: skip
            assert resp.status == 503
            assert resp.headers["Retry-After"].isdigit()
            assert (await resp.json())["code"] == "primary_unavailable"


async def test_a_restarted_edge_resumes_from_its_stream_position(cluster: Cluster):
    primary = cluster.start_primary()
    async with aiohttp.ClientSession() as http:
        _, ida = await register(http, primary.url, "ida")
        community, text = await _community(http, primary.url, ida, "resumeroom")
        edge = cluster.start_edge("edge1")
        await call(http, edge.url, "POST", f"channels/{text}/messages", ida, json={"content": "before"})
        assert edge.terminate() == 0
        while_down = {
            (
                await call(
                    http, primary.url, "POST", f"channels/{text}/messages", ida, json={"content": f"d{i}"}
                )
            )["id"]
            for i in range(5)
        }
        edge.start()
        listener = await Listener(edge.url, ida).open()
        try:
            after = await call(
                http, primary.url, "POST", f"channels/{text}/messages", ida, json={"content": "after"}
            )
            await listener.wait_messages({after["id"]})
        finally:
            await listener.close()
        history = await call(http, edge.url, "GET", f"channels/{text}/messages", ida)
        assert while_down <= {m["id"] for m in history["messages"]}
    want, got = await _converged(cluster, community)
    assert got == [want]
    # the edge applied each message once: its log holds the primary's positions, no more
    assert re.search(r"applied up to position \d+", (await _readyz(edge.url))["checks"]["stream"]["detail"])


async def _readyz(base: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(base + "/readyz") as resp:
        return await resp.json()


@pytest.mark.parametrize("path", ["/api/v1/notifications", "/api/v1/users/@me/sessions"])
async def test_node_local_reads_on_an_edge_come_from_the_primary(edges: Cluster, path: str):
    e1 = edges.edges[0]
    assert edges.primary is not None
    async with aiohttp.ClientSession() as http:
        _, jon = await register(http, e1.url, f"jon{len(path)}")
        headers = {"Authorization": f"Bearer {jon}"}
        async with (
            http.get(e1.url + path, headers=headers) as a,
            http.get(edges.primary.url + path, headers=headers) as b,
        ):
            assert a.status == b.status == 200
            assert await a.json() == await b.json()


async def test_typing_and_presence_cross_edges(edges: Cluster):
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        kay_id, kay = await register(http, e1.url, "kay")
        lou_id, lou = await register(http, e2.url, "lou")
        community, text = await _community(http, e1.url, kay, "typeroom")
        await call(http, e2.url, "PUT", f"communities/{community}/members/@me", lou, json={})
        on_e1 = await Listener(e1.url, kay).open()
        try:
            on_e2 = await Listener(e2.url, lou).open()  # lou comes online on the other edge
            async with asyncio.timeout(10):
                while not any(
                    f["t"] == "PRESENCE_UPDATE"
                    and {"user_id": lou_id, "status": "online"} in f["d"]["presences"]
                    for f in on_e1.frames
                ):
                    await asyncio.sleep(0.05)
            await on_e2.ws.send(json.dumps({"op": "TYPING", "d": {"channel_id": text}}))
            async with asyncio.timeout(10):
                while not any(f["t"] == "TYPING_START" and f["d"]["user_id"] == lou_id for f in on_e1.frames):
                    await asyncio.sleep(0.05)
            await on_e2.close()  # lou goes offline
            async with asyncio.timeout(10):
                while not any(
                    f["t"] == "PRESENCE_UPDATE"
                    and {"user_id": lou_id, "status": "offline"} in f["d"]["presences"]
                    for f in on_e1.frames
                ):
                    await asyncio.sleep(0.05)
            # nobody outside the community hears any of it
            assert kay_id not in {f["d"].get("user_id") for f in on_e2.frames if f["t"] == "TYPING_START"}
        finally:
            await on_e1.close()


async def test_a_relayed_dispatch_reaches_only_those_allowed_on_the_receiving_edge(edges: Cluster):
    """Typing in a private community, relayed to an edge where a non-member listens: not sent."""
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        _, mia = await register(http, e1.url, "mia")
        _, ned = await register(http, e2.url, "ned")
        space = await call(http, e1.url, "POST", "communities", mia, json={"name": "hushed", "public": False})
        chans = (await call(http, e1.url, "GET", f"communities/{space['id']}/channels", mia))["channels"]
        text = next(c["id"] for c in chans if c["kind"] == "text")
        outsider = await Listener(e2.url, ned).open()
        typist = await Listener(e1.url, mia).open()
        try:
            await typist.ws.send(json.dumps({"op": "TYPING", "d": {"channel_id": text}}))
            # a message after it, seen by mia, proves the typing frame had time to travel
            said = await call(http, e1.url, "POST", f"channels/{text}/messages", mia, json={"content": "s"})
            await typist.wait_messages({said["id"]})
            await asyncio.sleep(1.0)
            assert [f for f in outsider.frames if f["t"] in ("TYPING_START", "MESSAGE_CREATE")] == []
        finally:
            await outsider.close()
            await typist.close()


async def test_a_session_signed_out_through_one_edge_is_refused_on_the_other(edges: Cluster):
    e1, e2 = edges.edges
    async with aiohttp.ClientSession() as http:
        _, rae = await register(http, e1.url, "rae")
        headers = {"Authorization": f"Bearer {rae}"}
        async with http.get(f"{e2.url}/api/v1/dms", headers=headers) as resp:
            assert resp.status == 200  # the token is good on the other edge
        await call(http, e1.url, "POST", "auth/logout", rae)
        async with asyncio.timeout(5):
            while True:
                async with http.get(f"{e2.url}/api/v1/dms", headers=headers) as resp:
                    if resp.status == 401:
                        break
                await asyncio.sleep(0.1)
