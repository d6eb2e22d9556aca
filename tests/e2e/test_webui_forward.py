"""Forwarding in the browser (issue 26): a member forwards a message from one community's channel
into another community's channel from the message's menu, with a comment; the copy quotes the
original and says where it came from. Desktop and 390 px phone width."""

from __future__ import annotations

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

pytestmark = pytest.mark.browser


async def test_forward_a_message_into_another_community(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    bakers = await create_community(alice, "Bakers")
    await accept_invite(bob, await invite_link(alice))
    await create_community(alice, "Cooks")
    await expect(alice.get_by_role("heading", name="Cooks")).to_be_visible()
    await alice.wait_for_url("**/channels/*/*")
    cooks = alice.url
    assert cooks != bakers
    await alice.goto(bakers)
    await send(bob, "the rye is ready at noon")
    original = message(alice, "the rye is ready at noon")
    await expect(original).to_be_visible()

    await original.click(button="right")
    await alice.get_by_role("menu").get_by_role("menuitem", name="Forward…").click()
    dialog = alice.get_by_role("dialog", name="Forward message")
    await expect(dialog.get_by_text("the rye is ready at noon")).to_be_visible()
    cooks_general = cooks.rstrip("/").split("/")[-1]
    await dialog.get_by_label("Forward to").select_option(cooks_general)
    await dialog.get_by_label("Comment").fill("for our menu")
    await screens(alice, "forward-dialog")
    await dialog.get_by_role("button", name="Forward").click()
    await expect(alice.locator(".cryb-toast")).to_contain_text("Forwarded to #general.")

    await alice.goto(cooks)
    copy = message(alice, "for our menu")
    await expect(copy).to_contain_text("↪ Forwarded from @bob in #general:")
    await screens(alice, "forward-copy")
    await expect(copy).to_contain_text("> the rye is ready at noon")
    await expect(alice.get_by_role("heading", name="Cooks")).to_be_visible()
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)
