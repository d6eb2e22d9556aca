"""Voice in sfu mode (issue 27, acceptance 1, sfu): Debian's Janus (VideoRoom), started by the test,
forwards the call of three Chromium contexts with fake media devices; the node makes the room and
admits each member with a one-off token. Every participant's getStats() shows inbound audio bytes
growing from every other; a server mute stops the muted member's audio reaching the others; a ban
drops them from the call. Skipped where janus is not installed."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect

from cryb_node.app import build_app
from tests.conftest import free_port, make_config
from tests.e2e.test_webui_voice import growing, inbound, media_browser, my_id  # noqa: F401 (fixture)
from tests.e2e.webui import (
    PASSWORD,
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    new_page,
    register,
    until,
)
from tests.e2e.webui import shoot as screenshot
from tests.users_fixtures import FAST_HASHING

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("janus") is None, reason="janus is not installed"),
]
LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
ADMIN_KEY = "room-admin-key"


def janus_config(root: Path, port: int, rtp: int) -> Path:
    for kind, names in (("plugins", ["libjanus_videoroom.so"]), ("transports", ["libjanus_http.so"])):
        (root / kind).mkdir(parents=True)
        for name in names:
            (root / kind / name).symlink_to(LIB / kind / name)
    for empty in ("events", "loggers"):
        (root / empty).mkdir()
    conf = root / "conf"
    conf.mkdir()
    (conf / "janus.jcfg").write_text(
        f'general: {{ configs_folder = "{conf}", plugins_folder = "{root / "plugins"}",'
        f' transports_folder = "{root / "transports"}", events_folder = "{root / "events"}",'
        f' loggers_folder = "{root / "loggers"}", debug_level = 3 }}\n'
        f'media: {{ rtp_port_range = "{rtp}-{rtp + 200}" }}\n'
        "nat: { full_trickle = true }\n"
    )
    (conf / "janus.transport.http.jcfg").write_text(
        f'general: {{ json = "compact", base_path = "/janus", http = true, port = {port},'
        ' ip = "127.0.0.1" }\n'
        'admin: { admin_http = false }\ncors: { allow_origin = "*" }\n'
    )
    (conf / "janus.plugin.videoroom.jcfg").write_text(f'general: {{ admin_key = "{ADMIN_KEY}" }}\n')
    return conf


@pytest.fixture
def janus(tmp_path: Path):
    port = free_port()
    conf = janus_config(tmp_path / "janus", port, 42000 + port % 1000 * 20)
    log = (tmp_path / "janus.log").open("w")
    proc = subprocess.Popen(
        ["janus", "-F", str(conf), "-C", str(conf / "janus.jcfg")], stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}/janus"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(url + "/info", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "janus did not start"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


async def test_three_members_talk_through_janus_a_server_mute_silences_one_and_a_ban_drops_them(
    aiohttp_server,
    tmp_path,
    media_browser,  # noqa: F811 (the fixture imported above)
    janus,
):
    voice = {"mode": "sfu", "janus_url": janus, "janus_admin_key": ADMIN_KEY}
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING, "voice": voice},
        rate_limits={"enabled": False},
        realtime={"heartbeat_interval_s": 2.0},
    )
    base = f"http://127.0.0.1:{(await aiohttp_server(build_app(cfg))).port}"
    pages = {
        "alice": await new_page(media_browser, permissions=["microphone", "camera"]),
        "bob": await new_page(media_browser, permissions=["microphone", "camera"]),
        "carol": await new_page(media_browser, viewport=PHONE, permissions=["microphone", "camera"]),
    }
    for name, page in pages.items():
        await register(page, base, name)
    alice, bob, carol = pages["alice"], pages["bob"], pages["carol"]
    await create_community(alice, "Hall")
    link = await invite_link(alice)
    await accept_invite(bob, link)
    await accept_invite(carol, link)
    await alice.get_by_role("button", name="Create channel").click()
    dialog = alice.get_by_role("dialog", name="Create channel")
    await dialog.get_by_label("Channel name").fill("stage")
    await dialog.get_by_label("Type").select_option("voice")
    await dialog.get_by_role("button", name="Create").click()
    channel = re.compile(r"^stage \(voice channel")
    for page in (alice, bob, carol):
        if page is not alice:
            await page.reload()
        if page is carol:
            await page.get_by_role("button", name="Open channels and communities").click()
        await page.get_by_role("link", name=channel).click()
        await page.get_by_role("button", name="Join voice").click()
        await expect(page.get_by_role("button", name="Leave", exact=True)).to_be_visible(timeout=10000)
    ids = {name: await my_id(page) for name, page in pages.items()}
    # Every participant hears every other, through the SFU.
    for name, page in pages.items():
        for other in pages:
            if other != name:
                await growing(page, ids[other], timeout=30)
    assert await alice.evaluate("window.__voice.sfu !== null && window.__voice.sfu.room > 0")
    await expect(alice.locator(".voice-tile")).to_have_count(3)
    await screenshot(alice, "voice-sfu-desktop")
    await screenshot(carol, "voice-sfu-phone")

    # Alice server-mutes Bob: his audio stops reaching Alice and Carol.
    await (
        alice.locator(f'.voice-tile[data-user="{ids["bob"]}"]')
        .get_by_role("button", name="Server mute")
        .click()
    )
    await expect(bob.get_by_text("A moderator muted you.")).to_be_visible()
    await asyncio.sleep(1.5)
    before = {n: await inbound(pages[n], ids["bob"]) for n in ("alice", "carol")}
    await asyncio.sleep(2.5)
    for n in ("alice", "carol"):
        assert await inbound(pages[n], ids["bob"]) == before[n], f"{n} still receives a muted member's audio"
    await growing(carol, ids["alice"])

    # A ban drops Carol from the call: her page ends it, the SFU kicks her, the others lose her feed.
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{base}/api/v1/auth/login", json={"login": "alice", "password": PASSWORD})
        token = (await resp.json())["access_token"]
        community = alice.url.split("/")[4]
        resp = await http.put(f"{base}/api/v1/communities/{community}/bans/{ids['carol']}", json={},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert resp.status < 300, await resp.text()
    await until(carol, "window.__voice.channelId === null && window.__voice.peers.size === 0")
    await expect(alice.locator(".voice-tile")).to_have_count(2)
    await until(alice, f"!window.__voice.peers.has('{ids['carol']}')", 15)
    await growing(bob, ids["alice"])
    for page in pages.values():
        assert not page.errors, page.errors
    for page in (alice, bob):  # nothing went wrong with the media server on the way
        assert await page.locator(".voice-problem").text_content() == ""
