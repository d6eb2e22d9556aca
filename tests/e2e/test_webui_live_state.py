"""Live state that stays right on another member's open page (issue 21): the open channel's header,
custom emoji, invites' states, reports and the sidebar follow live events, at desktop and 390 px."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_community_settings import open_settings, two_members
from tests.e2e.test_webui_threads import community_id, community_of_three
from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    accept_invite,
    api_call,
    create_community,
    invite_link,
    message,
    new_page,
    png,
    register,
    send,
    serve,
    serve_node,
    shoot,
    until,
)
from tests.support.clock import SteppedClock

pytestmark = pytest.mark.browser


def channel_id(page) -> str:
    return page.url.rstrip("/").split("/")[-1]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_open_channels_header_follows_a_rename_and_topic_and_the_gear_follows_permissions(
    aiohttp_server, tmp_path, browser, viewport
):
    _, _, alice, bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    if viewport == "phone":
        await bob.set_viewport_size(PHONE)
    header = bob.locator(".chat-view .chat-header")
    await expect(header.locator(".channel-title")).to_have_text("#general")
    await expect(header.get_by_role("button", name="Channel settings")).to_have_count(0)

    # Alice renames the channel and gives it a topic in its settings dialog.
    await alice.get_by_role("button", name="Channel settings").click()
    dialog = alice.get_by_role("dialog", name="Channel settings · #general")
    await dialog.get_by_label("Channel name").fill("harbour-talk")
    await dialog.get_by_label("Topic").fill("Ferries and tides")
    await dialog.get_by_role("button", name="Save changes").click()
    await expect(dialog.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    # Bob's open page follows without a reload: title, topic, the message list's name.
    await expect(header.locator(".channel-title")).to_have_text("#harbour-talk")
    await expect(header.locator(".channel-topic")).to_have_text("Ferries and tides")
    await expect(bob.get_by_role("log", name="Messages in #harbour-talk")).to_be_attached()
    # So does Alice's own header behind the dialog.
    await expect(alice.locator(".chat-view .chat-header .channel-title")).to_have_text("#harbour-talk")

    # The topic cleared: it goes away.
    await api_call(alice, "PATCH", f"/api/v1/channels/{channel_id(bob)}", {"topic": ""})
    await expect(header.locator(".channel-topic")).to_have_count(0)

    # Bob is given a role that manages channels: the gear appears; the role taken away, it goes.
    role = await api_call(
        alice, "POST", f"/api/v1/communities/{community_id}/roles", {"name": "Keepers", "perms": 1 << 7}
    )
    me = await api_call(bob, "GET", "/api/v1/users/@me")
    member_role = f"/api/v1/communities/{community_id}/members/{me['id']}/roles/{role['id']}"
    await api_call(alice, "PUT", member_role)
    gear = header.get_by_role("button", name="Channel settings")
    await expect(gear).to_be_visible()
    await gear.click()
    await expect(bob.get_by_role("dialog", name="Channel settings · #harbour-talk")).to_be_visible()
    await bob.keyboard.press("Escape")
    await api_call(alice, "DELETE", member_role)
    await expect(gear).to_have_count(0)
    assert alice.errors == bob.errors == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_revoked_or_used_up_invites_page_says_so_and_offers_no_accept(
    aiohttp_server, tmp_path, browser, viewport
):
    base, _, alice, _bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    invites = f"/api/v1/communities/{community_id}/invites"
    once = (await api_call(alice, "POST", invites, {"max_uses": 1}))["code"]
    revoked = (await api_call(alice, "POST", invites, {}))["code"]
    carol = await new_page(browser, PHONE if viewport == "phone" else DESKTOP)
    await register(carol, base, "carol")
    # Open, the revoked invite still offers Accept; revoked meanwhile, a reload shows why not.
    await carol.goto(f"{base}/invite/{revoked}")
    await expect(carol.get_by_role("button", name="Accept invite")).to_be_visible()
    await api_call(alice, "DELETE", f"/api/v1/invites/{revoked}")
    await carol.reload()
    page = carol.locator("section.invite-accept")
    await expect(page.get_by_role("alert")).to_have_text(
        "This invite was revoked. Ask a member for a new invite link."
    )
    await expect(page.get_by_role("heading", name="Harbour")).to_be_visible()
    await expect(carol.get_by_role("button", name="Accept invite")).to_have_count(0)
    await shoot(carol, f"invite-revoked-{viewport}")

    # A one-use invite once used: the next person is told it is used up.
    await accept_invite(carol, f"{base}/invite/{once}")
    dave = await new_page(browser, PHONE if viewport == "phone" else DESKTOP)
    await register(dave, base, "dave")
    await dave.goto(f"{base}/invite/{once}")
    await expect(dave.get_by_role("alert")).to_contain_text("used as many times as it allows")
    await expect(dave.get_by_role("button", name="Accept invite")).to_have_count(0)
    assert alice.errors == carol.errors == dave.errors == []


async def test_an_expired_invites_page_says_so_and_the_node_refuses_it_too(aiohttp_server, tmp_path, browser):
    """An invite past its max age: its page says it has expired and offers no Accept, and the node
    refuses it as well. The node's clock starts two minutes behind while the invite is made and
    then catches up, instead of the test waiting a minute (the browser keeps its real clock)."""
    base, node, alice, _bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    clock = SteppedClock()
    clock.offset_s = -120.0
    node.clock = clock
    invite = await api_call(alice, "POST", f"/api/v1/communities/{community_id}/invites", {"max_age_s": 60})
    clock.advance(120)
    carol = await new_page(browser, PHONE)
    await register(carol, base, "carol")
    await carol.goto(f"{base}/invite/{invite['code']}")
    page = carol.locator("section.invite-accept")
    await expect(page.get_by_role("alert")).to_contain_text("This invite has expired.")
    await expect(page.get_by_role("heading", name="Harbour")).to_be_visible()
    await expect(carol.get_by_role("button", name="Accept invite")).to_have_count(0)
    await shoot(carol, "invite-expired-phone")
    status = await carol.evaluate(
        """async (code) => {
          const api = await import('/web/js/api.js');
          const r = await fetch(`/api/v1/invites/${code}`, {
            method: 'POST', headers: { Authorization: `Bearer ${api.token()}` } });
          return [r.status, (await r.json()).code];
        }""",
        invite["code"],
    )
    assert status == [410, "invite_expired"]
    assert alice.errors == carol.errors == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_reporting_the_same_message_again_says_you_already_reported_it(
    aiohttp_server, tmp_path, browser, viewport
):
    size = PHONE if viewport == "phone" else DESKTOP
    _, channel_url, alice, bob, carol = await community_of_three(
        aiohttp_server, tmp_path, browser, "Hikers", bob_options={"viewport": size}
    )
    await send(carol, "free gift cards, click here")
    spam = message(bob, "free gift cards")
    for attempt in (1, 2):
        await spam.hover()
        await spam.get_by_role("button", name="Report").click()
        dialog = bob.get_by_role("dialog", name="Report message by carol")
        await dialog.get_by_label("Spam or a scam").check()
        await dialog.get_by_role("button", name="Send report").click()
        status = dialog.get_by_role("status")
        if attempt == 1:
            await expect(status).to_contain_text("Report sent to the moderators.")
        else:
            await expect(status).to_contain_text("You already reported this.")
            await expect(dialog.get_by_role("alert")).to_have_count(0)
            await shoot(bob, f"report-again-{viewport}")
        await dialog.get_by_role("button", name="Done").click()
        await expect(dialog).to_be_hidden()
    # One report in the queue, not two.
    reports = await api_call(alice, "GET", f"/api/v1/communities/{community_id(channel_url)}/reports")
    assert len(reports["reports"]) == 1
    assert alice.errors == bob.errors == carol.errors == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_deleted_or_removed_thread_reply_lowers_the_roots_count_on_open_pages(
    aiohttp_server, tmp_path, browser, viewport
):
    size = PHONE if viewport == "phone" else DESKTOP
    _, channel_url, alice, bob, carol = await community_of_three(
        aiohttp_server, tmp_path, browser, "Hikers", bob_options={"viewport": size}
    )
    cid = channel_url.rstrip("/").split("/")[-1]
    await send(alice, "Trail map for Saturday")
    root = message(alice, "Trail map")
    await expect(root).to_be_visible()
    root_id = await root.get_attribute("data-id")
    msgs = f"/api/v1/channels/{cid}/messages"
    replies = [
        (await api_call(carol, "POST", msgs, {"content": text, "thread_id": root_id}))["id"]
        for text in ("Which trailhead?", "I'll bring snacks", "Count me in")
    ]
    # Bob arrives after the replies: his page knows the count from history, not the replies.
    await bob.goto(channel_url)
    summary = message(bob, "Trail map").locator(".thread-summary")
    await expect(summary).to_have_text("3 replies")
    await expect(message(alice, "Trail map").locator(".thread-summary")).to_have_text("3 replies")
    # Carol deletes her own reply: both open pages count 2, without a reload.
    await api_call(carol, "DELETE", f"{msgs}/{replies[0]}")
    await expect(summary).to_have_text("2 replies")
    await expect(message(alice, "Trail map").locator(".thread-summary")).to_have_text("2 replies")
    # Alice, moderating, removes another: 1 reply; the last removed, the line goes away.
    await api_call(alice, "DELETE", f"{msgs}/{replies[1]}?reason=off+topic")
    await expect(summary).to_have_text("1 reply")
    await shoot(bob, f"thread-count-after-removal-{viewport}")
    await api_call(carol, "DELETE", f"{msgs}/{replies[2]}")
    await expect(summary).to_have_count(0)
    await bob.reload()
    await expect(message(bob, "Trail map")).to_be_visible()
    await expect(message(bob, "Trail map").locator(".thread-summary")).to_have_count(0)
    assert alice.errors == bob.errors == carol.errors == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_custom_emoji_made_renamed_and_deleted_reach_the_other_members_picker_and_messages_live(
    aiohttp_server, tmp_path, browser, viewport
):
    # Media URLs name the port served on, so the emoji images really load in the screenshot.
    base, _ = await serve_node(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser, PHONE if viewport == "phone" else DESKTOP)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    url = await create_community(alice, "Harbour")
    await accept_invite(bob, await invite_link(alice))
    community_id = url.rstrip("/").split("/")[-2]
    # Bob opens his picker first: the community has no custom emoji yet (his page remembers that).
    await bob.get_by_role("button", name="Emoji", exact=True).click()
    picker = bob.get_by_role("dialog", name="Emoji")
    await expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_visible()
    await expect(picker.locator("section[data-group='Custom']")).to_have_count(0)
    await bob.keyboard.press("Escape")

    # Alice uploads :ferry: in community settings; Bob's picker offers it without a reload.
    await open_settings(alice, "Emoji")
    await alice.get_by_label("Image").set_input_files(png("ferry.png", (240, 160, 20)))
    await alice.get_by_label("Name").fill("ferry")
    await alice.get_by_role("button", name="Upload emoji").click()
    await expect(alice.locator("li.cs-emoji", has_text=":ferry:")).to_be_visible()
    await bob.get_by_role("button", name="Emoji", exact=True).click()
    await expect(picker.get_by_role("gridcell", name=":ferry: (custom)")).to_be_visible()
    await picker.get_by_role("gridcell", name=":ferry: (custom)").click()
    await bob.locator("#composer-input").press("End")
    await bob.locator("#composer-input").type("ahoy")
    await bob.locator("#composer-input").press("Enter")
    await expect(message(bob, "ahoy").locator("img.custom-emoji")).to_have_attribute("alt", ":ferry:")

    # Alice renames it to :ferry_boat: in settings: both pages' messages read it by its new name.
    await alice.get_by_role("button", name="Rename :ferry:").click()
    dialog = alice.get_by_role("dialog", name="Rename :ferry:")
    await dialog.get_by_label("New name").fill("ferry boat")  # refused on the field
    await dialog.get_by_role("button", name="Rename").click()
    await expect(dialog.locator(".field-error").first).not_to_be_empty()
    await dialog.get_by_label("New name").fill("ferry_boat")
    await dialog.get_by_role("button", name="Rename").click()
    await expect(alice.locator("li.cs-emoji", has_text=":ferry_boat:")).to_be_visible()
    emoji = bob.locator("article.msg", has_text="ahoy").locator("img.custom-emoji")
    await expect(emoji).to_have_attribute("alt", ":ferry_boat:")
    await bob.get_by_role("button", name="Emoji", exact=True).click()
    await expect(picker.get_by_role("gridcell", name=":ferry_boat: (custom)")).to_be_visible()
    await until(bob, "[...document.querySelectorAll('img.custom-emoji')].every(i => i.naturalWidth > 0)")
    await shoot(bob, f"emoji-renamed-{viewport}")
    await bob.keyboard.press("Escape")
    got = (await api_call(bob, "GET", f"/api/v1/communities/{community_id}/emojis"))["emojis"]
    assert [e["name"] for e in got] == ["ferry_boat"]

    # Deleted: Bob's message falls back to its text and his picker no longer offers it.
    await alice.get_by_role("button", name="Delete :ferry_boat:").click()
    await (
        alice.get_by_role("dialog", name="Delete :ferry_boat:?")
        .get_by_role("button", name="Delete emoji")
        .click()
    )
    await expect(emoji).to_have_count(0)
    await expect(message(bob, "ahoy")).to_contain_text(":ferry:")
    await bob.get_by_role("button", name="Emoji", exact=True).click()
    await expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_visible()
    await expect(picker.locator("section[data-group='Custom']")).to_have_count(0)
    assert alice.errors == bob.errors == []


async def press_while(page, target, during) -> None:
    """Mouse down on ``target``, run ``during`` (live events that re-render around it), mouse up:
    a person's click that spans a re-render."""
    await target.hover()  # waits for the element to stand still (the phone's drawer slides in)
    box = await target.bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await during()
    await page.mouse.up()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_click_on_the_sidebar_lands_while_live_events_re_render_it(
    aiohttp_server, tmp_path, browser, viewport
):
    _, _, alice, bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    random = await api_call(alice, "POST", f"/api/v1/communities/{community_id}/channels", {"name": "random"})
    me = await api_call(alice, "GET", "/api/v1/users/@me")
    sidebar = alice.get_by_role("navigation", name="Channels")
    link = sidebar.get_by_role("link", name=re.compile("^random"))
    await expect(link).to_be_visible()
    if viewport == "phone":
        await alice.set_viewport_size(PHONE)
        await alice.get_by_role("button", name="Open channels and communities").click()
    marks = []

    async def bob_writes(text: str, label: str) -> None:
        await api_call(bob, "POST", f"/api/v1/channels/{random['id']}/messages", {"content": text})
        # The sidebar was drawn again under the pointer (its unread state changed) ...
        await expect(link).to_have_attribute("aria-label", re.compile(label))
        marks.append(await alice.evaluate("document.querySelector('nav .channel-list') !== null"))

    # The Invite button, pressed while a message makes #random unread.
    await press_while(alice, sidebar.get_by_role("button", name="Invite people"),
                      lambda: bob_writes("anyone here?", "unread"))  # fmt: skip
    dialog = alice.get_by_role("dialog", name=re.compile("Invite"))
    await expect(dialog).to_be_visible()
    await alice.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    # The #random link, pressed while a mention changes its own label: it still opens the channel.
    await press_while(alice, link, lambda: bob_writes(f"<@{me['id']}> look", "1 mentions"))
    await alice.wait_for_url(f"**/channels/{community_id}/{random['id']}")
    await expect(message(alice, "look")).to_be_visible()
    assert marks == [True, True]
    # The communities rail too: Direct messages, pressed while a message in #general (not open)
    # makes the community unread.
    general = channel_id(bob)
    if viewport == "phone":
        await alice.get_by_role("button", name="Open channels and communities").click()
    rail = alice.get_by_role("navigation", name="Communities")

    async def unread_community() -> None:
        await api_call(bob, "POST", f"/api/v1/channels/{general}/messages", {"content": "again"})
        await expect(rail.get_by_role("link", name="Harbour, unread messages")).to_be_visible()

    await press_while(alice, rail.get_by_role("link", name="Direct messages"), unread_community)
    await alice.wait_for_url("**/channels/@me")
    assert alice.errors == bob.errors == []


