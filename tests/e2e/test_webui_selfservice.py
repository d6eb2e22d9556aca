"""Self-service in the web UI, as members use it in several browsers at once: editing and deleting your
own forum posts and comments (others see it), your new post starting with your upvote, profile cards
from chat and the member list, friend requests accepted on the Friends page, blocking (the blocked
person's messages collapse, Settings lists them), 2FA enrolment by QR code or typed secret, and the
"Sign in with …" buttons of the node's OAuth providers. Desktop and 390 px phone screenshots."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from typing import Any

import pytest
from playwright.async_api import expect

from cryb_node.app import build_app
from tests.conftest import free_port, make_config
from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    accept_invite,
    comment_on,
    create_community,
    create_forum,
    invite_link,
    message,
    new_page,
    register,
    send,
    serve,
    shoot,
)
from tests.users.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.users_fixtures import FAST_HASHING, PASSWORD

pytestmark = pytest.mark.browser
LOAD = 20_000  # ms for a page (re)load to draw, on a busy test machine


async def both_widths(page: Any, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(200)
        await shoot(page, f"{name}-{label}")
    await page.set_viewport_size(DESKTOP)


def totp(secret_b32: str, at: float) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), computed here from the secret the page shows."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[19] & 0xF
    return f"{(int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF) % 10**6:06d}"


async def test_own_posts_and_comments_edit_delete_and_start_upvoted(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Bakers")
    await create_forum(alice, "recipes")
    forum_url = alice.url
    await accept_invite(bob, await invite_link(alice))

    # Bob's new post starts with his own upvote: score 1, the arrow lit; no Report on his own post.
    await bob.goto(forum_url)
    await bob.get_by_role("link", name="New post").click()
    await bob.get_by_label("Title").fill("Rye or spelt?")
    await bob.get_by_label("Body (Markdown)").fill("Which flour do you prefer?")
    await bob.get_by_role("button", name="Post", exact=True).click()
    head = bob.locator("article.post-full")
    await expect(head.get_by_role("heading", name="Rye or spelt?")).to_be_visible()
    await expect(head.locator(".vote-score")).to_have_text("1")
    await expect(head.get_by_role("button", name="Upvote")).to_have_attribute("aria-pressed", "true")
    await expect(head.get_by_role("button", name="Report")).to_have_count(0)
    await expect(head.get_by_role("button", name="Edit")).to_be_visible()
    post_url = bob.url
    # The feed agrees: score 1, arrow lit.
    await bob.goto(f"{forum_url}?sort=new")
    card = bob.locator("li.post-card", has_text="Rye or spelt?")
    await expect(card.locator(".vote-score")).to_have_text("1", timeout=LOAD)
    await expect(card.get_by_role("button", name="Upvote")).to_have_attribute("aria-pressed", "true")

    # Bob edits his post inline: the new body and an "(edited)" mark.
    await bob.goto(post_url)
    await head.get_by_role("button", name="Edit").click(timeout=LOAD)
    await head.get_by_role("textbox", name="Edit").fill("Which flour do you prefer? **Rye** here.")
    await head.get_by_role("button", name="Save").click()
    await expect(head.locator(".post-body strong")).to_have_text("Rye")
    await expect(head.locator(".edited-mark")).to_have_text("(edited)")

    # Alice sees Report on Bob's post (not hers), comments, then edits her comment.
    await alice.goto(post_url)
    await expect(alice.locator("article.post-full .post-body strong")).to_have_text("Rye", timeout=LOAD)
    await expect(alice.locator("article.post-full").get_by_role("button", name="Report")).to_be_visible()
    await expect(alice.locator("article.post-full").get_by_role("button", name="Edit")).to_have_count(0)
    await comment_on(alice, "Spelt, always")
    mine = alice.locator("li.comment", has=alice.locator(".comment-body", has_text="Spelt, always"))
    await expect(mine.get_by_role("button", name="Report")).to_have_count(0)
    await mine.get_by_role("button", name="Edit").click()
    await mine.get_by_role("textbox", name="Edit").fill("Spelt, mostly")
    await mine.get_by_role("button", name="Save").click()
    await expect(alice.locator("li.comment .comment-body")).to_have_text("Spelt, mostly")
    edited = alice.locator("li.comment", has=alice.locator(".comment-body", has_text="Spelt, mostly"))
    await expect(edited.locator(".edited-mark")).to_have_text("(edited)")

    # Bob (reloading) sees the edit, and replies to it; he may Report Alice's comment, not his own.
    await bob.reload()
    theirs = bob.locator(
        "li.comment", has=bob.locator(":scope > .comment-body-wrap", has_text="Spelt, mostly")
    )
    await expect(theirs.locator(".comment-head .edited-mark")).to_have_text("(edited)", timeout=LOAD)
    await expect(
        theirs.locator(":scope > .comment-body-wrap").get_by_role("button", name="Report")
    ).to_be_visible()
    await comment_on(bob, "Why spelt?", under="Spelt, mostly")

    # Alice deletes her comment: "[deleted]" in its place, Bob's reply still under it.
    await alice.reload()
    mine = alice.locator(
        "li.comment", has=alice.locator(":scope > .comment-body-wrap", has_text="Spelt, mostly")
    )
    await mine.locator(":scope > .comment-body-wrap").get_by_role("button", name="Delete").click(timeout=LOAD)
    await alice.get_by_role("dialog", name="Delete comment?").get_by_role("button", name="Delete").click()
    top = alice.locator("ol.comment-tree > li.comment").first
    await expect(top.locator(":scope > .comment-body-wrap .comment-body")).to_have_text("[deleted]")
    await expect(top.locator(":scope > .comment-head .author")).to_have_text("[deleted]")
    await expect(top.locator("li.comment .comment-body")).to_have_text("Why spelt?")
    await both_widths(alice, "selfservice-forum-own")

    # Bob reloads: the same thread shape, the text and name gone, his reply kept.
    await bob.reload()
    top = bob.locator("ol.comment-tree > li.comment").first
    await expect(top.locator(":scope > .comment-body-wrap .comment-body")).to_have_text(
        "[deleted]", timeout=LOAD
    )
    await expect(top.locator(":scope > .comment-head .author")).to_have_text("[deleted]")
    await expect(top.locator("li.comment .comment-body")).to_have_text("Why spelt?")
    await expect(
        top.locator(":scope > .comment-body-wrap").get_by_role("button", name="Report")
    ).to_have_count(0)
    # Nothing to vote on or reply to in a deleted comment (the node refuses replies to it).
    wrap = top.locator(":scope > .comment-body-wrap")
    await expect(wrap.get_by_role("button", name="Reply", exact=True)).to_have_count(0)
    await expect(wrap.get_by_role("button", name="Upvote")).to_have_count(0)
    await both_widths(bob, "selfservice-forum-deleted-comment")

    # Bob deletes his post: back to the feed, which no longer lists it.
    await bob.goto(post_url)
    await bob.locator("article.post-full").get_by_role("button", name="Delete").click(timeout=LOAD)
    await bob.get_by_role("dialog", name="Delete post?").get_by_role("button", name="Delete").click()
    await bob.wait_for_url(forum_url)
    await expect(bob.get_by_text("No posts yet. Start the first one!")).to_be_visible(timeout=LOAD)
    for page in (alice, bob):
        assert page.errors == [] and page.external_requests == []


async def test_profile_card_friends_and_blocks(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob, carol = await new_page(browser), await new_page(browser), await new_page(browser)
    for page, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        await register(page, base, name)
    await create_community(alice, "Garden Club")
    link = await invite_link(alice)
    await accept_invite(bob, link)
    await accept_invite(carol, link)
    await send(bob, "hello from bob")
    await send(carol, "hello from carol")

    # Alice opens Bob's card from his name in the chat: names, join date, roles, the three actions.
    said = message(alice, "hello from bob")
    await said.locator(".author").click()
    card = alice.get_by_role("dialog", name="bob")
    await expect(card.locator(".profile-handle")).to_have_text("@bob", timeout=LOAD)
    await expect(card.locator(".profile-joined")).to_contain_text("Joined this community")
    await expect(card.get_by_role("heading", name="No roles")).to_be_visible()
    await expect(card.get_by_role("button", name="Message bob")).to_be_visible()
    await expect(card.get_by_role("button", name="Block")).to_be_visible()
    await card.get_by_role("button", name="Add friend").click()
    await expect(card.get_by_role("status")).to_have_text("Friend request sent to bob.")
    await expect(card.get_by_role("button", name="Cancel request")).to_be_visible()
    await both_widths(alice, "selfservice-profile-card")
    await alice.keyboard.press("Escape")

    # Bob finds the request on his Friends page and accepts it.
    await bob.get_by_role("link", name="Direct messages").click()
    # The request arrives live (a notification push): the Friends link counts it.
    await expect(bob.get_by_role("link", name="Friends, 1 request")).to_be_visible(timeout=LOAD)
    await bob.get_by_role("link", name="Friends, 1 request").click()
    await bob.wait_for_url("**/friends")
    incoming = bob.locator("section.friends-section[data-type=incoming] li.friend-row", has_text="alice")
    await expect(incoming).to_be_visible()
    await both_widths(bob, "selfservice-friends-request")
    await incoming.get_by_role("button", name="Accept").click()
    friends = bob.locator("section.friends-section[data-type=friend] li.friend-row .member-name")
    await expect(friends).to_have_text(["alice"])
    await expect(bob.locator("section.friends-section[data-type=incoming] li.friend-row")).to_have_count(0)
    # Alice's Friends page (opened by link, after a reload) lists Bob as a friend.
    await alice.goto(f"{base}/friends")
    friends = alice.locator("section.friends-section[data-type=friend] li.friend-row .member-name")
    await expect(friends).to_have_text(["bob"], timeout=LOAD)

    # Alice blocks Carol from her card (opened by the avatar): Carol's messages collapse.
    await alice.go_back()
    carols = message(alice, "hello from carol")
    await carols.locator(".avatar").click()
    card = alice.get_by_role("dialog", name="carol")
    await card.get_by_role("button", name="Block").click()
    await expect(card.get_by_role("status")).to_have_text("carol is blocked. Their messages are hidden.")
    await expect(card.get_by_role("button", name="Unblock")).to_be_visible()
    await expect(card.get_by_role("button", name="Message carol")).to_have_count(0)
    await alice.keyboard.press("Escape")
    collapsed = alice.locator("article.msg.blocked-msg")
    await expect(collapsed).to_have_count(1)
    await expect(collapsed.locator(".blocked-note")).to_contain_text("Message from a blocked user.")
    await expect(alice.get_by_text("hello from carol")).to_be_hidden()
    await expect(message(alice, "hello from bob")).to_be_visible()
    await both_widths(alice, "selfservice-blocked-message")
    # Shown on request; and still collapsed after a reload.
    await collapsed.get_by_role("button", name="Show").click()
    await expect(alice.get_by_text("hello from carol")).to_be_visible()
    await alice.reload()
    await expect(alice.locator("article.msg.blocked-msg .blocked-note")).to_have_count(1, timeout=LOAD)

    # Settings → Blocked users lists Carol; Unblock brings her messages back.
    await alice.get_by_role("button", name="User settings").click()
    await alice.get_by_role("tab", name="Blocked users").click()
    row = alice.locator(".blocked-users li.friend-row", has_text="carol")
    await expect(row).to_be_visible()
    await both_widths(alice, "selfservice-blocked-list")
    await row.get_by_role("button", name="Unblock").click()
    await expect(alice.locator(".blocked-users")).to_contain_text("You have not blocked anyone.")
    await alice.keyboard.press("Escape")
    await expect(alice.locator("article.msg.blocked-msg")).to_have_count(0)
    await expect(alice.get_by_text("hello from carol")).to_be_visible()

    # A deep link to a profile: /u/<username> opens the card.
    await carol.goto(f"{base}/u/bob")
    await expect(carol.get_by_role("dialog", name="bob").locator(".profile-handle")).to_have_text(
        "@bob", timeout=LOAD
    )
    for page in (alice, bob, carol):
        assert page.errors == [] and page.external_requests == []


async def test_two_factor_enrolment_by_qr_code_or_typed_secret(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    page = await new_page(browser)
    await register(page, base, "dora")
    await page.get_by_role("button", name="User settings").click()
    await page.get_by_role("tab", name="Two-factor").click()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Set up an authenticator app").click()
    qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
    await expect(qr).to_be_visible()
    # The QR code is the node's own drawing (a data: URL), never an outside service.
    assert (await qr.get_attribute("src")).startswith("data:image/svg+xml")
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 100")
    secret = await page.locator("code.secret").inner_text()
    await both_widths(page, "selfservice-2fa-qr")
    await page.get_by_label("Code from the app").fill(totp(secret, time.time()))
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    await expect(page.locator("ul.codes li")).to_have_count(10)
    assert page.errors == [] and page.external_requests == []


async def test_sign_in_buttons_follow_the_nodes_oauth_providers(aiohttp_server, tmp_path, browser):
    provider = Provider()
    idp = await aiohttp_server(provider.app(), host="127.0.0.1")
    provider.issuer = str(idp.make_url("")).rstrip("/")
    oauth = [{"name": "test", "preset": "oidc", "issuer": provider.issuer, "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET}]  # fmt: skip
    # The provider sends the browser back to node.base_url's callback: the node's real address.
    port = free_port()
    with_idp = f"http://127.0.0.1:{port}"
    cfg = make_config(
        tmp_path / "a", plugin={"users": {**FAST_HASHING, "oauth": oauth}}, rate_limits={"enabled": False},
        node={"base_url": with_idp},
    )  # fmt: skip
    await aiohttp_server(build_app(cfg), port=port)
    plain = await serve(aiohttp_server, tmp_path / "b")

    page = await new_page(browser)
    async with page.expect_response("**/api/v1/auth/oauth") as listing:
        await page.goto(f"{plain}/login")
    assert (await (await listing.value).json()) == {"providers": []}
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.locator(".oauth-buttons a")).to_have_count(0)

    page = await new_page(browser)
    await page.goto(f"{with_idp}/login")
    button = page.get_by_role("link", name="Sign in with Test")
    await expect(button).to_be_visible()
    await both_widths(page, "selfservice-oauth-sign-in")
    # The button goes through the provider (here it approves at once) and back, signed in.
    await button.click()
    await page.wait_for_url("**/channels/@me")
    await expect(page.locator(".user-panel .user-tag")).to_have_text("@oidc_person")
    assert page.errors == [] and page.external_requests == []
