"""Issue 21, screens that broke for people: the offline screen after a reload (a ~90 px column of
messages on a desktop) and the user settings at phone width (tabs running off screen, the channel
drawer left open behind the dialog). Each test failed on main before its fix."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_part2 import screens, serve_node
from tests.e2e.webui import DESKTOP, PHONE, create_community, message, new_page, register, send, shoot, until

pytestmark = pytest.mark.browser


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
        ".then(k => ['/web/js/views/offline.js', '/web/app.css'].every(p => k.some(r => r.url.endsWith(p))))",
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
