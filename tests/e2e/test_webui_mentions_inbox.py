"""The "mentions of me" view in the browser (issue 26): from the notifications page a member opens
Mentions of me, which lists what mentions them (newest first, from any community they read) and
opens the message; a deep link to /mentions works after a reload. Desktop and 390 px phone width."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_admin_media import serve_node
from tests.e2e.test_webui_onboarding import screens
from tests.e2e.webui import accept_invite, create_community, invite_link, message, new_page, register, send

pytestmark = pytest.mark.browser


async def bakers(aiohttp_server, tmp_path, browser):
    """Alice's community "Bakers" with Bob in it: (base URL, node, alice's page, bob's, its channel URL)."""
    base, node = await serve_node(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    url = await create_community(alice, "Bakers")
    await register(bob, base, "bob")
    await accept_invite(bob, await invite_link(alice))
    return base, node, alice, bob, url


async def test_mentions_of_me_lists_what_mentions_me_and_opens_it(aiohttp_server, tmp_path, browser):
    base, node, alice, bob, url = await bakers(aiohttp_server, tmp_path, browser)
    await bob.goto(url)
    composer = bob.locator("#composer-input")
    await composer.press_sequentially("@ali")
    await bob.get_by_role("option", name="alice @alice").click()
    await composer.press_sequentially("the oven is free now")
    await composer.press("Enter")
    await send(bob, "nobody is named here")
    await expect(message(bob, "nobody is named here")).to_be_visible()
    await node.bus.consumers["search"].caught_up()

    await alice.goto(f"{base}/notifications")
    await alice.get_by_role("link", name="Mentions of me").click()
    await alice.wait_for_url("**/mentions")
    mentions = alice.get_by_role("list", name="Mentions of you")
    await expect(mentions.get_by_role("listitem")).to_have_count(1)
    item = mentions.get_by_role("listitem").first
    await expect(item).to_contain_text("bob mentioned you in #general")
    await expect(item).to_contain_text("@alice the oven is free now")
    await screens(alice, "mentions-inbox")
    await alice.reload()
    await expect(mentions.get_by_role("listitem")).to_have_count(1)
    await item.get_by_role("link", name="Open").click()
    await expect(message(alice, "the oven is free now")).to_be_visible()
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)


async def test_a_mention_typed_before_the_member_list_arrives_is_suggested_when_it_does(
    aiohttp_server, tmp_path, browser
):
    """A member who types "@ali" the moment the channel opens (the member list still on its way, as on
    a slow link) gets the suggestion when the list arrives, without typing another key."""
    _, _, _, bob, url = await bakers(aiohttp_server, tmp_path, browser)
    held = []

    async def hold(route):
        held.append(route)

    await bob.route("**/api/v1/communities/*/members*", hold)
    await bob.goto(url)
    composer = bob.locator("#composer-input")
    await composer.press_sequentially("@ali")
    for _ in range(200):  # the list's request is on its way (and held)
        if held:
            break
        await bob.wait_for_timeout(25)
    assert held
    option = bob.get_by_role("option", name="alice @alice")
    await expect(option).to_have_count(0)  # nothing to suggest yet
    await bob.unroute("**/api/v1/communities/*/members*")
    for route in held:
        await route.continue_()
    await option.click()
    await expect(composer).to_have_value("@alice ")
