"""The web UI: the post composer previews the server's own rendering (plain text
offline); a jump to a message far back in history loads its context; an outbox that survives a
cold start offline (IndexedDB) and sends each message exactly once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cryb_plugins.content.schemas import MessageIn
from cryb_plugins.content.service import CONTENT
from playwright.async_api import expect

from tests.e2e.webui import (
    api_call,
    create_community,
    create_forum,
    message,
    new_page,
    register,
    send,
    serve_node,
    until,
)

pytestmark = pytest.mark.browser

MARKDOWN = (
    "Read **this** <script>alert(1)</script> at [the docs](https://example.test/a?b=1&c=2)\n\n- one\n- two"
)


async def test_post_preview_is_the_servers_rendering_and_plain_text_offline(
    aiohttp_server, tmp_path, browser
):
    base, _ = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Writers")
    await create_forum(alice, "drafts")
    await alice.get_by_role("link", name="New post").click()
    await alice.get_by_label("Title").fill("Preview me")
    await alice.get_by_label("Body (Markdown)").fill(MARKDOWN)
    await alice.get_by_role("button", name="Preview").click()
    pane = alice.locator(".post-preview-pane")
    await expect(pane).to_have_attribute("data-source", "server")
    await expect(pane.locator("strong")).to_have_text("this")
    await expect(pane.locator("a")).to_have_attribute("href", "https://example.test/a?b=1&c=2")
    assert await pane.locator("script").count() == 0
    previewed = await pane.inner_html()

    # Offline the preview falls back to the plain text, escaped: nothing is parsed as HTML.
    await alice.get_by_role("button", name="Edit").click()
    await alice.context.set_offline(True)
    await alice.get_by_label("Body (Markdown)").fill(MARKDOWN + "\n\nmore")
    await alice.get_by_role("button", name="Preview").click()
    await expect(pane).to_have_attribute("data-source", "plain")
    await expect(pane.locator(".preview-plain")).to_have_text(MARKDOWN + "\n\nmore")
    assert await pane.locator("script, a, strong").count() == 0
    await alice.context.set_offline(False)
    await alice.get_by_role("button", name="Edit").click()
    await alice.get_by_label("Body (Markdown)").fill(MARKDOWN)

    # The saved post is shown exactly as previewed, and its body_html is what the preview API gave.
    await alice.get_by_role("button", name="Post", exact=True).click()
    await expect(alice.get_by_role("heading", name="Preview me")).to_be_visible()
    assert await alice.locator(".post-full .post-body").inner_html() == previewed
    post_id = alice.url.rstrip("/").split("/")[-1]
    saved = await api_call(alice, "GET", f"/api/v1/posts/{post_id}")
    server = await api_call(alice, "POST", "/api/v1/markdown/preview", {"text": MARKDOWN})
    assert saved["body_html"] == server["html"] and "&lt;script&gt;" in server["html"]
    assert alice.errors == [] and alice.external_requests == []


async def test_jump_from_search_to_an_early_message_loads_its_context(aiohttp_server, tmp_path, browser):
    base, node = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    url = await create_community(alice, "Archive")
    channel_id = url.rstrip("/").split("/")[-1]
    # 200 messages; the 60th is the one searched for, far behind the latest page (151-200), so its
    # context (10-109) joins neither the start nor the present.
    user_id = await alice.evaluate("import('/web/js/store.js').then(m => m.state.me.id)")
    await alice.goto(f"{base}/search")  # (not rendering each of them live)
    chat = node.services.require(
        CONTENT
    ).chat  # what POST /api/v1/channels/{id}/messages calls, without 200 round trips
    for i in range(1, 201):
        text = "the early bird catches the worm" if i == 60 else f"filler {i} end"
        await chat.send(user_id, channel_id, MessageIn(content=text))
    await node.bus.consumers["search"].caught_up()
    await alice.get_by_role("searchbox").fill("early bird")
    await alice.get_by_role("searchbox").press("Enter")
    await alice.locator(".search-hit a.hit-title").first.click()
    target = message(alice, "the early bird catches the worm")
    await expect(target).to_be_visible()
    await expect(target).to_have_class(re.compile("jump-target"))
    await expect(target).to_be_in_viewport()
    # Its context is there on both sides, and history loads in both directions from it.
    await expect(message(alice, "filler 61 end")).to_be_visible()
    await expect(message(alice, "filler 10 end")).to_be_attached()
    await expect(message(alice, "filler 9 end")).to_have_count(0)
    await expect(message(alice, "filler 200 end")).to_have_count(0)
    scroller = alice.locator(".chat-view .scroller")
    for _ in range(8):  # scroll down until the window reaches the present
        await scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        if await message(alice, "filler 200 end").count():
            break
        await alice.wait_for_timeout(200)
    await expect(message(alice, "filler 200 end")).to_be_attached()
    await scroller.evaluate("el => { el.scrollTop = 0; }")
    await expect(message(alice, "filler 1 end")).to_be_attached()
    await expect(alice.locator(".history-status")).to_contain_text("This is the beginning")
    ids = await alice.locator("article.msg").evaluate_all("els => els.map(e => e.dataset.id)")
    assert len(ids) == len(set(ids)) == 200  # no gaps, no duplicates
    assert alice.errors == []


async def test_cold_start_offline_takes_a_message_and_sends_it_exactly_once(
    aiohttp_server, tmp_path, browser
):
    base, _ = await serve_node(aiohttp_server, tmp_path)
    first = await new_page(browser)
    await register(first, base, "alice")
    channel_url = await create_community(first, "Cave")
    channel_id = channel_url.rstrip("/").split("/")[-1]
    await send(first, "said while online")
    await expect(message(first, "said while online")).to_be_visible()
    # Loaded once online: the worker holds the shell, IndexedDB the last channel.
    await until(first, "!!navigator.serviceWorker.controller")
    await until(
        first,
        "caches.open('cryb-shell-v1').then(c => c.keys())"
        ".then(k => ['/js/views/offline.js', '/js/outbox.js']"
        ".every(p => k.some(r => r.url.endsWith(p))))",
    )
    await until(
        first,
        "import('/web/js/outbox.js').then(m => m.recall('last'))"
        ".then(s => !!s && s.messages.some(m => m.content === 'said while online'))",
    )
    context = first.context
    await first.close()

    # Cold start with no network: the last channel shows, and a message can be written to it.
    await context.set_offline(True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base + "/")
    await expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
    await expect(page.get_by_role("heading", name="#general")).to_be_visible()
    await expect(page.locator("article.msg", has_text="said while online")).to_be_visible()
    composer = page.locator("#composer-input")
    await composer.fill("written on a cold start")
    await composer.press("Enter")
    pending = page.locator("article.msg.pending", has_text="written on a cold start")
    await expect(pending).to_be_visible()
    # It is in IndexedDB, not in the page: a reload (still offline) shows it pending again.
    await page.reload()
    await expect(pending).to_be_visible()

    # Back online, the first send reaches the node but its reply is lost; the retry (same nonce)
    # gets the same message back, so it arrives exactly once.
    lost: list[str] = []

    async def lose_first_reply(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.request.post_data or "")
            await route.fetch()  # the node makes the message...
            await route.abort()  # ...and the page never hears so
        else:
            await route.continue_()

    await page.route(f"**/api/v1/channels/{channel_id}/messages", lose_first_reply)
    await context.set_offline(False)
    await expect(message(page, "written on a cold start")).to_be_visible(timeout=20000)
    await expect(page.locator("article.msg.pending")).to_have_count(0)
    assert lost and '"nonce"' in lost[0]
    listed = await api_call(page, "GET", f"/api/v1/channels/{channel_id}/messages")
    contents = [m["content"] for m in listed["messages"]]
    assert contents.count("written on a cold start") == 1 and contents.count("said while online") == 1
    left = await page.evaluate(
        "new Promise(r => { const q = indexedDB.open('cryb-offline'); q.onsuccess = () => {"
        " const t = q.result.transaction('outbox').objectStore('outbox').count();"
        " t.onsuccess = () => r(t.result); }; })"
    )
    assert left == 0 and errors == []


async def test_a_message_link_opened_in_a_fresh_tab_keeps_its_highlight_once_names_arrive(
    aiohttp_server, tmp_path, browser
):
    """Someone opens a link to a message (Copy link) in a new tab on a phone: the message is marked
    for the 6 s a jump lasts. It used to be marked for some 40 ms: the author's name arrived just
    after, the message was drawn again with it, and the new element had no mark."""
    from tests.e2e.webui import PHONE, accept_invite, invite_link

    base, node = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    url = await create_community(alice, "Archive")
    link = await invite_link(alice)
    channel_id = url.rstrip("/").split("/")[-1]
    user_id = await alice.evaluate("import('/web/js/store.js').then(m => m.state.me.id)")
    chat = node.services.require(CONTENT).chat
    ids = [(await chat.send(user_id, channel_id, MessageIn(content=f"note {i} end"))).id for i in range(120)]
    bob = await new_page(browser, PHONE)
    await register(bob, base, "bob")
    await accept_invite(bob, link)

    tab = await bob.context.new_page()
    await tab.goto(f"{url}#m-{ids[30]}")
    target = message(tab, "note 30 end")
    await expect(target).to_have_class(re.compile("jump-target"))
    await expect(target.locator(".author")).to_have_text("alice")  # the names are in
    await tab.wait_for_timeout(1500)
    await expect(target).to_have_class(re.compile("jump-target"))
    await expect(target).to_be_in_viewport()
    await tab.screenshot(path=str(tmp_path / "jump.png"))
    await expect(target).not_to_have_class(re.compile("jump-target"), timeout=8000)  # and then it goes
