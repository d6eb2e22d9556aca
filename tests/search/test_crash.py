"""Acceptance 3: SIGKILL a `cryb serve` child while it is indexing, start it again: once caught up,
the index holds exactly the database's visible documents (same key set, no duplicates)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from cryb_plugins.search.source import Source
from cryb_plugins.search.store import Store

from tests.conftest import write_config
from tests.users_fixtures import PASSWORD

CONFIG = """
[log]
level = "WARNING"
[rate_limits]
enabled = false
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
[plugin.search]
batch_size = 5
"""


def index_keys(data: Path) -> tuple[list[str], int]:
    """(every key in the live index, its events offset), read straight from disk."""
    root = data / "search"
    store = Store.open(root / (root / "CURRENT").read_text().strip(), readonly=True)
    try:
        return list(store.keys()), store.read_meta().offset
    finally:
        store.close()


def db_state(data: Path) -> tuple[set[str], int]:
    src = Source(data / "cryb.db")
    try:
        return set(src.visible_keys()), src.log_length()
    finally:
        src.close()


async def _user(s: aiohttp.ClientSession, url: str, name: str) -> dict[str, str]:
    async with s.post(
        f"{url}/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": PASSWORD},
    ) as r:
        body = await r.json()
        assert r.status == 201, body
    return {"Authorization": f"Bearer {body['access_token']}"}


async def _load(url: str, n: int) -> None:
    async with aiohttp.ClientSession() as s:
        owner = await _user(s, url, "owner")
        member = await _user(s, url, "member")
        async with s.post(
            f"{url}/api/v1/communities", headers=owner, json={"name": "c", "public": True}
        ) as r:
            cid = (await r.json())["id"]
        async with s.get(f"{url}/api/v1/communities/{cid}/channels", headers=owner) as r:
            text = next(c["id"] for c in (await r.json())["channels"] if c["kind"] == "text")
        async with s.put(f"{url}/api/v1/communities/{cid}/members/@me", headers=member, json={}) as r:
            assert r.status < 300

        async def post(i: int) -> str:
            who = owner if i % 2 else member
            async with s.post(
                f"{url}/api/v1/channels/{text}/messages", headers=who, json={"content": f"crash test {i}"}
            ) as r:
                body = await r.json()
                assert r.status == 201, body
                return body["id"]

        ids: list[str] = []
        for start in range(0, n, 100):
            ids += await asyncio.gather(*(post(i) for i in range(start, min(n, start + 100))))
        # Some history changes too: deletes and edits are what a replay could get wrong.
        for mid in ids[:40:4]:
            async with s.delete(f"{url}/api/v1/channels/{text}/messages/{mid}", headers=member) as r:
                assert r.status < 500


async def _wait_caught_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            async with s.get(f"{url}/readyz") as r:
                detail = (await r.json())["checks"].get("search", {}).get("detail", "")
            if detail.startswith("ready:") and detail.endswith("lag 0 events"):
                return
            await asyncio.sleep(0.1)
    raise TimeoutError(detail)


async def test_sigkill_mid_indexing_then_restart_leaves_index_equal_to_the_database(node_process, tmp_path):
    cfg = write_config(tmp_path / "cryb.toml", CONFIG)
    data = tmp_path / "data"
    node = node_process(cfg, data).start()
    await _load(node.url, 1200)
    node.kill()  # SIGKILL: no drain, no final commit

    keys, offset = index_keys(data)
    expected, length = db_state(data)
    assert offset < length, "the node had finished indexing before the kill; nothing was tested"
    assert set(keys) != expected

    node = node_process(cfg, data).start()
    await _wait_caught_up(node.url)
    assert node.terminate() == 0

    keys, offset = index_keys(data)
    expected, length = db_state(data)
    assert offset == length
    assert len(keys) == len(set(keys)), "a document is in the index twice"
    assert set(keys) == expected
    assert sum(k.startswith("message:") for k in keys) == 1200 - 10
