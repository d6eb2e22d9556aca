"""Acceptance: three `cryb serve` processes on loopback, links cut by TCP proxies (partitions),
concurrent writes on all three (messages, edits, deletes, reactions, votes, role changes, a ban
racing the banned member's posts), heal, and identical state hashes everywhere; a seeded random
schedule, several rounds (more under -m slow)."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp
import nacl.signing
import pytest

from cryb_node import identity
from cryb_node.clock import Clock
from cryb_node.node import Node
from cryb_node.sync import peers
from cryb_node.sync.transport import PeerCallError, PeerClient
from cryb_node.sync.wire import StateReply
from tests.conftest import NodeProcess, cryb_env, write_config
from tests.replication_fixtures import TcpProxy
from tests.sync.conftest import fed_config

TOML = """[log]
level = "WARNING"
[rate_limits]
enabled = false
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
[plugin.sync]
session_interval_s = 1.0
reconcile_interval_s = 4.0
backoff_initial_s = 0.2
backoff_max_s = 1.0
breaker_failures = 4
breaker_open_s = 1.0
timeout_s = 10.0
"""
OBSERVER_URL = "http://127.0.0.1:9"  # never reached: the test only calls the nodes


class Cluster:
    def __init__(self, procs: list[NodeProcess], keys: list[bytes], proxies: dict[tuple[int, int], TcpProxy]):
        self.procs, self.keys, self.proxies = procs, keys, proxies
        self.observer = nacl.signing.SigningKey.generate()
        self.http: aiohttp.ClientSession

    async def api(
        self, i: int, method: str, path: str, token: str | None = None, **kw: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(
            method, self.procs[i].url + "/api/v1" + path, headers=headers, **kw
        ) as r:
            body = await r.json() if r.status != 204 and r.content_length != 0 else None
            return r.status, body

    async def ok(self, i: int, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        status, body = await self.api(i, method, path, token, **kw)
        assert status < 300, (i, method, path, status, body)
        return body

    async def user(self, i: int) -> tuple[str, str]:
        name = f"u{i}_{secrets.token_hex(3)}"
        body = await self.ok(
            i,
            "POST",
            "/auth/register",
            json={"username": name, "email": f"{name}@x.test", "password": "pw-" * 4},
        )
        return body["user"]["id"], body["access_token"]

    async def state(self, i: int, cid: str) -> StateReply:
        peer = peers.Peer(self.keys[i], self.procs[i].url, "", 0)
        return await PeerClient(self.http, self.observer, peer, Clock()).call("state", cid, StateReply)

    async def partition(self, groups: list[set[int]]) -> None:
        for (i, j), proxy in self.proxies.items():
            together = any(i in g and j in g for g in groups)
            if together and proxy._server is None:
                await proxy.up()
            elif not together and proxy._server is not None:
                await proxy.down()

    async def heal(self) -> None:
        await self.partition([{0, 1, 2}])

    async def converged(self, cid: str, timeout: float = 60.0) -> tuple[str, float]:
        start = time.monotonic()
        last: list[str] = []
        while time.monotonic() - start < timeout:
            try:
                last = [(await self.state(i, cid)).state_hash for i in range(3)]
            except PeerCallError:
                last = []
            if len(last) == 3 and len(set(last)) == 1:
                return last[0], time.monotonic() - start
            await asyncio.sleep(0.25)
        details = [await self.state(i, cid) for i in range(3)]
        diff = {k for d in details for k in d.parts if len({x.parts.get(k) for x in details}) > 1}
        raise AssertionError(f"no convergence in {timeout}s: {last}; differing parts {diff}")


async def _prepare(tmp_path: Path, observer: bytes) -> tuple[list[NodeProcess], list[bytes], dict]:
    cfg_file = write_config(tmp_path / "cryb.toml", TOML)
    procs = [NodeProcess(tmp_path / f"n{i}", cfg_file, cryb_env()) for i in range(3)]
    proxies = {(i, j): TcpProxy(procs[j].port) for i in range(3) for j in range(3) if i != j}
    # keys first (what the first start creates), then each database with its pins (what
    # `cryb peer add URL --key HEX` writes)
    keys = [identity.load_or_create(p.data_dir)[0].node_public for p in procs]
    for i, p in enumerate(procs):
        node = Node(fed_config(p.data_dir))
        async with node.running(background=False):
            for j in range(3):
                if i != j:
                    await peers.pin(
                        node.db, keys[j], proxies[(i, j)].endpoint, f"n{j}", now=node.clock.time()
                    )
            await peers.pin(node.db, observer, OBSERVER_URL, "observer", now=node.clock.time())
    return procs, keys, proxies


async def _run(tmp_path: Path, seed: int, rounds: int) -> list[float]:
    observer = nacl.signing.SigningKey.generate()
    procs, keys, proxies = await _prepare(tmp_path, bytes(observer.verify_key))
    cl = Cluster(procs, keys, proxies)
    cl.observer = observer
    rng = random.Random(seed)
    heal_times: list[float] = []
    try:
        for proxy in proxies.values():
            await proxy.up()
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in procs))
        async with aiohttp.ClientSession() as cl.http:
            owner_id, owner = await cl.user(0)
            com = await cl.ok(0, "POST", "/communities", owner, json={"name": "mesh", "public": True})
            cid = com["id"]
            chans = await cl.ok(0, "GET", f"/communities/{cid}/channels", owner)
            text = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
            forum = (
                await cl.ok(
                    0, "POST", f"/communities/{cid}/channels", owner, json={"name": "f", "kind": "forum"}
                )
            )["id"]
            await cl.converged(cid)
            users: dict[int, list[tuple[str, str]]] = {0: [(owner_id, owner)], 1: [], 2: []}
            for i in (0, 1, 2):
                for _ in range(2):
                    uid, tok = await cl.user(i)
                    await cl.ok(i, "PUT", f"/communities/{cid}/members/@me", tok, json={})
                    users[i].append((uid, tok))
            await cl.converged(cid)
            role = await cl.ok(
                0, "POST", f"/communities/{cid}/roles", owner, json={"name": "mods", "perms": 64}
            )
            post = await cl.ok(0, "POST", f"/channels/{forum}/posts", owner, json={"title": "vote here"})
            await cl.converged(cid)
            messages: dict[int, list[tuple[str, str]]] = {0: [], 1: [], 2: []}  # node -> (msg id, token)
            for _round in range(rounds):
                cut = rng.choice([[{0}, {1}, {2}], [{0, 1}, {2}], [{0}, {1, 2}], [{0, 2}, {1}]])
                await cl.partition(cut)
                victim_node = rng.choice([1, 2])
                victim_id, victim_tok = users[victim_node][-1]
                ops = [
                    rng.choice(["msg", "msg", "edit", "delete", "react", "vote", "role", "msg"])
                    for _ in range(12)
                ]
                for k, op in enumerate(ops):
                    i = rng.randrange(3)
                    uid, tok = rng.choice(users[i])
                    await _op(
                        cl, rng, op, i, uid, tok, cid, text, post["id"], role["id"], owner, users, messages, k
                    )
                # a ban on node 0 racing the banned member's posts on their own node
                status, _ = await cl.api(
                    0, "PUT", f"/communities/{cid}/bans/{victim_id}", owner, json={"reason": "r"}
                )
                for k in range(3):
                    await cl.api(
                        victim_node,
                        "POST",
                        f"/channels/{text}/messages",
                        victim_tok,
                        json={"content": f"x{k}"},
                    )
                await cl.heal()
                _, took = await cl.converged(cid)
                heal_times.append(took)
                if status < 300:  # let them back in for the next round
                    await cl.ok(0, "DELETE", f"/communities/{cid}/bans/{victim_id}", owner)
                    await cl.converged(cid)
                    await cl.api(victim_node, "PUT", f"/communities/{cid}/members/@me", victim_tok, json={})
                    await cl.converged(cid)
            finals = [await cl.state(i, cid) for i in range(3)]
            assert len({f.state_hash for f in finals}) == 1
            assert len({f.events for f in finals}) == 1 and finals[0].events > 30
    finally:
        for p in procs:
            if p.proc and p.proc.poll() is None:
                p.terminate()
        for proxy in proxies.values():
            await proxy.down()
    return heal_times


async def _op(cl, rng, op, i, uid, tok, cid, text, post_id, role_id, owner, users, messages, k) -> None:
    if op == "msg" or (op in ("edit", "delete", "react") and not messages[i]):
        status, body = await cl.api(
            i, "POST", f"/channels/{text}/messages", tok, json={"content": f"m{k}-{i}"}
        )
        if status < 300:
            messages[i].append((body["id"], tok))
    elif op == "edit":
        mid, mtok = rng.choice(messages[i])
        await cl.api(i, "PATCH", f"/channels/{text}/messages/{mid}", mtok, json={"content": f"edited {k}"})
    elif op == "delete":
        mid, mtok = messages[i].pop(rng.randrange(len(messages[i])))
        await cl.api(i, "DELETE", f"/channels/{text}/messages/{mid}", mtok)
    elif op == "react":
        mid, _ = rng.choice(messages[i])
        emoji = rng.choice(["👍", "🎉", "😀"])
        await cl.api(i, rng.choice(["PUT", "PUT", "DELETE"]), f"/messages/{mid}/reactions/{emoji}", tok)
    elif op == "vote":
        await cl.api(i, "PUT", f"/posts/{post_id}/vote", tok, json={"value": rng.choice([-1, 0, 1])})
    elif op == "role":
        target, _ = rng.choice(users[rng.randrange(3)])
        if target != users[0][0][0]:
            await cl.api(
                0,
                rng.choice(["PUT", "DELETE"]),
                f"/communities/{cid}/members/{target}/roles/{role_id}",
                owner,
            )


async def test_three_processes_partition_write_heal_converge(tmp_path: Path) -> None:
    times = await _run(tmp_path, seed=1207, rounds=3)
    assert len(times) == 3


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_three_processes_converge_many_random_schedules(tmp_path: Path, seed: int) -> None:
    await _run(tmp_path, seed=seed, rounds=8)
