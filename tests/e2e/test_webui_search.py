"""The search view as a member uses it (issue 22): operators combined with NOT and parentheses, a
snippet that shows a mention as @name (not the <@id> token), and the sort selector (newest, oldest,
relevance) that re-runs the search and is kept in the address."""

from __future__ import annotations

import pytest
from cryb_plugins.content.schemas import MessageIn
from cryb_plugins.content.service import CONTENT
from playwright.async_api import expect

from tests.e2e.webui import create_community, new_page, register, screens, serve_node, until

ME = "import('/web/js/store.js').then(m => m.state.me && m.state.me.id)"

pytestmark = pytest.mark.browser


async def test_search_view_operators_mentions_as_names_and_sort(aiohttp_server, tmp_path, browser):
    base, node = await serve_node(aiohttp_server, tmp_path)
    bob = await new_page(browser)
    await register(bob, base, "bob")
    await until(bob, ME)
    bob_id = await bob.evaluate(ME)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    url = await create_community(alice, "Allotment")
    channel_id = url.rstrip("/").split("/")[-1]
    alice_id = await alice.evaluate(ME)
    chat = node.services.require(CONTENT).chat  # what POST /api/v1/channels/{id}/messages calls
    for text in (
        f"seedlings for <@{bob_id}> are on the bench",
        "seedlings sprouting in tray two, see https://example.test/tray",
        "the seedlings need water every morning",
    ):
        await chat.send(alice_id, channel_id, MessageIn(content=text))
    await node.bus.consumers["search"].caught_up()

    await alice.goto(f"{base}/search")
    box = alice.get_by_role("searchbox")
    await box.fill("seedlings")
    await box.press("Enter")
    hits = alice.locator(".search-hit")
    await expect(hits).to_have_count(3)
    # The mention reads as a name, the matched word is marked.
    mention_hit = hits.filter(has_text="are on the bench")
    await expect(mention_hit.locator(".hit-snippet")).to_contain_text("seedlings for @bob are on the bench")
    await expect(alice.locator(".hit-snippet", has_text="<@")).to_have_count(0)
    await expect(mention_hit.locator("mark")).to_have_text("seedlings")

    # Sort: oldest first puts the first message on top, newest first the last; the URL keeps it.
    sort = alice.get_by_label("Sort results")
    await sort.select_option(label="Oldest first")
    await expect(alice).to_have_url(f"{base}/search?q=seedlings&sort=old")
    await expect(hits.first).to_contain_text("are on the bench")
    await sort.select_option(label="Newest first")
    await expect(hits.first).to_contain_text("need water every morning")
    await expect(alice).to_have_url(f"{base}/search?q=seedlings&sort=new")

    # Operators compose: NOT an operator, an operator inside parentheses.
    await box.fill("seedlings NOT (mentions:bob OR has:link)")
    await box.press("Enter")
    await expect(hits).to_have_count(1)
    await expect(hits.first).to_contain_text("need water every morning")
    await box.fill("seedlings mentions:bob")
    await box.press("Enter")
    await expect(hits).to_have_count(1)
    await expect(alice.locator(".search-view p[role=status]")).to_have_text("1 result")

    # The syntax help lists the operators people use.
    await alice.locator(".search-help summary").click()
    for op in ("mentions:bob", "has:image", "pinned:true", "during:2024-05", "a OR b  NOT c  (x OR y)"):
        await expect(alice.locator(".search-help code", has_text=op)).to_be_visible()
    await box.fill("seedlings")
    await box.press("Enter")
    await expect(hits).to_have_count(3)
    await screens(alice, "search-syntax")
    assert alice.errors == [] and alice.external_requests == []
