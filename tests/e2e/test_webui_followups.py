"""Web UI, part 2 follow-ups: the post composer previews the server's own rendering (plain text
offline); a jump to a message far back in history loads its context; an outbox that survives a
cold start offline (IndexedDB) and sends each message exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_part2 import create_forum, serve_node
from tests.e2e.webui import create_community, new_page, register

pytestmark = pytest.mark.browser

MARKDOWN = (
    "Read **this** <script>alert(1)</script> at [the docs](https://example.test/a?b=1&c=2)\n\n- one\n- two"
)


async def api_call(page: Any, method: str, path: str, body: Any = None) -> Any:
    return await page.evaluate(
        "([method, path, body]) => import('/web/js/api.js')"
        ".then(m => m.api(method, path, body ?? undefined))",
        [method, path, body],
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