async def test_an_open_emoji_settings_tab_follows_another_windows_upload_rename_and_delete(
    aiohttp_server, tmp_path, browser
):
    """The admin has community settings open in two windows (two devices): what one does to the
    community's emoji shows in the other's open Emoji tab, without a reload."""
    base, _ = await serve_node(aiohttp_server, tmp_path)
    here = await new_page(browser)
    await register(here, base, "alice")
    await create_community(here, "Harbour")
    there = await new_page(browser, storage_state=await here.context.storage_state())
    await there.goto(here.url)
    for page in (here, there):
        await open_settings(page, "Emoji")
        await expect(page.get_by_text("No custom emoji yet.")).to_be_visible()

    await there.get_by_label("Image").set_input_files(png("ferry.png", (240, 160, 20)))
    await there.get_by_label("Name").fill("ferry")
    await there.get_by_role("button", name="Upload emoji").click()
    await expect(here.locator("li.cs-emoji", has_text=":ferry:")).to_be_visible()
    await expect(here.get_by_role("heading", name="Emoji (1)")).to_be_visible()
    # A half-typed upload in this window survives the other window's changes.
    await here.get_by_role("textbox", name="Name").fill("anchor")

    await there.get_by_role("button", name="Rename :ferry:").click()
    dialog = there.get_by_role("dialog", name="Rename :ferry:")
    await dialog.get_by_label("New name").fill("ferry_boat")
    await dialog.get_by_role("button", name="Rename").click()
    await expect(here.locator("li.cs-emoji", has_text=":ferry_boat:")).to_be_visible()
    await expect(here.get_by_role("button", name="Rename :ferry_boat:")).to_be_visible()
    await expect(here.get_by_role("textbox", name="Name")).to_have_value("anchor")
    await shoot(here, "emoji-settings-live")

    await there.get_by_role("button", name="Delete :ferry_boat:").click()
    await (
        there.get_by_role("dialog", name="Delete :ferry_boat:?")
        .get_by_role("button", name="Delete emoji")
        .click()
    )
    await expect(here.get_by_text("No custom emoji yet.")).to_be_visible()
    await expect(here.get_by_role("heading", name="Emoji (0)")).to_be_visible()
    assert here.errors == there.errors == []


