"""Forum tag sets in the browser (issue 26): the owner gives a forum channel its tags; a member picks
one in the post composer, a tag outside the set is refused with the node's reason, and the feed's
chips filter by tag (kept in the address, so a reload keeps it). Desktop and 390 px phone width."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_onboarding import screens
from tests.e2e.webui import accept_invite, create_community, invite_link, new_page, register, serve
from tests.users_fixtures import PASSWORD

pytestmark = pytest.mark.browser


async def forum_channel(base: str, community_id: str) -> str:
    async with aiohttp.ClientSession(base) as http:
        async with http.post("/api/v1/auth/login", json={"login": "alice", "password": PASSWORD}) as resp:
            auth = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
        body = {"name": "workshop", "kind": "forum"}
        async with http.post(f"/api/v1/communities/{community_id}/channels", json=body, headers=auth) as resp:
            return (await resp.json())["id"]


async def write_post(page, title: str, tags: str = "", chip: str | None = None) -> None:
    await page.get_by_role("link", name="New post").click()
    await page.locator("#post-title-in").fill(title)
    if tags:
        await page.locator("#post-tags-in").fill(tags)
    if chip:
        await page.get_by_role("group", name="Channel tag choices").get_by_role("button", name=chip).click()
    await page.get_by_role("button", name="Post", exact=True).click()


async def test_tag_sets_guide_posts_and_filter_the_feed(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    channel_url = await create_community(alice, "Makers")
    community_id = channel_url.rstrip("/").split("/")[-2]
    await accept_invite(bob, await invite_link(alice))
    forum = f"{base}/channels/{community_id}/{await forum_channel(base, community_id)}"

    # The owner sets the channel's tags.
    await alice.goto(forum)
    await alice.get_by_role("button", name="Edit tags").click()
    await alice.get_by_label("Tags (comma separated; empty: any tags)").fill("Help, showcase")
    await alice.get_by_role("button", name="Save tags").click()
    chips = alice.get_by_role("group", name="Filter by tag")
    await expect(chips.get_by_role("button")).to_have_text(["All", "#help", "#showcase", "Edit tags"])

    # Bob posts with a tag picked from the set; a made-up tag is refused with the node's reason.
    await bob.goto(forum)
    await expect(bob.get_by_role("button", name="Edit tags")).to_have_count(0)
    await write_post(bob, "My desk lamp", chip="#showcase")
    await expect(bob.get_by_role("heading", name="My desk lamp")).to_be_visible()
    await bob.goto(forum)
    await write_post(bob, "Knitting", tags="textiles")
    await expect(bob.get_by_role("alert")).to_contain_text("this channel's tags are help, showcase")
    await screens(bob, "forum-tags-refused")
    await bob.locator("#post-tags-in").fill("")
    await bob.locator("#post-title-in").fill("Stuck on the wiring")
    await bob.get_by_role("group", name="Channel tag choices").get_by_role("button", name="#help").click()
    await bob.get_by_role("button", name="Post", exact=True).click()
    await expect(bob.get_by_role("heading", name="Stuck on the wiring")).to_be_visible()

    # The feed's chips filter; the filter is in the address and survives a reload.
    await bob.goto(forum)
    posts = bob.locator(".post-card .post-title")
    await expect(posts).to_have_count(2)
    await bob.get_by_role("group", name="Filter by tag").get_by_role("button", name="#help").click()
    await expect(posts).to_have_text(["Stuck on the wiring"])
    assert "tag=help" in bob.url
    await bob.reload()
    await expect(posts).to_have_text(["Stuck on the wiring"])
    await expect(bob.get_by_role("button", name="#help")).to_have_attribute("aria-pressed", "true")
    await screens(bob, "forum-tags-filtered")
    await bob.get_by_role("button", name="All").click()
    await expect(posts).to_have_count(2)
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)
