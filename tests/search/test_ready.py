"""Issue 22, acceptance 4: a node that is ready answers searches. From the first moment /readyz is
green (a fresh node, a node rebuilding a lost index, a node restored from a backup with
`cryb backup restore`) a search is a 200, never a 503; an index still being built answers with what
it holds so far, marked ``partial``."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from cryb_node.app import build_app
from tests.conftest import cryb_env, run_cryb
from tests.content.conftest import content_config
from tests.replication.site import Site, request
from tests.replication_fixtures import replication_toml, wait_until_sync
from tests.search.conftest import indexed, make_world, new_user, say, search
from tests.users_fixtures import FAST_HASHING


async def _ready(client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await client.get("/readyz")).status == 200:
            return
        await asyncio.sleep(0.005)
    raise TimeoutError("/readyz never turned green")


async def _searches_for(client, user, q: str, seconds: float) -> list[tuple[int, dict]]:
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out.append(await search(client, user, q))
    return out


def _answered(answers: list[tuple[int, dict]], whole: int | None = None) -> None:
    """Every answer is a 200; one not marked partial is whole (``whole`` results when given), and a
    node whose index is ready never answers partially."""
    bad = [a for a in answers if a[0] != 200]
    assert answers and not bad, bad[:3]
    for _, body in answers:
        assert not (body["index_state"] == "ready" and body["partial"]), body
        if whole is not None and not body["partial"]:
            assert body["total"] == whole, body


async def test_a_fresh_node_answers_searches_as_soon_as_it_is_ready(aiohttp_client, tmp_path):
    client = await aiohttp_client(build_app(content_config(tmp_path / "data")))
    await _ready(client)
    user = await new_user(client)
    _answered(await _searches_for(client, user, "anything", 1.0))


async def test_a_node_rebuilding_a_lost_index_answers_searches_marked_partial(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client = await aiohttp_client(build_app(content_config(data)))
    world = await make_world(client)
    for i in range(150):
        await say(client, world.space.member, world.space.text, f"beacon log entry {i}")
    await indexed(client)
    await client.close()
    shutil.rmtree(data / "search")

    client = await aiohttp_client(build_app(content_config(data)))
    await _ready(client)
    answers = await _searches_for(client, world.space.member, "beacon", 1.0)
    _answered(answers, whole=150)
    await indexed(client)
    status, body = await search(client, world.space.member, "beacon")
    assert status == 200 and body["total"] == 150 and body["partial"] is False, body


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _ready_sync(url: str, timeout: float = 60) -> None:
    wait_until_sync(lambda: _get(url + "/readyz")[0] == 200, timeout=timeout, what="/readyz")


def _caught_up(data: Path, since: float) -> bool:
    from cryb_node.backup import replication

    st = replication.read_status(data)
    return (
        st is not None
        and st.updated_at > since
        and st.state == "running"
        and st.lag_s == 0
        and st.replica_txid >= st.db_txid > 0
    )


def test_a_restored_node_answers_searches_as_soon_as_it_is_ready(node_process, tmp_path: Path):
    """Restored to a moment before the last message: the index on disk is ahead of the database, so
    it is rebuilt; meanwhile searches answer (partial), and the lost message is never found."""
    config = tmp_path / "cryb.toml"
    settings = {"enabled": True, "type": "file", "path": str(tmp_path / "replica"), "sync_interval_s": 0.5}
    config.write_text(replication_toml(settings, **{"plugin.users": FAST_HASHING}))
    data = tmp_path / "data"
    node = node_process(config).start()
    site = Site.register(node.url)
    for i in range(120):
        site.message(f"harbour entry {i}")
    since = time.time()
    wait_until_sync(lambda: _caught_up(data, since), timeout=30, what="the replica")
    time.sleep(1.1)
    point = time.time()
    time.sleep(1.1)
    site.message("harbour lost after the backup point")
    since = time.time()
    wait_until_sync(lambda: _caught_up(data, since), timeout=30, what="the replica")
    wait_until_sync(lambda: len(site.search("lost")) == 1, timeout=30, what="the index")
    assert node.terminate() == 0

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(point)) + f".{int(point % 1 * 1000):03d}Z"
    args = (
        "--config",
        str(config),
        "--data",
        str(data),
        "backup",
        "restore",
        "--force",
        "--timestamp",
        stamp,
    )
    restored = run_cryb(*args, timeout=120, env=cryb_env())
    assert restored.returncode == 0, restored.stderr

    again = node_process(config).start()
    _ready_sync(again.url)
    site.login(again.url)
    answers = []
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        answers.append(request(f"{again.url}/api/v1/search?q={quote('harbour')}", token=site.token))
    _answered(answers, whole=120)
    assert all("lost" not in json.dumps(body) for _, body in answers)

    def whole() -> tuple[int, dict] | None:
        status, body = request(f"{again.url}/api/v1/search?q=harbour", token=site.token)
        return (status, body) if status == 200 and body["partial"] is False else None

    status, body = wait_until_sync(whole, timeout=60, what="the rebuilt index")
    assert status == 200 and body["total"] == 120 and body["partial"] is False, body
    assert site.search("lost") == []
    assert again.terminate() == 0


async def test_an_index_of_an_older_version_is_rebuilt_and_never_searched(aiohttp_client, tmp_path):
    """After an upgrade that changes the index, the old one (other fields, other postings) is not
    read: searches answer from the new build, marked partial, until it is whole."""
    from cryb_plugins.search.documents import Doc
    from cryb_plugins.search.store import Store

    data = tmp_path / "data"
    client = await aiohttp_client(build_app(content_config(data)))
    world = await make_world(client)
    for i in range(150):
        await say(client, world.space.member, world.space.text, f"beacon log entry {i}")
    await indexed(client)
    await client.close()
    old = data / "search" / (data / "search" / "CURRENT").read_text().strip()
    store = Store.open(old)
    meta = store.read_meta()
    meta.version -= 1
    # A document only the old index holds: any answer from it would show it.
    sp = world.space
    phantom = Doc(
        kind="message", id="phantom", channel=sp.text, community=sp.community, body="beacon phantom"
    )
    store.write([phantom], [], [], meta)
    store.close()

    client = await aiohttp_client(build_app(content_config(data)))
    await _ready(client)
    answers = await _searches_for(client, world.space.member, "beacon", 1.0)
    _answered(answers, whole=150)  # partial from the build meanwhile, never from the old index
    assert all("phantom" not in json.dumps(body) for _, body in answers)
    await indexed(client)
    status, body = await search(client, world.space.member, "beacon")
    assert status == 200 and body["total"] == 150 and body["partial"] is False, body
    assert not old.exists()
