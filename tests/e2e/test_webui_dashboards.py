"""The node admin's dashboard shows real peers and backups: a peer pinned with its key (as `cryb peer
add URL --key HEX` does) with its sync state and last error, and the snapshots a backup put in a
local file replica, with the replication status. Screenshots: docs/screenshots/admin-*.png."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import time
from typing import Any

import msgspec
import nacl.signing
import pytest
from cryb_plugins.content.events import MessageCreate
from cryb_plugins.users.service import CLI, USERS
from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.events import DOMAIN, EventBody
from cryb_node.identity import CERT_DOMAIN
from cryb_node.sync import peers
from cryb_node.sync.parts import SYNC
from tests.conftest import free_port, make_config
from tests.e2e.webui import DESKTOP, PHONE, SCREENSHOTS, new_page, shoot
from tests.users_fixtures import FAST_HASHING, PASSWORD

pytestmark = pytest.mark.browser


async def screens(page: Any, name: str, scroll_to: Any) -> None:
    """Desktop and phone width, scrolled to the peers and backups; UPDATE_SCREENSHOTS=1 also
    refreshes docs/screenshots/."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await scroll_to.evaluate("el => el.scrollIntoView({block: 'start'})")
        await page.wait_for_timeout(150)
        shot = await shoot(page, f"{name}-{label}")
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            shutil.copy(shot, SCREENSHOTS / f"{name}-{label}.png")
    await page.set_viewport_size(DESKTOP)


async def _forger_with_refused_events(node: Any, n: int) -> bytes:
    """A pinned peer whose certified log signed ``n`` messages into a community that does not exist,
    received through the event log's own path: each is stored and refused by the rule book."""
    node_key, log_key = nacl.signing.SigningKey.generate(), nacl.signing.SigningKey.generate()
    origin, key = bytes(log_key.verify_key), bytes(node_key.verify_key)
    await peers.pin(node.db, key, "http://127.0.0.1:9", "forger", now=node.clock.time())

    def job(conn: Any) -> None:
        cert = node_key.sign(CERT_DOMAIN + origin).signature
        conn.execute("INSERT INTO log_keys VALUES (?, ?, ?, ?)", (origin, key, cert, 0))
        prev = None
        for seq in range(1, n + 1):
            content = msgspec.msgpack.encode(MessageCreate(channel_id="nochannel", content=f"x{seq}"))
            hlc = ((int(time.time() * 1000) - 5000) << 16) + seq
            digest = hashlib.sha256(content).digest()
            body = EventBody(
                1, "nocommunity", origin, seq, prev, hlc, "someone", "message.create", f"f{seq}", [], digest
            )
            raw = msgspec.msgpack.encode(body)
            prev = hashlib.sha256(raw).digest()
            assert node.events.ingest(conn, raw, log_key.sign(DOMAIN + raw).signature, content).refused

    await node.db.write(job)
    return key


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
        plugin={
            "users": FAST_HASHING,
            "sync": {"backoff_initial_s": 0.05, "breaker_failures": 2, "refused_limit": 3},
        },
        rate_limits={"enabled": False},
        replication={"enabled": True, "type": "file", "path": str(replica), "sync_interval_s": 0.25},
    )
    server = await aiohttp_server(build_app(cfg))
    base, node = f"http://127.0.0.1:{server.port}", server.app[NODE]
    await node.services.require(USERS).create_account(
        "nodeadmin", "nodeadmin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    key = bytes(range(32))
    gone = f"http://127.0.0.1:{free_port()}"  # nothing answers there: the peer fails to sync
    await peers.pin(node.db, key, gone, "far-away", now=node.clock.time())
    await node.services.require(SYNC).engine.refresh_peers()
    forger = await _forger_with_refused_events(node, 3)
    node.replication.request_snapshot()  # what `cryb backup now` asks the running node for
    deadline = time.monotonic() + 30
    while (
        node.replication.status().snapshots < 1 or node.services.require(SYNC).engine.states[key].failures < 2
    ):
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
    flagged = peers_region.locator(f'tr[data-peer="{forger.hex()}"]')
    await expect(flagged.locator(".flag")).to_have_text("flagged")
    await expect(flagged.locator(".peer-refused")).to_have_text("3")

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
