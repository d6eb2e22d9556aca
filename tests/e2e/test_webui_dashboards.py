"""The node admin's dashboard shows real peers and backups: a peer pinned with its key (as `cryb peer
add URL --key HEX` does) with its sync state and last error, and the snapshots a backup put in a
local file replica, with the replication status. Screenshots: docs/screenshots/admin-*.png."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from typing import Any

import pytest
from cryb_plugins.users.service import CLI, Users
from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.sync import peers, sync_of
from tests.conftest import free_port, make_config
from tests.e2e.test_webui_part2 import SCREENSHOTS
from tests.e2e.webui import DESKTOP, PHONE, new_page, shoot
from tests.users_fixtures import FAST_HASHING, PASSWORD

pytestmark = pytest.mark.browser


async def screens(page: Any, name: str, scroll_to: Any) -> None:
    """Desktop and phone width, scrolled to the peers and backups; CRYB_UPDATE_SCREENSHOTS=1 also
    refreshes docs/screenshots/."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await scroll_to.evaluate("el => el.scrollIntoView({block: 'start'})")
        await page.wait_for_timeout(150)
        shot = await shoot(page, f"{name}-{label}")
        if os.environ.get("CRYB_UPDATE_SCREENSHOTS") == "1":
            shutil.copy(shot, SCREENSHOTS / f"{name}-{label}.png")
    await page.set_viewport_size(DESKTOP)


async def sign_in(page: Any, base: str, login: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Username or email").fill(login)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_admin_dashboard_lists_pinned_peers_with_sync_state_and_backups(
    aiohttp_server, tmp_path, browser
):
    replica = tmp_path / "replica"
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING, "sync": {"backoff_initial_s": 0.05, "breaker_failures": 2}},
        rate_limits={"enabled": False},
        replication={"enabled": True, "type": "file", "path": str(replica), "sync_interval_s": 0.25},
    )
    server = await aiohttp_server(build_app(cfg))
    base, node = f"http://127.0.0.1:{server.port}", server.app[NODE]
    await node.services.get(Users).create_account(
        "nodeadmin", "nodeadmin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    key = bytes(range(32))
    gone = f"http://127.0.0.1:{free_port()}"  # nothing answers there: the peer fails to sync
    await peers.pin(node.db, key, gone, "far-away")
    await sync_of(node).engine.refresh_peers()
    node.replication.request_snapshot()  # what `cryb backup now` asks the running node for
    deadline = time.monotonic() + 30
    while node.replication.status().snapshots < 1 or sync_of(node).engine.states[key].failures < 2:
        assert time.monotonic() < deadline, "no snapshot or no failed sync in time"
        await asyncio.sleep(0.1)

    root = await new_page(browser)
    await sign_in(root, base, "nodeadmin")
    await root.get_by_role("link", name="Node admin").click()
    peers_region = root.get_by_role("region", name="Peers")
    row = peers_region.locator(f'tr[data-peer="{key.hex()}"]')
    await expect(row).to_contain_text(f"far-away · {gone}")
    await expect(row).to_contain_text(key.hex()[:16])
    await expect(row.locator(".flag")).to_have_text("failing")
    await expect(row).to_contain_text("open")
    await expect(row.locator(".peer-error")).not_to_be_empty()

    backups_region = root.get_by_role("region", name="Backups")
    await expect(backups_region.locator(".backup-target")).to_have_text(f"Target: file://{replica.resolve()}")
    await expect(backups_region.locator(".backup-status .flag")).to_have_text("running")
    listed = await root.evaluate("import('/web/js/api.js').then(m => m.get('/api/v1/admin/backups'))")
    txids = [str(s["max_txid"]) for s in reversed(listed["listing"]["snapshots"])]
    assert txids
    await expect(backups_region.locator("tbody tr")).to_have_count(len(txids))
    assert (
        await backups_region.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.txid)")
        == txids
    )
    await screens(root, "admin", scroll_to=peers_region)
    assert root.errors == [] and root.external_requests == []
