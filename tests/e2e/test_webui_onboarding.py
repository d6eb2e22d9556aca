"""Onboarding in the browser (issue 26): the owner writes rules, requires accepting them and offers
a self-assignable role in community settings; a new member who joins by invite lands on the welcome
screen, cannot post until accepting (the composer says why, and the node refuses anyway), picks the
role, then posts. Desktop and 390 px phone width."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    send,
    serve,
    shoot,
    until,
)

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


async def test_new_member_accepts_rules_picks_a_role_then_posts(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    channel_url = await create_community(alice, "Atelier")
    community_id = channel_url.rstrip("/").split("/")[-2]
    link = await invite_link(alice)

    # The owner makes a role, then sets up onboarding in its own settings tab.
    await alice.goto(f"{base}/channels/{community_id}/@settings?tab=roles")
    await alice.get_by_label("New role").fill("Painter")
    await alice.get_by_role("button", name="Create role").click()
    await expect(alice.get_by_text("Painter").first).to_be_visible()
    await alice.get_by_role("tab", name="Onboarding").click()
    form = alice.get_by_role("form", name="Onboarding")
    await form.get_by_label("Welcome message (Markdown)").fill("Hello **artists**, glad you came.")
    await form.get_by_label("Rules (Markdown)").fill("1. Be kind to beginners.\n2. No spam.")
    await form.get_by_label("Members must accept the rules before posting").check()
    await form.get_by_label("#general").check()
    await form.get_by_label("Painter").check()
    await form.get_by_role("button", name="Save onboarding").click()
    await until(alice, "document.getElementById('announcer').textContent === 'Onboarding saved.'")
    await screens(alice, "onboarding-settings")

    # Bob joins by invite and lands on the welcome screen with the rules.
    await bob.goto(link)
    await bob.get_by_role("button", name="Accept invite").click()
    await bob.wait_for_url(f"**/channels/{community_id}/@welcome")
    welcome = bob.get_by_role("region", name="Welcome screen")
    await expect(welcome.get_by_text("Be kind to beginners.")).to_be_visible()
    await expect(welcome.get_by_text("artists")).to_be_visible()
    await expect(bob.get_by_test_id("welcome-status")).to_have_text(
        "Accept the community\u2019s rules before posting."
    )
    await screens(bob, "onboarding-welcome")

    # He goes to #general first: the composer is locked and says why.
    await welcome.get_by_role("link", name="#general").click()
    await expect(bob.locator("#composer-input")).to_be_disabled()
    await expect(bob.get_by_test_id("screening-link")).to_have_text("Read the rules")
    await screens(bob, "onboarding-locked-composer")
    # the node refuses a post made around the page, too
    status = await bob.evaluate(
        """async (ch) => (await fetch(`/api/v1/channels/${ch}/messages`, {method: 'POST',
             headers: {'content-type': 'application/json'}, body: '{"content":"sneaky"}'})).status""",
        channel_url.rstrip("/").split("/")[-1],
    )
    assert status in (401, 403)

    # Back to the rules: accept, pick the role, then post.
    await bob.get_by_test_id("screening-link").click()
    accept = bob.get_by_role("button", name="Accept rules")
    await expect(accept).to_be_disabled()
    await bob.get_by_label("I have read and agree to the rules").check()
    await accept.click()
    await expect(bob.get_by_test_id("welcome-status")).to_have_text("You can post now.")
    painter = bob.get_by_role("button", name="Painter", exact=True)
    await expect(painter).to_have_attribute("aria-pressed", "false")
    await painter.click()
    await expect(bob.get_by_role("button", name="Painter", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await screens(bob, "onboarding-accepted")
    await bob.reload()
    await expect(bob.get_by_role("button", name="Painter", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(bob.get_by_text("✓ You accepted the rules.")).to_be_visible()
    await bob.get_by_role("button", name="Go to the community").click()
    await expect(bob.locator("#composer-input")).to_be_enabled()
    await alice.goto(channel_url)
    await send(bob, "hello painters")
    await expect(message(bob, "hello painters")).to_be_visible()
    await expect(message(alice, "hello painters")).to_be_visible()
    await screens(bob, "onboarding-posted")
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)
    assert not alice.external_requests and not bob.external_requests