async def test_a_message_sent_between_the_history_page_and_the_socket_is_not_lost(
    aiohttp_server, tmp_path, browser
):
    """Bob opens a channel: his history page is made (empty), then Alice writes, then his socket
    connects and is READY while the page is still on its way. The message is neither in the page
    nor replayed on the socket; the view must fetch it once both have come."""
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    url = await create_community(alice, "Bakers")
    await register(bob, base, "bob")
    await accept_invite(bob, await invite_link(alice))
    await bob.goto(f"{base}/channels/@me")
    await expect(bob.get_by_role("link", name="Bakers")).to_be_visible()

    pages: list = []
    socket_go = asyncio.Event()

    async def history(route):
        if "after=" in route.request.url or pages:
            await route.continue_()
            return
        pages.append((route, await route.fetch()))  # made now, delivered later

    async def gateway(ws):
        await socket_go.wait()
        ws.connect_to_server()

    await bob.route("**/api/v1/channels/*/messages?*", history)
    await bob.route_web_socket("**/gateway", gateway)
    await bob.goto(url)
    for _ in range(400):
        if pages:
            break
        await bob.wait_for_timeout(25)
    assert pages, "the history page was not asked for"
    await send(alice, "written in the gap")
    await expect(message(alice, "written in the gap")).to_be_visible()
    socket_go.set()
    await until(bob, "document.querySelector('[data-connection]')?.dataset.connection === 'ready'")
    route, answer = pages[0]
    await route.fulfill(response=answer)
    await expect(message(bob, "written in the gap")).to_be_visible()
