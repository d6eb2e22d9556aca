"""Disabling the integrations plugin leaves a working node without its routes, tables or workers."""

from __future__ import annotations

from pathlib import Path

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.integrations.conftest import make_space, ok
from tests.users_fixtures import FAST_HASHING


async def test_a_node_without_integrations_chats_and_knows_no_webhooks(aiohttp_client, tmp_path: Path):
    config = make_config(
        tmp_path / "data", plugin={"users": dict(FAST_HASHING)}, rate_limits={"enabled": False},
        plugins={"disabled": ["integrations"]},
    )  # fmt: skip
    c = await aiohttp_client(build_app(config))
    space = await make_space(c)
    await ok(
        c,
        "POST",
        f"/channels/{space.text}/messages",
        space.member,
        json={"content": "https://example.invalid"},
    )
    resp = await c.post(f"/api/v1/channels/{space.text}/webhooks", json={"name": "x"}, headers=space.owner.h)
    assert resp.status == 404
    assert (await c.get(f"/api/v1/channels/{space.text}/embeds?ids=x")).status == 404
    node = c.server.app[NODE]
    assert await node.db.fetchval("SELECT count(*) FROM sqlite_master WHERE name LIKE 'integ_%'") == 0
