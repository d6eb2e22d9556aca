"""Bots and slash commands in the browser (issue 26, acceptance 2): the owner makes a bot in
Settings → Bots (its token shown once) and adds it to her community; a bot process using only the
public HTTP and WebSocket API registers commands; bob types `/` in the composer and picks a command
(by mouse, then by keyboard); the bot's public answer shows for both with "bob used /echo" and a BOT
tag, its ephemeral answer only for bob (alice's page never gets it); a silent bot is reported as not
responding; API tokens are made and revoked in Settings. Desktop and 390 px phone width."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from cryb_node.app import build_app
from tests.conftest import make_config
from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    shoot,
)
from tests.integrations.bot_client import BotClient
from tests.users_fixtures import FAST_HASHING

pytestmark = pytest.mark.browser


async def screens(page: Any, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(200)
        if label == "phone":
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: the page is {width} px wide at 390 px"
        await shoot(page, f"{name}-{label}")
    await page.set_viewport_size(DESKTOP)


async def test_a_member_uses_a_bots_slash_commands_from_the_composer(aiohttp_server, tmp_path, browser):
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING, "integrations": {"interaction_deadline_s": 3.0}},
        rate_limits={"enabled": False},
        realtime={"heartbeat_interval_s": 2.0},
    )
    server = await aiohttp_server(build_app(cfg))
    base = f"http://127.0.0.1:{server.port}"
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    channel_url = await create_community(alice, "Workshop")
    await accept_invite(bob, await invite_link(alice))
    community_id = channel_url.rstrip("/").split("/")[-2]

    # Alice makes a bot in Settings and adds it to her community.
    await alice.get_by_role("button", name="User settings").click()
    await alice.get_by_role("tab", name="Bots").click()
    form = alice.get_by_role("form", name="New bot")
    await form.get_by_label("Bot username").fill("echobot")
    await form.get_by_role("button", name="Create bot").click()
    secret = alice.locator("#bot-new-secret")
    await expect(secret).not_to_have_value("")
    token = await secret.input_value()
    assert token.startswith("cryb_")
    row = alice.get_by_role("list", name="Your bots").get_by_role("listitem").filter(has_text="echobot")
    await row.get_by_label("Community to add echobot to").select_option(community_id)
    await row.get_by_role("button", name="Add", exact=True).click()
    await expect(row.get_by_role("status")).to_have_text("Added to Workshop.")
    await screens(alice, "bots-settings")
    await alice.keyboard.press("Escape")

    async with BotClient(base, token, intents=["INTERACTION_CREATE"]) as bot:
        text = [{"name": "text", "description": "What to say", "type": "string", "required": True}]
        await bot.register(community_id, "echo", "Say it back to everyone", text)
        await bot.register(community_id, "whisper", "Say it only to you", text)
        await bot.register(community_id, "sleepy", "Never answers")

        async def answer(i: dict) -> dict | None:
            if i["name"] == "echo":
                return {"content": f"echo: {i['options']['text']}"}
            if i["name"] == "whisper":
                return {"content": f"psst, {i['options']['text']}", "ephemeral": True}
            return None

        bot.on_interaction = answer

        # Bob types "/" and picks /echo with the mouse.
        await bob.goto(channel_url)
        composer = bob.locator("#composer-input")
        await composer.click()
        await composer.press_sequentially("/")
        listbox = bob.get_by_role("listbox", name="Commands")
        await expect(listbox.get_by_role("option")).to_have_count(3)
        await screens(bob, "bots-slash-list")
        await listbox.get_by_role("option", name="/echo").click()
        await expect(composer).to_have_value("/echo ")
        await expect(bob.locator(".slash-hint")).to_contain_text("text:<string>")
        await composer.press_sequentially("hello bots")
        await composer.press("Enter")
        for page in (bob, alice):
            if page is alice:
                await alice.goto(channel_url)
            answer_msg = message(page, "echo: hello bots")
            await expect(answer_msg).to_be_visible()
            await expect(answer_msg.locator(".used-command")).to_have_text("bob used /echo")
            await expect(answer_msg.locator(".bot-tag")).to_have_text("BOT")
        await expect(alice.locator(".member", has_text="echobot").locator(".bot-tag")).to_have_text("BOT")
        await screens(bob, "bots-public-answer")

        # Then /whisper with the keyboard only: the answer is bob's alone.
        await composer.press_sequentially("/wh")
        await expect(bob.get_by_role("listbox", name="Commands").get_by_role("option")).to_have_count(1)
        await composer.press("ArrowDown")
        await composer.press("Enter")
        await expect(composer).to_have_value("/whisper ")
        await composer.press_sequentially("the cake is in the fridge")
        await composer.press("Enter")
        note = bob.locator(".slash-note.ephemeral")
        await expect(note).to_contain_text("psst, the cake is in the fridge")
        await expect(note).to_contain_text("Only you can see this")
        await expect(bob.locator(".slash-note.pending")).to_have_count(0)  # "thinking…" went with the answer
        await screens(bob, "bots-ephemeral-answer")
        await expect(alice.get_by_text("the cake is in the fridge")).to_have_count(0)
        await alice.reload()
        await expect(message(alice, "echo: hello bots")).to_be_visible()
        await expect(alice.get_by_text("the cake is in the fridge")).to_have_count(0)
        await screens(alice, "bots-other-member")

        # A bot that stays silent: bob is told after the deadline.
        await composer.press_sequentially("/sleepy")
        await composer.press("Escape")
        await composer.press("Enter")
        await expect(bob.locator(".slash-note.failed")).to_contain_text(
            "echobot did not respond to /sleepy", timeout=10_000
        )
        await shoot(bob, "bots-no-response-desktop")

    # API tokens in Settings: made with scopes, shown once, revoked.
    await bob.get_by_role("button", name="User settings").click()
    await bob.get_by_role("tab", name="API tokens").click()
    tform = bob.get_by_role("form", name="New API token")
    await tform.get_by_label("Token name").fill("backup script")
    await tform.get_by_label("write").check()
    await tform.get_by_label("Expires").select_option(label="30 days")
    await tform.get_by_role("button", name="Create token").click()
    await expect(bob.locator("#token-new-secret")).not_to_have_value("")
    tokens = bob.get_by_role("list", name="Tokens")
    await expect(tokens).to_contain_text("backup script")
    await expect(tokens).to_contain_text("read, write")
    await screens(bob, "bots-tokens-settings")
    await tokens.get_by_role("button", name="Revoke token backup script").click()
    await expect(tokens).to_contain_text("No API tokens yet.")
    for page in (alice, bob):
        assert not page.errors, page.errors
        assert not page.external_requests
