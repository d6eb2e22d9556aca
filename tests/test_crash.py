"""Crash consistency: SIGKILL the node at random moments under mixed write load (messages, votes,
uploads, role changes). After every restart `cryb doctor` is clean; at the end every acknowledged
write is present and the projections equal a replay of the event log (`cryb doctor --replay`)."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import NodeProcess, cryb_env, run_cryb

ENV = {
    "CRYB_RATE_LIMITS__ENABLED": "false",
    "CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT": "1",
    "CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT": "8192",
    "CRYB_LOG__LEVEL": "WARNING",
}


def _png() -> bytes:
    import pyvips

    return pyvips.Image.black(16, 16).new_from_image([random.randrange(256), 40, 90]).write_to_buffer(".png")


@dataclass
class World:
    owner: str = ""
    member: str = ""
    community: str = ""
    channel: str = ""
    post: str = ""
    messages: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)
    votes: int = 0


async def _json(session: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, headers=headers, **kw) as resp:
        body = await resp.json() if resp.content_type.endswith("json") else None
        if resp.status >= 400:
            raise AssertionError(f"{method} {url}: {resp.status} {body}")
        return body


async def _setup(base: str, world: World) -> None:
    async with aiohttp.ClientSession() as s:
        tokens = []
        for name in ("crashowner", "crashmember"):
            body = {"username": name, "email": f"{name}@example.test", "password": "crash test password"}
            tokens.append((await _json(s, "POST", f"{base}/api/v1/auth/register", json=body))["access_token"])
        world.owner, world.member = tokens
        com = await _json(s, "POST", f"{base}/api/v1/communities", world.owner, json={"name": "crashers"})
        world.community = com["id"]
        await _json(s, "PUT", f"{base}/api/v1/communities/{com['id']}/members/@me", world.member, json={})
        chans = await _json(s, "GET", f"{base}/api/v1/communities/{com['id']}/channels", world.owner)
        world.channel = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
        forum = await _json(s, "POST", f"{base}/api/v1/communities/{com['id']}/channels", world.owner,
                            json={"name": "forum", "kind": "forum"})  # fmt: skip
        post = await _json(s, "POST", f"{base}/api/v1/channels/{forum['id']}/posts", world.owner,
                           json={"title": "vote on me"})  # fmt: skip
        world.post = post["id"]


async def _load(base: str, world: World) -> None:
    """Mixed writers until the node disappears; only writes answered 2xx are recorded."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:

        async def forever(step) -> None:
            i = 0
            while True:
                try:
                    await step(i)
                except (TimeoutError, aiohttp.ClientError, AssertionError, OSError):
                    return
                i += 1

        async def message(i: int) -> None:
            url = f"{base}/api/v1/channels/{world.channel}/messages"
            world.messages.append(
                (await _json(s, "POST", url, world.member, json={"content": f"m{i}"}))["id"]
            )

        async def vote(i: int) -> None:
            url = f"{base}/api/v1/posts/{world.post}/vote"
            await _json(s, "PUT", url, world.member, json={"value": 1 if i % 2 else -1})
            world.votes += 1

        async def role(i: int) -> None:
            url = f"{base}/api/v1/communities/{world.community}/roles"
            world.roles.append(
                (await _json(s, "POST", url, world.owner, json={"name": f"r{len(world.roles)}"}))["id"]
            )

        async def upload(i: int) -> None:
            form = aiohttp.FormData()
            form.add_field("file", _png(), filename="x.png", content_type="image/png")
            world.media.append(
                (await _json(s, "POST", f"{base}/api/v1/media", world.member, data=form))["id"]
            )

        await asyncio.gather(*(forever(step) for step in (message, message, vote, role, upload)))


def _cycle(node: NodeProcess, world: World) -> None:
    async def go() -> None:
        load = asyncio.create_task(_load(node.url, world))
        await asyncio.sleep(0.3 + random.random() * 0.7)
        node.kill()
        await asyncio.wait_for(load, 30)

    asyncio.run(go())


def _crash_cycles(tmp_path: Path, cycles: int) -> None:
    data = tmp_path / "data"
    env = cryb_env(**ENV)
    world = World()
    for n in range(cycles):
        node = NodeProcess(data, None, env).start()
        try:
            if n == 0:
                asyncio.run(_setup(node.url, world))
            _cycle(node, world)
        finally:
            if node.proc and node.proc.poll() is None:
                node.proc.kill()
        doctor = run_cryb("--data", str(data), "doctor", "--offline", env=env)
        assert doctor.returncode == 0, f"cycle {n}: {doctor.stdout}{doctor.stderr}"
    assert world.messages and world.roles and world.media and world.votes

    node = NodeProcess(data, None, env).start()

    async def check() -> None:
        async with aiohttp.ClientSession() as s:
            for mid in world.messages:
                await _json(
                    s, "GET", f"{node.url}/api/v1/channels/{world.channel}/messages/{mid}", world.member
                )
            roles = await _json(
                s, "GET", f"{node.url}/api/v1/communities/{world.community}/roles", world.owner
            )
            assert set(world.roles) <= {r["id"] for r in roles["roles"]}
            for media_id in world.media:
                await _json(s, "GET", f"{node.url}/api/v1/media/{media_id}", world.member)

    asyncio.run(check())
    assert node.terminate() == 0
    replay = run_cryb("--data", str(data), "doctor", "--offline", "--replay", "--json", env=env, timeout=300)
    checks = {c["check"]: c for c in json.loads(replay.stdout)}
    assert replay.returncode == 0 and checks["replay"]["ok"], replay.stdout + replay.stderr


def test_sigkill_under_mixed_load_loses_no_acknowledged_write(tmp_path: Path):
    _crash_cycles(tmp_path, cycles=3)


@pytest.mark.slow
def test_fifty_kill_restart_cycles_lose_nothing(tmp_path: Path):
    _crash_cycles(tmp_path, cycles=50)
