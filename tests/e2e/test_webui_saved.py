"""Saved items in the browser (issue 26): a member saves a message from its menu and a post from its
page, finds both on the Saved page (rail), opens the message from there, and removes an item;
another member's Saved page stays empty. Desktop and 390 px phone width."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_onboarding import screens
from tests.e2e.webui import (
    accept_invite,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    send,
    serve,
)
from tests.users_fixtures import PASSWORD

pytestmark = pytest.mark.browser


async def forum_post(base: str, community_id: str, title: str) -> tuple[str, str]:
    """Alice (over HTTP, as a script would) makes a forum channel and a post in it."""
    async with aiohttp.ClientSession(base) as http:
        async with http.post("/api/v1/auth/login", json={"login": "alice", "password": PASSWORD}) as resp:
            auth = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
        body = {"name": "ideas", "kind": "forum"}
        async with http.post(f"/api/v1/communities/{community_id}/channels", json=body, headers=auth) as resp:
            channel = (await resp.json())["id"]
        async with http.post(
            f"/api/v1/channels/{channel}/posts", json={"title": title}, headers=auth
        ) as resp:
            return channel, (await resp.json())["id"]


async def test_save_a_message_and_a_post_then_find_them_under_saved(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    channel_url = await create_community(alice, "Library")
    community_id = channel_url.rstrip("/").split("/")[-2]
    await accept_invite(bob, await invite_link(alice))
    await send(alice, "the reading list for May is pinned")
    await expect(message(bob, "the reading list for May")).to_be_visible()

    # Bob saves the message from its menu.
    await message(bob, "the reading list for May").click(button="right")
    await bob.get_by_role("menu").get_by_role("menuitem", name="Save message").click()
    await expect(bob.locator(".cryb-toast")).to_contain_text("Saved.")

    # A forum post, saved from its page (its button says so after a reload too).
    forum = await forum_post(base, community_id, "Book swap in June?")
    await bob.goto(f"{base}/channels/{community_id}/{forum[0]}/{forum[1]}")
    save = bob.get_by_role("button", name="Bookmark", exact=True)
    await save.click()
    await expect(bob.get_by_role("button", name="Bookmarked", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await bob.reload()
    await expect(bob.get_by_role("button", name="Bookmarked", exact=True)).to_be_visible()

    # The Saved page lists both, newest first; a click goes to the message.
    await bob.get_by_role("link", name="Saved").click()
    saved = bob.get_by_role("list", name="Saved items")
    await expect(saved.get_by_role("listitem")).to_have_count(2)
    await expect(saved.get_by_role("listitem").first).to_contain_text("Book swap in June?")
    await expect(saved.get_by_role("listitem").nth(1)).to_contain_text("the reading list for May")
    await screens(bob, "saved-page")
    await saved.get_by_role("link", name="the reading list for May").click()
    await bob.wait_for_url(f"{channel_url.rstrip('/')}#m-*")
    await expect(message(bob, "the reading list for May")).to_be_visible()

    # A deep link to /saved (a new page load) shows the list; removing one leaves the other;
    # alice's own list is empty.
    await bob.goto(f"{base}/saved")
    swap = saved.get_by_role("listitem").filter(has_text="Book swap in June?")
    await swap.get_by_role("button", name="from saved").click()
    await expect(saved.get_by_role("listitem")).to_have_count(1)
    await bob.reload()
    await expect(saved.get_by_role("listitem")).to_have_count(1)
    await alice.goto(f"{base}/saved")
    await expect(alice.get_by_text("Nothing saved yet.")).to_be_visible()
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)
    assert not alice.external_requests and not bob.external_requests
