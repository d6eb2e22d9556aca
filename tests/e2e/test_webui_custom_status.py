"""Custom status in the browser (issue 26): a member sets a status from the user panel; it shows
under their name there, in another member's member list and profile card (after a reload), and
clears. Desktop and 390 px phone width."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_onboarding import screens
from tests.e2e.webui import accept_invite, create_community, invite_link, new_page, register, serve

pytestmark = pytest.mark.browser


async def test_status_set_in_the_panel_shows_to_others(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    url = await create_community(alice, "Bakers")
    await accept_invite(bob, await invite_link(alice))

    await alice.get_by_role("button", name="Set a status").click()
    dialog = alice.get_by_role("dialog", name="Set a status")
    await dialog.get_by_label("Status").fill("Baking bread")
    await dialog.get_by_label("Clear after").select_option(label="1 hour")
    await dialog.get_by_role("button", name="Save").click()
    await expect(alice.locator(".user-panel .user-tag")).to_have_text("Baking bread")
    await alice.reload()
    await expect(alice.locator(".user-panel .user-tag")).to_have_text("Baking bread")

    await bob.goto(url)
    row = bob.locator(".member-list li.member", has_text="alice")
    await expect(row.locator(".member-status")).to_have_text("Baking bread")
    await screens(bob, "custom-status-members")
    await row.get_by_role("button").click()
    await expect(bob.locator(".profile-card .profile-status")).to_have_text("Baking bread")
    await screens(bob, "custom-status-card")
    await bob.keyboard.press("Escape")

    await alice.get_by_role("button", name="Set a status").click()
    await alice.get_by_role("dialog", name="Set a status").get_by_role("button", name="Clear status").click()
    await expect(alice.locator(".user-panel .user-tag")).to_have_text("@alice")
    await bob.reload()
    await expect(bob.locator(".member-list li.member", has_text="alice")).to_be_visible()
    await expect(bob.locator(".member-list .member-status")).to_have_count(0)
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)
