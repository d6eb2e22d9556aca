"""Voice in the web UI, mesh mode (issue 27, acceptance 1): two Chromium contexts with fake media
devices join a voice channel; each RTCPeerConnection's getStats() shows inbound audio bytes growing
from the other; a moderator's server mute stops the muted member's audio reaching the other; a ban
drops the member from the call. Screenshots at desktop and phone width."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from playwright.async_api import expect

from tests.e2e.conftest import CHROMIUM, FLAGS
from tests.e2e.webui import (
    PASSWORD,
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    new_page,
    register,
    serve,
    until,
)
from tests.e2e.webui import shoot as screenshot

pytestmark = pytest.mark.browser

MEDIA_FLAGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
# Bytes of audio received so far from each peer (user id -> bytes), read from getStats().
INBOUND = """async () => {
  const out = {};
  const call = window.__voice;
  if (!call) return out;
  for (const [id, p] of call.peers) {
    const stats = await p.pc.getStats();
    let bytes = 0;
    stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes += s.bytesReceived; });
    out[id] = bytes;
  }
  return out;
}"""


@pytest.fixture
async def media_browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + MEDIA_FLAGS)
        yield b
        await b.close()


async def inbound(page, peer: str) -> int:
    return (await page.evaluate(INBOUND)).get(peer, 0)


async def growing(page, peer: str, timeout: float = 20.0) -> int:
    """Wait until audio bytes from ``peer`` grow; the latest count."""
    first = await inbound(page, peer)
    for _ in range(int(timeout / 0.5)):
        await asyncio.sleep(0.5)
        now = await inbound(page, peer)
        if now > first and now > 1000:
            return now
    raise AssertionError(f"no audio from {peer}: {first} bytes")


async def my_id(page) -> str:
    return await page.evaluate("window.__voice && window.__voice.me")


async def test_two_members_talk_a_server_mute_silences_one_and_a_ban_drops_them(
    aiohttp_server, tmp_path, media_browser
):
    base = await serve(aiohttp_server, tmp_path)
    alice = await new_page(media_browser, permissions=["microphone", "camera"])
    bob = await new_page(media_browser, viewport=PHONE, permissions=["microphone", "camera"])
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Radio")
    await accept_invite(bob, await invite_link(alice))

    # Alice makes a voice channel through the dialog; it shows in both sidebars.
    await alice.get_by_role("button", name="Create channel").click()
    dialog = alice.get_by_role("dialog", name="Create channel")
    await dialog.get_by_label("Channel name").fill("lounge")
    await dialog.get_by_label("Type").select_option("voice")
    await dialog.get_by_role("button", name="Create").click()
    for page in (alice, bob):
        if page is bob:
            await page.reload()
            await page.get_by_role("button", name="Open channels and communities").click()
        link = page.get_by_role("link", name=re.compile(r"^lounge \(voice channel"))
        await link.click()
        await page.get_by_role("button", name="Join voice").click()
        await expect(page.get_by_role("button", name="Leave", exact=True)).to_be_visible(timeout=10000)

    a_id, b_id = await my_id(alice), await my_id(bob)
    assert a_id and b_id and a_id != b_id
    # Both hear each other: inbound audio bytes grow on each side.
    await growing(alice, b_id)
    await growing(bob, a_id)
    # The sidebar lists both in the channel; the grid shows both tiles.
    members = alice.get_by_role("list", name="In lounge")
    await expect(members.locator(".voice-member")).to_have_count(2)
    await expect(alice.locator(".voice-tile")).to_have_count(2)
    await screenshot(alice, "voice-call-desktop")
    await screenshot(bob, "voice-call-phone")

    # Alice (the owner) server-mutes Bob: his audio stops reaching her.
    tile = alice.locator(f'.voice-tile[data-user="{b_id}"]')
    await tile.get_by_role("button", name="Server mute").click()
    await expect(bob.get_by_text("A moderator muted you.")).to_be_visible()
    await expect(tile.get_by_role("button", name="Server unmute")).to_be_visible()
    await asyncio.sleep(1.5)  # packets already on their way arrive
    before = await inbound(alice, b_id)
    await asyncio.sleep(2.5)
    assert await inbound(alice, b_id) == before, "a server-muted member's audio still arrives"
    assert await alice.evaluate(f"window.__voice.peers.get('{b_id}').audio.muted")
    # Alice's own audio still reaches Bob.
    await growing(bob, a_id)

    # Alice's connection drops and comes back (the node ends a call with its socket): her page joins
    # again by itself and Bob hears her again.
    await alice.context.set_offline(True)
    await bob.get_by_role("list", name="In lounge").locator(".voice-member").nth(1).wait_for(state="detached")
    await alice.context.set_offline(False)
    await expect(bob.get_by_role("list", name="In lounge").locator(".voice-member")).to_have_count(2)
    await growing(bob, a_id)
    await screenshot(alice, "voice-server-muted")

    # A ban drops Bob from the call at once: his page says so, Alice's call and sidebar lose him.
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{base}/api/v1/auth/login", json={"login": "alice", "password": PASSWORD})
        token = (await resp.json())["access_token"]
        community = alice.url.split("/")[4]
        resp = await http.put(f"{base}/api/v1/communities/{community}/bans/{b_id}", json={},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert resp.status < 300, await resp.text()
    await until(bob, "window.__voice.channelId === null && window.__voice.peers.size === 0")
    await expect(bob.locator("#announcer")).to_have_text("You were disconnected from voice (permission).")
    # The app takes a banned member out of the community altogether (home, the community gone).
    await expect(bob.locator("#main").get_by_role("heading", name="Direct messages")).to_be_visible()
    await screenshot(bob, "voice-banned-phone")
    await expect(members.locator(".voice-member")).to_have_count(1)
    await expect(alice.locator(".voice-tile")).to_have_count(1)
    assert await alice.evaluate(f"window.__voice.peers.has('{b_id}')") is False
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)


async def test_camera_shows_in_the_other_grid_push_to_talk_gates_the_mic_and_the_phone_sidebar_lists_the_call(
    aiohttp_server, tmp_path, media_browser
):
    base = await serve(aiohttp_server, tmp_path)
    alice = await new_page(media_browser, permissions=["microphone", "camera"])
    bob = await new_page(media_browser, viewport=PHONE, permissions=["microphone", "camera"])
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Studio")
    await accept_invite(bob, await invite_link(alice))
    await alice.get_by_role("button", name="Create channel").click()
    dialog = alice.get_by_role("dialog", name="Create channel")
    await dialog.get_by_label("Channel name").fill("booth")
    await dialog.get_by_label("Type").select_option("voice")
    await dialog.get_by_role("button", name="Create").click()
    voice = re.compile(r"^booth \(voice channel")
    await alice.get_by_role("link", name=voice).click()
    await alice.get_by_role("button", name="Join voice").click()
    await bob.reload()
    await bob.get_by_role("button", name="Open channels and communities").click()
    await expect(bob.get_by_role("list", name="In booth").locator(".voice-member")).to_have_count(1)
    await bob.get_by_role("link", name=voice).click()
    await bob.get_by_role("button", name="Join voice").click()
    a_id, b_id = await my_id(alice), await my_id(bob)
    await growing(alice, b_id)

    # Alice turns her camera on: Bob's grid shows her video (a live track, frames decoded).
    await alice.get_by_role("button", name="Camera").click()
    tile = bob.locator(f'.voice-tile[data-user="{a_id}"] video')
    await expect(tile).to_be_visible(timeout=15000)
    await until(bob, f"document.querySelector('.voice-tile[data-user=\"{a_id}\"] video').videoWidth > 0", 15)
    await expect(bob.get_by_role("list", name="In booth").get_by_text("camera on")).to_have_count(1)
    await screenshot(bob, "voice-video-phone")
    await screenshot(alice, "voice-video-desktop")

    # Push-to-talk: with it on, Bob's microphone is off until he holds the key.
    await bob.get_by_text("Voice settings").click()
    await bob.get_by_label("Push to talk").check()
    assert await bob.evaluate("window.__voice.local.getAudioTracks()[0].enabled") is False
    await bob.keyboard.down("Backquote")
    assert await bob.evaluate("window.__voice.local.getAudioTracks()[0].enabled") is True
    await expect(bob.get_by_text("Talking…")).to_be_visible()
    await bob.keyboard.up("Backquote")
    assert await bob.evaluate("window.__voice.local.getAudioTracks()[0].enabled") is False

    # The phone's drawer lists who is in the call.
    await bob.get_by_role("button", name="Open channels and communities").click()
    in_call = bob.get_by_role("list", name="In booth")
    await expect(in_call.locator(".voice-member")).to_have_count(2)
    await expect(in_call).to_be_in_viewport()
    await bob.wait_for_timeout(400)  # the drawer's slide-in, for the screenshot only
    await screenshot(bob, "voice-sidebar-phone")
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)
