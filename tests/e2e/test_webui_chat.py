"""The web UI as two members use it: register, create and join a community, chat live, react, edit,
delete, typing and mentions; each change shows on the other screen without a reload."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    DESKTOP,
    PASSWORD,
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    send,
    serve,
    shoot,
)

pytestmark = pytest.mark.browser


async def test_two_members_chat_react_edit_and_delete_live(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Cat Lovers")
    await accept_invite(bob, await invite_link(alice))
    await expect(bob.get_by_role("heading", name="Cat Lovers")).to_be_visible()

    # Alice writes; Bob sees it arrive, Markdown rendered.
    await send(alice, "Hello **world** from alice")
    hello_b = message(bob, "from alice")
    await expect(hello_b).to_be_visible()
    await expect(hello_b.locator("strong")).to_have_text("world")

    # Bob starts typing: Alice sees the indicator. Then he mentions her, picked from the autocomplete.
    composer = bob.locator("#composer-input")
    await composer.fill("hi @ali")
    await expect(alice.locator(".typing-line")).to_have_text("bob is typing…")
    option = bob.get_by_role("option", name="alice @alice")
    await expect(option).to_be_visible()
    await composer.press("Enter")  # picks the highlighted name
    await expect(composer).to_have_value("hi @alice ")
    await composer.press("Enter")  # sends
    mention = message(alice, "hi @alice")
    await expect(mention).to_have_class("msg mentioned")
    await expect(mention.locator(".mention")).to_have_text("@alice")
    await expect(alice.locator(".typing-line")).to_have_text("")

    # Alice (the owner, who may manage messages) pins Bob's message; Bob sees it marked and listed.
    await mention.hover()
    await mention.get_by_role("button", name="Pin").click()
    await expect(message(bob, "hi @alice").locator(".pin-mark")).to_be_visible()
    # Item 2: the pinner's own view shows the mark and offers Unpin (it showed neither, and a
    # second click said "unpinned" while the message stayed pinned).
    await expect(mention.locator(".pin-mark")).to_be_visible()
    await mention.hover()
    await expect(mention.get_by_role("button", name="Unpin")).to_be_visible()
    await expect(mention.get_by_role("button", name="Pin", exact=True)).to_have_count(0)
    await mention.get_by_role("button", name="Unpin").click()
    await expect(message(bob, "hi @alice").locator(".pin-mark")).to_have_count(0)
    await expect(mention.locator(".pin-mark")).to_have_count(0)
    await mention.hover()
    await mention.get_by_role("button", name="Pin", exact=True).click()
    await expect(message(bob, "hi @alice").locator(".pin-mark")).to_be_visible()
    await expect(mention.locator(".pin-mark")).to_be_visible()
    await bob.get_by_role("button", name="Pinned messages").click()
    pins = bob.get_by_role("dialog", name="Pinned messages in #general")
    await expect(pins.locator(".pin-item")).to_contain_text("hi @alice")
    await bob.keyboard.press("Escape")
    # Bob may not pin (no MANAGE_MESSAGES), so he is not offered the button.
    await message(bob, "from alice").hover()
    await expect(message(bob, "from alice").get_by_role("button", name="Pin")).to_have_count(0)

    # Bob reacts to Alice's message with the picker; both see the count, and whose it is.
    await hello_b.hover()
    await hello_b.get_by_role("button", name="Add reaction").click()
    await bob.get_by_role("dialog", name="Add reaction").get_by_role("gridcell", name="👍").click()
    hello_a = message(alice, "from alice")
    await expect(hello_a.get_by_role("button", name="👍 1 reaction")).to_be_visible()
    await expect(hello_b.get_by_role("button", name="👍 1 reaction, including yours")).to_have_attribute(
        "aria-pressed", "true"
    )
    # Alice adds hers by clicking the existing reaction.
    await hello_a.get_by_role("button", name="👍 1 reaction").click()
    await expect(hello_b.get_by_role("button", name="👍 2 reactions, including yours")).to_be_visible()

    # Alice edits her message; Bob sees the new text marked edited.
    await hello_a.hover()
    await hello_a.get_by_role("button", name="Edit").click()
    edit = alice.get_by_role("textbox", name="Edit message")
    await edit.fill("Hello everyone from alice")
    await edit.press("Enter")
    await expect(message(bob, "Hello everyone from alice").locator(".edited")).to_have_text("(edited)")

    # Alice deletes it (confirming); it disappears for Bob.
    hello_a = message(alice, "Hello everyone from alice")
    await hello_a.hover()
    await hello_a.get_by_role("button", name="Delete").click()
    await alice.get_by_role("dialog", name="Delete message").get_by_role("button", name="Delete").click()
    await expect(message(bob, "Hello everyone from alice")).to_have_count(0)
    await expect(message(alice, "Hello everyone from alice")).to_have_count(0)
    await expect(message(bob, "hi @alice")).to_be_visible()

    for page in (alice, bob):
        assert page.external_requests == []
        assert page.errors == []


async def test_unread_badge_and_direct_messages(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Readers")
    await accept_invite(bob, await invite_link(alice))

    # Alice makes a second channel; Bob stays in #general and gets an unread mark on the new one.
    await alice.get_by_role("button", name="Create channel").click()
    dialog = alice.get_by_role("dialog", name="Create channel")
    await dialog.get_by_label("Channel name").fill("books")
    await dialog.get_by_role("button", name="Create channel").click()
    await expect(alice.get_by_role("heading", name="books")).to_be_visible()
    await bob.reload()
    await expect(bob.get_by_role("link", name="books (text channel)")).to_be_visible()
    await send(alice, "a new book arrived")
    await expect(bob.get_by_role("link", name="books (text channel), unread")).to_be_visible()
    await bob.get_by_role("link", name="books (text channel), unread").click()
    await expect(message(bob, "a new book arrived")).to_be_visible()
    await expect(bob.get_by_role("link", name="books (text channel)", exact=True)).to_be_visible()

    # Bob opens Alice's card from the member list and messages her directly.
    await bob.get_by_role("button", name="alice").first.click()
    await bob.get_by_role("button", name="Message alice").click()
    await bob.wait_for_url("**/channels/@me/*")
    await send(bob, "psst, a private word")
    await alice.get_by_role("link", name="Direct messages").click()
    await expect(alice.get_by_role("link", name="bob")).to_be_visible()
    await alice.get_by_role("link", name="bob").click()
    await expect(message(alice, "psst, a private word")).to_be_visible()
    await send(alice, "private reply")
    await expect(message(bob, "private reply")).to_be_visible()
    assert alice.errors == [] and bob.errors == []


async def test_notification_badge_follows_the_nodes_pushes(aiohttp_server, tmp_path, browser):
    """The rail's unread badge moves when the node pushes NOTIFICATION_CREATE / NOTIFICATION_READ,
    within a couple of seconds, not at the next 20-second poll; marking read on one device clears
    the badge on another."""
    base = await serve(aiohttp_server, tmp_path)
    alice, bob, bob_phone = await new_page(browser), await new_page(browser), await new_page(browser, PHONE)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await bob_phone.goto(f"{base}/login")
    await bob_phone.get_by_label("Username or email").fill("bob")
    await bob_phone.get_by_label("Password").fill(PASSWORD)
    await bob_phone.get_by_role("button", name="Sign in").click()
    await bob_phone.wait_for_url("**/channels/@me")
    bob_id = await bob.evaluate("import('/web/js/store.js').then(m => m.state.me.id)")
    fetches: list[str] = []
    bob.on("request", lambda r: fetches.append(r.url) if "/notifications/unread" in r.url else None)
    badge = bob.locator("[data-testid=notif-badge]")
    await expect(badge).to_have_count(0)

    dm = await alice.evaluate(
        "async (uid) => (await import('/web/js/api.js')).post('/api/v1/dms', {recipients: [uid]})", bob_id
    )
    for n, text in enumerate(["first word", "second word", "third word"], start=1):
        post = (
            "async ([ch, t]) => (await import('/web/js/api.js'))"
            ".post(`/api/v1/channels/${ch}/messages`, {content: t})"
        )
        await alice.evaluate(post, [dm["id"], text])
        await expect(badge).to_have_text(str(n), timeout=3000)

    # Read on the phone: the desktop's badge follows the NOTIFICATION_READ push.
    await bob_phone.evaluate("import('/web/js/api.js').then(m => m.post('/api/v1/notifications/read', {}))")
    await expect(badge).to_have_count(0, timeout=3000)
    assert len(fetches) <= 6, fetches  # one count per push (and at start), never a timer
    assert alice.errors == [] and bob.errors == [] and bob_phone.errors == []


async def test_channel_and_community_changes_reach_open_pages_live(aiohttp_server, tmp_path, browser):
    """Issue 21, item 5: a channel hidden from a member leaves their sidebar and their open view says
    so (it stayed, and opened blank); a new channel and a renamed community appear without a
    reload; a member timed out sees the composer disabled at once."""
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    url = await create_community(alice, "Readers")
    community_id = url.rstrip("/").split("/")[-2]
    call = "async ([m, p, b]) => (await import('/web/js/api.js'))[m](p, b)"
    ops = await alice.evaluate(
        call, ["post", f"/api/v1/communities/{community_id}/channels", {"name": "ops"}]
    )
    await accept_invite(bob, await invite_link(alice))
    # Item 1: bob joined after alice came online, and sees her online (not offline until a reload).
    await expect(bob.get_by_role("button", name="alice, online")).to_be_visible()
    await bob.get_by_role("link", name="ops (text channel)").click()
    await expect(bob.get_by_role("heading", name="ops")).to_be_visible()
    await send(bob, "reading the ops channel")
    await expect(message(bob, "reading the ops channel")).to_be_visible()

    # Alice hides #ops from everyone: VIEW_CHANNEL (1) denied to @everyone (id: the community's).
    path = f"/api/v1/channels/{ops['id']}/overwrites/role/{community_id}"
    await alice.evaluate(call, ["put", path, {"deny": 1}])
    await expect(bob.get_by_role("link", name="ops (text channel)")).to_have_count(0)
    await expect(bob.get_by_role("alert")).to_contain_text("no longer have access")
    await expect(message(bob, "reading the ops channel")).to_have_count(0)
    await bob.get_by_role("link", name="Go to #general").click()
    await expect(bob.get_by_role("heading", name="general")).to_be_visible()

    # A new channel and a new name arrive live.
    await alice.evaluate(call, ["post", f"/api/v1/communities/{community_id}/channels", {"name": "news"}])
    await expect(bob.get_by_role("link", name="news (text channel)")).to_be_visible()
    await alice.evaluate(call, ["patch", f"/api/v1/communities/{community_id}", {"name": "Book Club"}])
    await expect(bob.get_by_role("heading", name="Book Club")).to_be_visible()

    # Timed out: the composer is disabled without a reload.
    bob_id = await bob.evaluate("import('/web/js/store.js').then(m => m.state.me.id)")
    timeout = f"/api/v1/communities/{community_id}/members/{bob_id}/timeout"
    await alice.evaluate(call, ["put", timeout, {"duration_s": 600}])
    await expect(bob.locator("#composer-input")).to_be_disabled()
    # Item 4: it says until when, with a countdown, also after a reload (it said only "no permission").
    notice = bob.locator(".composer-readonly")
    await expect(notice).to_contain_text("You are timed out until")
    await expect(notice).to_contain_text("left")
    await shoot(bob, "live-permissions")
    await bob.reload()
    await expect(bob.locator("#composer-input")).to_be_disabled()
    await expect(notice).to_contain_text("You are timed out until")
    assert alice.errors == [] and bob.errors == []


async def test_a_message_refused_for_a_timeout_is_not_sent_again_on_reload(aiohttp_server, tmp_path, browser):
    """Issue 21, item 4: written offline, refused when back online because a moderator timed the
    author out meanwhile: the message waits with Retry, and a reload does not send it again."""
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    url = await create_community(alice, "Readers")
    community_id = url.rstrip("/").split("/")[-2]
    await accept_invite(bob, await invite_link(alice))
    await bob.context.set_offline(True)
    await send(bob, "written on the train")
    await expect(bob.locator("article.msg.pending", has_text="written on the train")).to_be_visible()
    bob_id = await bob.evaluate("import('/web/js/store.js').then(m => m.state.me.id)")
    call = "async ([m, p, b]) => (await import('/web/js/api.js'))[m](p, b)"
    timeout = f"/api/v1/communities/{community_id}/members/{bob_id}/timeout"
    await alice.evaluate(call, ["put", timeout, {"duration_s": 600}])
    await bob.context.set_offline(False)
    await bob.evaluate("window.dispatchEvent(new Event('online'))")
    unsent = bob.get_by_role("toolbar", name="Unsent message actions")
    await expect(unsent).to_be_visible()
    await expect(bob.get_by_text("You are timed out in this community")).to_be_visible()

    posts: list[str] = []
    bob.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/messages" in r.url else None)
    await bob.reload()
    await expect(unsent).to_be_visible()
    await expect(bob.locator("article.msg.pending", has_text="written on the train")).to_be_visible()
    await bob.wait_for_timeout(500)  # time for a resend to start, if one were going to
    assert posts == []
    assert bob.errors == []


async def test_a_forum_post_opened_by_link_names_its_author_and_commenters(aiohttp_server, tmp_path, browser):
    """Issue 21, item 3: a post opened by a deep link or a reload showed "…" for every name, forever."""
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    url = await create_community(alice, "Readers")
    community_id = url.rstrip("/").split("/")[-2]
    call = "async ([m, p, b]) => (await import('/web/js/api.js'))[m](p, b)"
    forum = await alice.evaluate(
        call, ["post", f"/api/v1/communities/{community_id}/channels", {"name": "ideas", "kind": "forum"}]
    )
    post = await alice.evaluate(
        call, ["post", f"/api/v1/channels/{forum['id']}/posts", {"title": "Reading list"}]
    )
    await alice.evaluate(call, ["post", f"/api/v1/posts/{post['id']}/comments", {"body": "Dune, first"}])
    await accept_invite(bob, await invite_link(alice))

    link = f"{base}/channels/{community_id}/{forum['id']}/{post['id']}"
    for _ in range(2):  # the deep link, then a reload of it
        await bob.goto(link) if _ == 0 else await bob.reload()
        await expect(bob.get_by_role("heading", name="Reading list")).to_be_visible()
        await expect(bob.locator(".post-full .post-meta")).to_contain_text("by alice")
        await expect(bob.locator(".comment-head .author")).to_have_text("alice")
    assert "…" not in await bob.locator(".post-full").inner_text()
    assert bob.errors == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_run_of_messages_from_one_author_sits_line_under_line(
    aiohttp_server, tmp_path, browser, viewport
):
    """Messages that follow their author's previous one show as one line each, as in Discord: the
    hidden time in their gutter (shown on hover) used to wrap to two lines and make every such row
    half again as tall as its text, on a phone and on a desktop alike."""
    base = await serve(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Night Owls")
    if viewport == "phone":
        await alice.set_viewport_size(PHONE)
    for text in ("first line", "second line", "third line"):
        await send(alice, text)
    await expect(message(alice, "third line")).to_be_visible()
    second, third = message(alice, "second line"), message(alice, "third line")
    await expect(second).to_have_class("msg grouped mine")
    body = await second.locator(".msg-body").bounding_box()
    row = await second.bounding_box()
    assert body is not None and row is not None
    assert row["height"] <= body["height"] + 4.5, (row, body)  # its 2 px paddings, nothing more
    # ... and that line is the text's own: beside the gutter, as wide as the first message's text
    first = await message(alice, "first line").locator(".msg-body").bounding_box()
    assert first is not None
    assert body["height"] <= 24 and body["x"] == first["x"] and body["width"] == first["width"], (body, first)
    top2, top3 = (await second.bounding_box())["y"], (await third.bounding_box())["y"]
    assert top3 - top2 == pytest.approx(row["height"], abs=0.5)
    await shoot(alice, f"chat-grouped-{viewport}")
    await third.hover()
    if viewport == "phone":  # no room for it beside the text, and no hover on a touch screen
        await expect(third.locator(".gutter-time")).to_be_hidden()
        await alice.set_viewport_size(DESKTOP)
        await third.hover()
    await expect(third.locator(".gutter-time")).to_be_visible()  # the time shows on hover
    # ... within its gutter, even at its widest ("12:59 PM"), not running into the text
    fits = """e => {
        e.textContent = '12:59 PM';
        const r = document.createRange();
        r.selectNodeContents(e);
        const text = r.getBoundingClientRect(), box = e.getBoundingClientRect();
        return [text.left - box.left, box.right - text.right];
    }"""
    start_room, end_gap = await third.locator(".gutter-time").evaluate(fits)
    assert start_room >= 0 and end_gap >= 3, (start_room, end_gap)
