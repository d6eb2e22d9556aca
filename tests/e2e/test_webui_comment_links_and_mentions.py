"""Links and names as people follow them: a comment found by search opens its post
scrolled to the comment and highlighted (by click, and by the link opened cold in another tab), and
mentions read as names, not <@id> tokens, in notification previews and search results. Each test
failed on main before its fix."""

from __future__ import annotations

import re

import pytest
from cryb_plugins.content.schemas import CommentIn, MessageIn, PostIn
from cryb_plugins.content.service import CONTENT
from playwright.async_api import expect

from cryb_node.http.api import Principal
from tests.e2e.webui import (
    PHONE,
    accept_invite,
    create_community,
    create_forum,
    invite_link,
    new_page,
    register,
    serve_node,
    shoot,
    until,
)

ME = "import('/web/js/store.js').then(m => m.state.me && m.state.me.id)"

pytestmark = pytest.mark.browser


async def in_view(page, locator) -> bool:
    """Whether the element is inside its scroller's visible part (not merely in the DOM)."""
    return await locator.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " const s = el.closest('.scroller').getBoundingClientRect();"
        " return r.top >= s.top - 1 && r.top < s.bottom && r.height > 0; }"
    )


async def test_comment_search_hit_scrolls_to_and_highlights_the_comment(aiohttp_server, tmp_path, browser):
    base, node = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Bakers")
    await create_forum(alice, "recipes")
    forum_url = alice.url
    channel_id = forum_url.rstrip("/").split("/")[-1]
    alice_id = await alice.evaluate(ME)
    content = node.services.require(CONTENT)
    post = await content.posts.create(alice_id, channel_id, PostIn(title="Sourdough troubleshooting"))
    me = Principal(alice_id)
    # A long discussion: the comment people search for came first, so it is listed last, far down.
    target = await content.comments.create(
        me, post.id, CommentIn(body="the crumb was gummy because of underproofing")
    )
    for i in range(30):
        await content.comments.create(
            me, post.id, CommentIn(body=f"comment number {i}: keep the starter warm")
        )
    await node.bus.consumers["search"].caught_up()

    # Bob joins later and searches; the hit is a comment.
    bob = await new_page(browser)
    await register(bob, base, "bob")
    await accept_invite(bob, await invite_link(alice))
    await bob.goto(f"{base}/search?q=underproofing")
    hit = bob.locator(".search-hit", has_text="gummy")
    await expect(hit).to_have_count(1)
    await hit.get_by_role("link").click()
    await expect(bob).to_have_url(re.compile(rf"/{post.id}#c-{target.id}$"))
    comment = bob.locator(f'li.comment[data-id="{target.id}"]')
    await expect(comment).to_have_class(re.compile(r"\bjump-target\b"))
    await until(
        bob,
        f"(() => {{ const el = document.querySelector('li.comment[data-id=\"{target.id}\"]');"
        " const s = el.closest('.scroller').getBoundingClientRect(); const r = el.getBoundingClientRect();"
        " return r.top >= s.top - 1 && r.top < s.bottom; })()",
    )
    assert await in_view(bob, comment)
    last = bob.locator("li.comment").last  # it is at the bottom: the page scrolled to it
    assert await last.get_attribute("data-id") == target.id
    await shoot(bob, "comment-jump-desktop")

    # The same link opened cold (a new tab, a shared link) at phone width does the same.
    carol = await new_page(browser, PHONE)
    await register(carol, base, "carol")
    await accept_invite(carol, await invite_link(alice))
    await carol.goto(f"{base}{forum_url.split(base, 1)[1]}/{post.id}#c-{target.id}")
    comment = carol.locator(f'li.comment[data-id="{target.id}"]')
    await expect(comment).to_have_class(re.compile(r"\bjump-target\b"))
    assert await in_view(carol, comment)
    await shoot(carol, "comment-jump-phone")
    # A link to a comment that does not exist says so instead of silently showing the post's top.
    await carol.goto(f"{base}{forum_url.split(base, 1)[1]}/{post.id}#c-01aaaaaaaaaaaaaaaaaaaaaaaa")
    await expect(carol.get_by_role("status").filter(has_text="That comment is not here")).to_be_visible()
    for page in (alice, bob, carol):
        assert page.errors == [] and page.external_requests == []


async def test_mentions_read_as_names_in_notification_previews_and_search(aiohttp_server, tmp_path, browser):
    base, node = await serve_node(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    url = await create_community(alice, "Bakers")
    link = await invite_link(alice)
    await register(bob, base, "bob")
    await accept_invite(bob, link)
    carol = await new_page(browser)
    await register(carol, base, "carol")
    await accept_invite(carol, link)
    await bob.goto(url)
    await expect(bob.locator(".member-list").get_by_role("button", name="carol")).to_be_visible()
    # Bob mentions both, picking the names from the composer's list as people do.
    composer = bob.locator("#composer-input")
    for name in ("alice", "carol"):
        await composer.press_sequentially(f"@{name[:3]}")
        await bob.get_by_role("option", name=f"{name} @{name}").click()
    await composer.press_sequentially("the oven is free now")
    await composer.press("Enter")
    await expect(bob.locator("article.msg:not(.pending)", has_text="the oven is free now")).to_be_visible()
    await node.bus.consumers["notifications"].caught_up()

    # Alice opens her notifications from a cold link (a new tab): nobody is known to the page yet.
    inbox = await alice.context.new_page()
    inbox.errors, inbox.external_requests = [], []
    inbox.on("pageerror", lambda exc: inbox.errors.append(str(exc)))
    await inbox.goto(f"{base}/notifications")
    preview = inbox.locator("li.notif .notif-preview").first
    await expect(preview).to_have_text(re.compile(r"^@alice @carol\s*the oven is free now$"))
    await expect(inbox.locator(".notif-preview", has_text="<@")).to_have_count(0)
    await expect(preview.locator(".mention.me")).to_have_text("@alice")
    await shoot(inbox, "notification-preview-names-desktop")
    await inbox.set_viewport_size(PHONE)
    await expect(preview).to_contain_text("@carol")
    await shoot(inbox, "notification-preview-names-phone")

    # Carol's inbox says the same with her own name marked.
    await carol.goto(f"{base}/notifications")
    await expect(carol.locator("li.notif .notif-preview").first).to_have_text(
        re.compile(r"^@alice @carol\s*the oven is free now$")
    )
    await expect(carol.locator(".notif-preview .mention.me")).to_have_text("@carol")

    # A comment that mentions someone reads the same in search results.
    await create_forum(alice, "recipes")
    channel_id = alice.url.rstrip("/").split("/")[-1]
    alice_id, bob_id = await alice.evaluate(ME), await bob.evaluate(ME)
    content = node.services.require(CONTENT)
    post = await content.posts.create(alice_id, channel_id, PostIn(title="Rye ratios"))
    await content.comments.create(Principal(alice_id), post.id, CommentIn(body=f"ask <@{bob_id}> about rye"))
    await content.chat.send(
        alice_id, url.rstrip("/").split("/")[-1], MessageIn(content=f"rye for <@{bob_id}>")
    )
    await node.bus.consumers["search"].caught_up()
    await alice.goto(f"{base}/search?q=rye")
    hits = alice.locator(".search-hit")
    await expect(hits).to_have_count(3)
    await expect(hits.filter(has_text="about rye").locator(".hit-snippet")).to_have_text("ask @bob about rye")
    await expect(alice.locator(".search-results", has_text="<@")).to_have_count(0)
    for page in (alice, bob, carol, inbox):
        assert page.errors == [] and page.external_requests == []
