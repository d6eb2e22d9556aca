"""Community and channel settings in the browser, with the members' open pages watching (issue 21,
self-service): the owner renames the community and sets its icon, denies "Send messages" to a role
in a channel and turns slow mode on, makes and revokes invites, uploads a custom emoji; members see
each change live, use the invite and the emoji, and leave. Desktop and 390 px phone width."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    accept_invite,
    api_call,
    create_community,
    invite_link,
    message,
    new_page,
    png,
    register,
    send,
    serve_node,
    shoot,
)

pytestmark = pytest.mark.browser


async def screens(page: Any, name: str) -> None:
    """The screen at desktop and 390 px; nothing may stick out sideways on the phone.
    UPDATE_SCREENSHOTS=1 also refreshes docs/screenshots/."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(200)
        if label == "phone":
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: the page is {width} px wide at 390 px"
        shot = await shoot(page, f"{name}-{label}")
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, SCREENSHOTS / f"{name}-{label}.png")
    await page.set_viewport_size(DESKTOP)


async def two_members(aiohttp_server: Any, tmp_path: Any, browser: Any, name: str = "Harbour") -> tuple:
    base, node = await serve_node(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    url = await create_community(alice, name)
    await accept_invite(bob, await invite_link(alice))
    community_id = url.rstrip("/").split("/")[-2]
    return base, node, alice, bob, community_id


async def open_settings(page: Any, tab: str | None = None) -> None:
    await (
        page.get_by_role("navigation", name="Channels")
        .get_by_role("button", name="Community settings")
        .click()
    )
    await expect(page.get_by_role("heading", name=re.compile("^Settings · "))).to_be_visible()
    if tab:
        await page.get_by_role("tab", name=tab).click()


async def test_owner_renames_and_sets_an_icon_and_the_members_open_page_follows(
    aiohttp_server, tmp_path, browser
):
    base, _, alice, bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    # A plain member is offered no settings, but may leave.
    bob_sidebar = bob.get_by_role("navigation", name="Channels")
    await expect(bob_sidebar.get_by_role("button", name="Leave community")).to_be_visible()
    await expect(bob_sidebar.get_by_role("button", name="Community settings")).to_have_count(0)
    await bob.goto(f"{base}/channels/{community_id}/@settings")
    await expect(bob.get_by_role("alert")).to_have_text(
        re.compile("You cannot change this community.s settings.")
    )
    await bob.goto(f"{base}/channels/{community_id}")
    await bob.locator("#composer-input").wait_for()

    await open_settings(alice)
    await alice.get_by_label("Icon").set_input_files(png("harbour.png", (20, 110, 200)))
    await expect(alice.get_by_text("Uploaded. Save to use it.")).to_be_visible()
    await alice.get_by_label("Community name").fill("Harbour Town")
    await alice.get_by_label("Description").fill("Boats, tides and the harbour café.")
    await alice.get_by_label("Rules").fill("Be kind\nNo spam")
    await alice.get_by_label(re.compile("^Private")).check()
    await alice.get_by_role("button", name="Save changes").click()
    await expect(alice.get_by_role("status").and_(alice.get_by_text("Saved.", exact=True))).to_be_visible()
    await screens(alice, "community-settings-overview")

    # Bob's open page, never reloaded: the rail and the sidebar carry the new name and the icon.
    rail = bob.get_by_role("navigation", name="Communities")
    await expect(rail.get_by_role("link", name="Harbour Town")).to_be_visible()
    icon = rail.get_by_role("link", name="Harbour Town").locator("img.community-icon")
    await expect(icon).to_be_visible()
    assert await icon.evaluate("img => img.complete && img.naturalWidth > 0")
    await expect(bob.locator(".sidebar .community-name")).to_have_text("Harbour Town")
    saved = await api_call(bob, "GET", f"/api/v1/communities/{community_id}")
    assert (saved["name"], saved["public"], saved["rules"]) == ("Harbour Town", False, ["Be kind", "No spam"])
    assert saved["description"] == "Boats, tides and the harbour café."
    # The icon is public now: fetched without any credentials.
    anonymous = await new_page(browser)
    resp = await anonymous.request.get(f"{base}/media/{saved['icon']}/original")
    assert resp.status == 200 and resp.headers["content-type"] == "image/png"

    # A bad name is refused on its field, and nothing changes.
    await alice.get_by_label("Community name").fill("")
    await alice.get_by_role("button", name="Save changes").click()
    await expect(alice.locator(".field-error").first).not_to_be_empty()
    assert (await api_call(bob, "GET", f"/api/v1/communities/{community_id}"))["name"] == "Harbour Town"
    assert alice.errors == bob.errors == []


async def test_channel_permissions_and_slow_mode_reach_the_members_composer_live(
    aiohttp_server, tmp_path, browser
):
    _, _, alice, bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    # Alice makes a "Guests" role and gives it to Bob (Roles, then the moderation member list).
    await open_settings(alice, "Roles")
    await alice.get_by_label("New role").fill("Guests")
    await alice.get_by_role("button", name="Create role").click()
    role = alice.locator("details.cs-role[open]")
    await expect(role.locator("summary")).to_have_text("Guests")
    await role.get_by_label("Colour").fill("#2e8b57")
    await role.get_by_label("Add reactions").check()
    await role.get_by_role("button", name="Save role").click()
    await expect(role.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    # Plain words, never bit names.
    assert "SEND_MESSAGES" not in await alice.locator(".cs-body").inner_text()
    await screens(alice, "community-settings-roles")
    roles = (await api_call(alice, "GET", f"/api/v1/communities/{community_id}/roles"))["roles"]
    guests = next(r for r in roles if r["name"] == "Guests")
    assert (guests["color"], guests["perms"]) == (0x2E8B57, 1 << 4)
    await alice.get_by_role("navigation", name="Channels").get_by_role("button", name="Moderation").click()
    await alice.get_by_role("tab", name="Members").click()
    await alice.locator("tr", has_text="bob").get_by_label("Guests role for bob").check()
    await expect(alice.get_by_role("status").filter(has_text="Roles updated.")).to_be_attached()
    await (
        alice.get_by_role("navigation", name="Channels")
        .get_by_role("link", name=re.compile("^general"))
        .click()
    )

    # Slow mode: Bob sees it above his composer as soon as Alice saves it.
    await alice.get_by_role("button", name="Channel settings").click()
    dialog = alice.get_by_role("dialog", name="Channel settings · #general")
    await dialog.get_by_label("Topic").fill("Everything harbour")
    await dialog.get_by_label("Slow mode").select_option(label="30 seconds")
    await dialog.get_by_role("button", name="Save changes").click()
    await expect(dialog.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    note = bob.locator(".slowmode-note")
    await expect(note).to_have_text("Slow mode is on: one message every 30 seconds.")
    await expect(alice.locator(".slowmode-note")).to_contain_text("(you are exempt)")
    # The node holds Bob to it.
    await send(bob, "first under slow mode")
    await expect(message(alice, "first under slow mode")).to_be_visible()
    status = await bob.evaluate(
        """async (cid) => { const api = await import('/web/js/api.js');
             try { await api.post(`/api/v1/channels/${cid}/messages`, {content: 'too soon'}); return 0; }
             catch (e) { return e.status; } }""",
        bob.url.rstrip("/").split("/")[-1],
    )
    assert status == 429

    # Permissions: deny "Send messages" to Guests in #general; Bob's composer turns off live.
    await dialog.get_by_role("tab", name="Permissions").click()
    await dialog.get_by_label("Role or member").select_option(label="@Guests")
    form = dialog.get_by_role("form", name="Permissions for @Guests")
    await form.get_by_role("radio", name="Deny: Send messages").check()
    assert "SEND_MESSAGES" not in await dialog.inner_text()
    await screens(alice, "channel-settings-permissions")
    await form.get_by_role("button", name="Save permissions").click()
    await expect(bob.locator("#composer-input")).to_be_disabled()
    await expect(
        bob.get_by_text("You do not have permission to send messages in this channel.")
    ).to_be_visible()
    channel = await api_call(alice, "GET", f"/api/v1/channels/{bob.url.rstrip('/').split('/')[-1]}")
    assert {"target_type": "role", "target_id": guests["id"], "allow": 0, "deny": 2} in channel["overwrites"]
    # Reopened, the switch shows what was saved; resetting gives Bob his composer back, live.
    form = dialog.get_by_role("form", name="Permissions for @Guests")
    await expect(form.get_by_role("radio", name="Deny: Send messages")).to_be_checked()
    await form.get_by_role("button", name="Reset to neutral").click()
    await expect(bob.locator("#composer-input")).to_be_enabled()
    await alice.keyboard.press("Escape")
    await screens(bob, "channel-slowmode-member")
    assert alice.errors == bob.errors == []


async def test_invites_are_made_used_by_a_newcomer_and_revoked(aiohttp_server, tmp_path, browser):
    base, _, alice, _bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    await open_settings(alice, "Invites")
    await alice.get_by_label("Expires after").select_option(label="1 day")
    await alice.get_by_label("Maximum uses").select_option(label="1 use")
    await alice.get_by_role("button", name="Create invite").click()
    link = await alice.locator("#cs-new-invite").input_value()
    code = link.rsplit("/", 1)[-1]
    row = alice.locator(f"li.cs-invite[data-code='{code}']")
    await expect(row).to_contain_text("0 of 1 uses")
    await expect(row).to_contain_text("expires")

    carol = await new_page(browser)
    await register(carol, base, "carol")
    await accept_invite(carol, link)
    await expect(
        carol.get_by_role("navigation", name="Communities").get_by_role("link", name="Harbour")
    ).to_be_visible()
    await alice.get_by_role("tab", name="Invites").click()
    await expect(alice.locator(f"li.cs-invite[data-code='{code}']")).to_contain_text("1 of 1 use")
    await screens(alice, "community-settings-invites")

    # Revoked, an invite stops working (and leaves the list).
    await alice.get_by_label("Maximum uses").select_option(label="No limit")
    await alice.get_by_role("button", name="Create invite").click()
    second = (await alice.locator("#cs-new-invite").input_value()).rsplit("/", 1)[-1]
    await alice.get_by_role("button", name=f"Revoke invite {second}").click()
    await alice.get_by_role("dialog", name="Revoke this invite?").get_by_role("button", name="Revoke").click()
    await expect(alice.locator(f"li.cs-invite[data-code='{second}']")).to_have_count(0)
    dave = await new_page(browser)
    await register(dave, base, "dave")
    await dave.goto(f"{base}/invite/{second}")
    # Its page says so and offers no Accept (tests/e2e/test_webui_live_state.py has the details).
    await expect(dave.get_by_role("alert")).to_contain_text("This invite was revoked.")
    await expect(dave.get_by_role("button", name="Accept invite")).to_have_count(0)
    invites = (await api_call(alice, "GET", f"/api/v1/communities/{community_id}/invites"))["invites"]
    assert {(i["code"], i["revoked"], i["uses"]) for i in invites} >= {(code, False, 1), (second, True, 0)}
    assert alice.errors == carol.errors == []


async def test_member_leaves_and_everyone_sees_it_the_owner_is_told_to_transfer(
    aiohttp_server, tmp_path, browser
):
    _, _, alice, bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    members = alice.get_by_role("complementary", name="Members")
    await expect(members.get_by_text("bob", exact=True).first).to_be_visible()

    # The owner cannot leave: she is told how to hand the community on instead.
    await alice.get_by_role("button", name="Leave community").click()
    owner_dialog = alice.get_by_role("dialog", name="You own Harbour")
    await expect(owner_dialog).to_contain_text("transfer ownership")
    await owner_dialog.get_by_role("button", name="OK").click()

    # Bob asks to leave; cancelling keeps him in.
    await bob.get_by_role("button", name="Leave community").click()
    confirm = bob.get_by_role("dialog", name="Leave Harbour?")
    await expect(confirm).to_contain_text("You can join again")
    await screens(bob, "community-leave-confirm")
    await confirm.get_by_role("button", name="Cancel").click()
    rail = bob.get_by_role("navigation", name="Communities")
    await expect(rail.get_by_role("link", name="Harbour")).to_be_visible()
    await bob.get_by_role("button", name="Leave community").click()
    await (
        bob.get_by_role("dialog", name="Leave Harbour?").get_by_role("button", name="Leave community").click()
    )
    await expect(rail.get_by_role("link", name="Harbour")).to_have_count(0)
    await bob.wait_for_url("**/channels/@me")
    # Alice's member list drops him without a reload; the node agrees.
    await expect(members.get_by_text("bob", exact=True)).to_have_count(0)
    got = await api_call(alice, "GET", f"/api/v1/communities/{community_id}/members")
    assert len(got["members"]) == 1
    assert alice.errors == bob.errors == []


async def test_custom_emoji_is_uploaded_used_as_a_reaction_and_deleted(aiohttp_server, tmp_path, browser):
    _, _, alice, bob, community_id = await two_members(aiohttp_server, tmp_path, browser)
    await send(bob, "the ferry is here")
    await expect(message(alice, "the ferry is here")).to_be_visible()
    await open_settings(alice, "Emoji")
    await alice.get_by_label("Image").set_input_files(png("ferry.png", (240, 160, 20)))
    await expect(alice.get_by_label("Name")).to_have_value("ferry")
    await alice.get_by_label("Name").fill("ferry boat")  # refused by the node: on the field
    await alice.get_by_role("button", name="Upload emoji").click()
    await expect(alice.locator(".field-error").first).not_to_be_empty()
    await alice.get_by_label("Image").set_input_files(png("ferry.png", (240, 160, 20)))
    await alice.get_by_label("Name").fill("ferry")
    await alice.get_by_role("button", name="Upload emoji").click()
    item = alice.locator("li.cs-emoji", has_text=":ferry:")
    await expect(item).to_be_visible()
    assert await item.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    await screens(alice, "community-settings-emoji")
    emoji = (await api_call(bob, "GET", f"/api/v1/communities/{community_id}/emojis"))["emojis"][0]

    # Bob reacts with it; both pages show its picture on the message, read out as :ferry:.
    msg_id = await message(bob, "the ferry is here").get_attribute("data-id")
    await api_call(bob, "PUT", f"/api/v1/messages/{msg_id}/reactions/ferry:{emoji['id']}")
    await (
        alice.get_by_role("navigation", name="Channels")
        .get_by_role("link", name=re.compile("^general"))
        .click()
    )
    for page in (alice, bob):
        chip = message(page, "the ferry is here").get_by_role(
            "button", name=re.compile(r"^:ferry: 1 reaction")
        )
        await expect(chip.locator("img.custom-emoji")).to_be_visible()

    # Deleted, it can no longer be used.
    await open_settings(alice, "Emoji")
    await alice.get_by_role("button", name="Delete :ferry:").click()
    await (
        alice.get_by_role("dialog", name="Delete :ferry:?").get_by_role("button", name="Delete emoji").click()
    )
    await expect(alice.get_by_text("No custom emoji yet.")).to_be_visible()
    status = await bob.evaluate(
        """async (path) => { const api = await import('/web/js/api.js');
             try { await api.put(path); return 0; } catch (e) { return e.status; } }""",
        f"/api/v1/messages/{msg_id}/reactions/ferry:{emoji['id']}",
    )
    assert status == 400
    assert alice.errors == bob.errors == []


async def test_settings_are_usable_on_a_phone(aiohttp_server, tmp_path, browser):
    base, _ = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    url = await create_community(alice, "Pocket")
    community_id = url.rstrip("/").split("/")[-2]
    await alice.set_viewport_size(PHONE)
    await alice.goto(f"{base}/channels/{community_id}/@settings")
    for tab in ("Overview", "Invites", "Emoji", "Roles"):
        await alice.get_by_role("tab", name=tab).click()
        assert await alice.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], tab
        button = alice.locator(".cs-body button[type=submit]:visible").last
        await button.scroll_into_view_if_needed()
        await expect(button).to_be_in_viewport()
    await alice.get_by_role("tab", name="Overview").click()
    await alice.get_by_label("Community name").fill("Pocket Harbour")
    await alice.get_by_role("button", name="Save changes").click()
    await expect(alice.get_by_role("status").and_(alice.get_by_text("Saved.", exact=True))).to_be_visible()
    await alice.goto(f"{base}/channels/{community_id}")
    await alice.locator("#composer-input").wait_for()
    await alice.get_by_role("button", name="Channel settings").click()
    dialog = alice.get_by_role("dialog", name=re.compile("^Channel settings"))
    box = await dialog.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    await dialog.get_by_role("tab", name="Permissions").click()
    radio = dialog.get_by_role("radio", name="Deny: Send messages")
    await radio.scroll_into_view_if_needed()
    await expect(radio.locator("xpath=..")).to_be_in_viewport()
    await shoot(alice, "channel-settings-permissions-phone-390")
    assert alice.errors == []
