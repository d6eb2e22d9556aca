"""The index is a cache: missing or corrupt, it is rebuilt in the background while the node serves
(and /readyz says so); `cryb search reindex` and the scheduled optimize keep it whole; lag is in
/metrics and /readyz."""

import asyncio
import time
from pathlib import Path

from cryb_plugins.search import CONSUMER

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.content.conftest import content_config
from tests.search.conftest import found, indexed, make_world, say


def gen_dir(data: Path) -> Path:
    return data / "search" / (data / "search" / "CURRENT").read_text().strip()


async def _seeded(aiohttp_client, data: Path, n: int = 30):
    client = await aiohttp_client(build_app(content_config(data)))
    world = await make_world(client)
    for i in range(n):
        await say(client, world.space.member, world.space.text, f"lighthouse keeper log entry {i}")
    await indexed(client)
    return client, world


async def _restart(aiohttp_client, client, data: Path):
    await client.close()
    return await aiohttp_client(build_app(content_config(data)))


async def test_a_corrupt_index_is_rebuilt_while_serving(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client, world = await _seeded(aiohttp_client, data)
    old = gen_dir(data)
    await client.close()
    for f in old.iterdir():  # garbage over every file of the index
        f.write_bytes(b"\x00garbage" * 64)
    client = await aiohttp_client(build_app(content_config(data)))
    ready = await (await client.get("/readyz")).json()
    assert ready["status"] == "ready", ready  # the node serves while it rebuilds
    assert ready["checks"]["search"]["ok"]
    await indexed(client)
    body = await found(client, world.space.owner, "lighthouse", limit=50)
    assert body["total"] == 30
    assert gen_dir(data) != old and not old.exists()


async def test_a_missing_index_is_rebuilt_and_matches_the_database(aiohttp_client, tmp_path):
    import shutil

    data = tmp_path / "data"
    client, world = await _seeded(aiohttp_client, data)
    await client.close()
    shutil.rmtree(data / "search")
    client = await aiohttp_client(build_app(content_config(data)))
    await indexed(client)
    from cryb_plugins.search import state_of

    ix = state_of(client.server.app[NODE]).indexer
    assert await ix.keys() == await ix.expected_keys()
    assert (await found(client, world.space.owner, "keeper"))["total"] == 30


async def test_an_index_restored_from_an_older_copy_is_stale_and_rebuilt(aiohttp_client, tmp_path):
    import shutil

    data = tmp_path / "data"
    client, world = await _seeded(aiohttp_client, data, n=3)
    shutil.copytree(data / "search", tmp_path / "old-search")
    await say(client, world.space.member, world.space.text, "lighthouse after the copy")
    await indexed(client)
    await client.close()
    shutil.rmtree(data / "search")
    shutil.copytree(tmp_path / "old-search", data / "search")
    client = await aiohttp_client(build_app(content_config(data)))
    await indexed(client)
    from cryb_plugins.search import state_of

    assert state_of(client.server.app[NODE]).indexer.rebuilds == ["stale"]
    assert (await found(client, world.space.owner, "lighthouse"))["total"] == 4


async def test_lag_and_state_are_in_metrics_and_readyz(aiohttp_client, tmp_path):
    client, _world = await _seeded(aiohttp_client, tmp_path / "data", n=2)
    text = await (await client.get("/metrics")).text()
    assert "cryb_search_lag_events 0.0" in text
    assert "cryb_search_documents" in text and "cryb_search_rebuilding 0.0" in text
    ready = await (await client.get("/readyz")).json()
    assert (
        ready["checks"]["search"]["detail"].startswith("ready:")
        and "lag 0 events" in ready["checks"]["search"]["detail"]
    )


async def test_optimize_merges_segments_and_keeps_every_document(aiohttp_client, tmp_path):
    client, _world = await _seeded(aiohttp_client, tmp_path / "data", n=12)
    from cryb_plugins.search import state_of

    node = client.server.app[NODE]
    st = state_of(node)
    # Every consumer batch is one commit (its offset with it): let the last ones land first, or a
    # batch committing just after the merge leaves a second segment (seen in long runs).
    await node.bus.consumers[CONSUMER].caught_up()
    segments, quiet_since = None, time.monotonic()
    while time.monotonic() - quiet_since < 0.5:
        now = (await st.indexer.stats())["segments"]
        if now != segments:
            segments, quiet_since = now, time.monotonic()
        await asyncio.sleep(0.05)
    before = await st.indexer.keys()
    await st.optimize()
    assert (await st.indexer.stats())["segments"] == 1
    assert await st.indexer.keys() == before


async def test_a_reindex_request_rebuilds_into_a_new_generation(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client, world = await _seeded(aiohttp_client, data, n=5)
    old = gen_dir(data)
    (data / "search" / "REINDEX").write_text("requested\n")
    from cryb_plugins.search import state_of

    st = state_of(client.server.app[NODE])
    for _ in range(300):
        if gen_dir(data) != old and st.indexer.state == "ready":
            break
        await say(client, world.space.member, world.space.text, "lighthouse during rebuild")
        await asyncio.sleep(0.02)
    await indexed(client)
    assert gen_dir(data) != old
    assert await st.indexer.keys() == await st.indexer.expected_keys()
