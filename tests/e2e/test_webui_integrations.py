"""Integrations in the browser (issue 26): the owner makes an incoming webhook in community settings
(deep link to the tab), copies its secret URL, a CI-style Discord body posted to it shows in a
member's open channel with the integration's name and an APP tag, a link from a loopback site gets
an embed card for both (and after a reload), and a new address makes the old one fail. Desktop and
390 px phone width."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from cryb_node.app import build_app
from tests.conftest import make_config
from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    send,
    shoot,
)
from tests.integrations.conftest import serve
from tests.integrations.test_outgoing import Receiver, verify
from tests.integrations.test_previews import Site
from tests.users_fixtures import FAST_HASHING

pytestmark = pytest.mark.browser


async def screens(page: Any, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(200)
        if label == "phone":
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: the page is {width} px wide at 390 px"
        await shoot(page, f"{name}-{label}")
    await page.set_viewport_size(DESKTOP)


async def test_webhook_management_app_messages_and_embed_cards(aiohttp_server, tmp_path, browser):
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING, "integrations": {"allow_networks": ["127.0.0.1/32"]}},
        rate_limits={"enabled": False},
        realtime={"heartbeat_interval_s": 2.0},
    )
    server = await aiohttp_server(build_app(cfg))
    base = f"http://127.0.0.1:{server.port}"
    site = Site()
    site_runner, site_base = await serve(site.app)
    try:
        alice, bob = await new_page(browser), await new_page(browser)
        await register(alice, base, "alice")
        await register(bob, base, "bob")
        channel_url = await create_community(alice, "Harbour")
        await accept_invite(bob, await invite_link(alice))
        community_id = channel_url.rstrip("/").split("/")[-2]

        # The owner opens the Integrations tab by its address and makes a webhook.
        await alice.goto(f"{base}/channels/{community_id}/@settings?tab=integrations")
        await expect(alice.get_by_role("tab", name="Integrations")).to_have_attribute("aria-selected", "true")
        form = alice.get_by_role("form", name="New webhook")
        await form.get_by_label("Name").fill("Deploy bot")
        avatar = {"name": "bot.png", "mimeType": "image/png", "buffer": site.png}
        await form.get_by_label("Avatar (optional)").set_input_files(avatar)
        await expect(form.get_by_text("Uploaded.")).to_be_visible()
        await form.get_by_role("button", name="Create webhook").click()
        url_field = alice.locator("#hook-new-url")
        await expect(url_field).to_have_value(re.compile(rf"^{re.escape(base)}/api/webhooks/[^/]+/[^/]+$"))
        hook_url = await url_field.input_value()
        assert hook_url.startswith(f"{base}/api/webhooks/")
        await expect(alice.get_by_role("list", name="Webhooks").get_by_text("Deploy bot")).to_be_visible()
        await screens(alice, "integrations-settings")
        # At 390 px the tabs scroll sideways; a deep link keeps the open tab in view.
        await alice.set_viewport_size(PHONE)
        await alice.reload()
        tab = alice.get_by_role("tab", name="Integrations")
        await expect(tab).to_have_attribute("aria-selected", "true")
        box = await tab.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        await shoot(alice, "integrations-settings-phone-deep-link")
        await alice.set_viewport_size(DESKTOP)

        # A CI system posts a Discord body; bob, in the channel, sees it as the app.
        await bob.goto(channel_url)
        await bob.locator("#composer-input").wait_for()
        async with aiohttp.ClientSession() as http:
            body = {"content": "deploy finished", "embeds": [{"title": "v2.1", "description": "all green"}]}
            async with http.post(hook_url, json=body) as resp:
                assert resp.status == 204
        msg = message(bob, "deploy finished")
        await expect(msg.locator(".app-name")).to_have_text("Deploy bot")
        await expect(msg.locator(".app-tag")).to_have_text("APP")
        await expect(msg).to_contain_text("all green")
        await expect(msg.locator("img.app-avatar")).to_have_js_property("complete", True)
        assert await msg.locator("img.app-avatar").evaluate("i => i.naturalWidth") > 0

        # Bob shares a link; both see the preview card, with the re-encoded image.
        await send(bob, f"news: {site_base}/page")
        for page in (bob, alice):
            if page is alice:
                await alice.goto(channel_url)
            card = message(page, "news:").locator(".embed-card")
            await expect(card.locator(".embed-title")).to_have_text("The Loopback Gazette")
            await expect(card.locator(".embed-desc")).to_have_text("All the news that fits in 127.0.0.1.")
            await expect(card.locator("img.embed-image")).to_have_js_property("complete", True)
            assert await card.locator("img.embed-image").evaluate("i => i.naturalWidth") == 120
        await screens(bob, "integrations-chat")

        # After a reload the app name and the card are still there (from the node, not memory).
        await bob.reload()
        await expect(message(bob, "deploy finished").locator(".app-tag")).to_be_visible()
        await expect(message(bob, "news:").locator(".embed-title")).to_have_text("The Loopback Gazette")

        # The author hides the previews of that one message (for everyone, after a reload too).
        await message(bob, "news:").click(button="right")
        await bob.get_by_role("menu").get_by_role("menuitem", name="Hide link previews").click()
        await expect(message(bob, "news:").locator(".embed-card")).to_have_count(0)
        async with bob.expect_response(lambda r: "/embeds?" in r.url) as answered:
            await bob.reload()
        assert (await (await answered.value).json()) == {"embeds": {}}  # the node's answer, not a cache
        await expect(message(bob, "deploy finished").locator(".app-tag")).to_be_visible()
        await expect(message(bob, "news:").locator(".embed-card")).to_have_count(0)

        # A new address: the old one stops working at once.
        await alice.goto(f"{base}/channels/{community_id}/@settings?tab=integrations")
        await alice.get_by_role("button", name="New address for Deploy bot").click()
        await alice.get_by_role("dialog").get_by_role("button", name="New address").click()
        await expect(alice.locator("#hook-new-url")).not_to_have_value(hook_url)
        new_url = await alice.locator("#hook-new-url").input_value()
        async with aiohttp.ClientSession() as http:
            async with http.post(hook_url, json={"content": "old"}) as resp:
                assert resp.status == 404
            async with http.post(new_url, json={"content": "from the new address"}) as resp:
                assert resp.status == 200
        await expect(message(bob, "from the new address").locator(".app-name")).to_have_text("Deploy bot")

        # An event webhook added in the same tab receives the next message, and the tab shows it.
        rx = Receiver()
        rx_runner, rx_base = await serve(rx.app)
        try:
            events = alice.get_by_role("form", name="New event webhook")
            await events.get_by_label("Receiver URL").fill(f"{rx_base}/hook")
            await events.get_by_role("button", name="Add event webhook").click()
            secret = await alice.locator("#event-hook-secret").input_value()
            assert len(secret) >= 40
            await send(bob, "tell the receiver")
            for _ in range(100):
                if rx.got:
                    break
                await bob.wait_for_timeout(100)
            headers, body = rx.got[0]
            assert verify(secret, headers, body) and b"tell the receiver" in body
            status = alice.get_by_role("list", name="Event webhooks").locator(".hook-status")
            for _ in range(20):  # the node writes the answer down just after the receiver got it
                await alice.reload()
                if "delivered" in await status.inner_text():
                    break
                await alice.wait_for_timeout(200)
            await expect(status).to_contain_text("delivered")
        finally:
            await rx_runner.cleanup()
        assert not alice.errors and not bob.errors, alice.errors + bob.errors
        assert not alice.external_requests and not bob.external_requests
    finally:
        await site_runner.cleanup()
