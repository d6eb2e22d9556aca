"""Screens that broke for people: the offline screen after a reload (a ~90 px column of
messages on a desktop) and the user settings at phone width (tabs running off screen, the channel
drawer left open behind the dialog). Each test failed on main before its fix."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    create_community,
    message,
    new_page,
    register,
    send,
    serve_node,
    shoot,
    until,
)

pytestmark = pytest.mark.browser

DRAWER_OPEN = re.compile(r"\bdrawer-open\b")


async def test_offline_reload_shows_messages_at_full_width(aiohttp_server, tmp_path, browser):
    base, _ = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Cave")
    await send(alice, "a message long enough to need a wide column on any desktop screen, not ninety pixels")
    await expect(message(alice, "a message long enough")).to_be_visible()
    await until(alice, "!!navigator.serviceWorker.controller")
    await until(
        alice,
        "caches.open('cryb-shell-v1').then(c => c.keys())"
        ".then(k => ['/js/views/offline.js', '/app.css'].every(p => k.some(r => r.url.endsWith(p))))",
    )
    await until(
        alice,
        "import('/web/js/outbox.js').then(m => m.recall('last'))"
        ".then(s => !!s && s.messages.some(m => m.content.startsWith('a message long')))",
    )

    # The network drops and the member reloads: the service worker serves the offline screen.
    await alice.context.set_offline(True)
    await alice.reload()
    await expect(alice.get_by_role("heading", name="You are offline")).to_be_visible()
    shown = alice.locator("article.msg", has_text="a message long enough")
    await expect(shown).to_be_visible()
    # The text's column, not just the row: the row spanned the page while the text sat in its
    # 56 px avatar gutter (the offline screen draws no avatars), one word per line.
    body = shown.locator(".msg-body")
    box = await body.bounding_box()
    assert box is not None and box["width"] > 400, box
    assert box["height"] < 60, box  # two lines at most, not a column of words
    composer = await alice.locator("#composer-input").bounding_box()
    assert composer is not None and composer["width"] > 400, composer
    await shoot(alice, "offline-reload-desktop")
    await alice.set_viewport_size(PHONE)
    box = await body.bounding_box()
    assert box is not None and box["width"] > 300 and box["x"] + box["width"] <= PHONE["width"], box
    await shoot(alice, "offline-reload-phone")
    await alice.set_viewport_size(DESKTOP)
    await alice.context.set_offline(False)
    assert alice.errors == [] and alice.external_requests == []


async def test_settings_at_phone_width_closes_the_drawer_and_keeps_every_tab_on_screen(
    aiohttp_server, tmp_path, browser
):
    base, _ = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Allotment")
    await alice.set_viewport_size(PHONE)
    await alice.reload()
    shell = alice.locator(".shell")
    # On a phone the gear sits in the channel drawer: open it, as people do, then the settings.
    await alice.get_by_role("button", name="Open channels and communities").first.click()
    await expect(shell).to_have_class(DRAWER_OPEN)
    await alice.get_by_role("button", name="User settings").click()
    dialog = alice.get_by_role("dialog", name="User settings")
    await expect(dialog).to_be_visible()
    await expect(shell).not_to_have_class(DRAWER_OPEN)  # the drawer does not stay open behind it
    frame = await dialog.bounding_box()
    assert frame is not None and frame["x"] >= 0 and frame["x"] + frame["width"] <= PHONE["width"], frame
    tabs = dialog.get_by_role("tab")
    await expect(tabs).to_have_count(8)  # Profile … Blocked users … Delete account
    for i in range(8):  # every tab is on screen, none cut off at the right edge
        box = await tabs.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (i, box)
    await tabs.filter(has_text="Delete account").click()
    await expect(tabs.filter(has_text="Delete account")).to_have_attribute("aria-selected", "true")
    await expect(dialog.get_by_role("tabpanel")).to_contain_text("Delete")
    await tabs.filter(has_text="Profile").click()
    await shoot(alice, "settings-tabs-phone")
    await alice.set_viewport_size(DESKTOP)
    await shoot(alice, "settings-tabs-desktop")
    assert alice.errors == [] and alice.external_requests == []
