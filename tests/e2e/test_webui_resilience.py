"""The web UI under stress: a network drop, hostile message text, history longer than one page, and
a member who uses only the keyboard."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    accept_invite,
    api_call,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    send,
    serve,
)
from tests.users_fixtures import PASSWORD, auth

pytestmark = pytest.mark.browser


async def test_page_reconnects_and_shows_what_was_sent_while_offline(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Ferry")
    await accept_invite(bob, await invite_link(alice))
    await send(alice, "before the tunnel")
    await expect(message(bob, "before the tunnel")).to_be_visible()

    await bob.context.set_offline(True)
    # The page says it is offline: "Connection lost" between attempts, "Reconnecting…" during one
    # (under load the first check can land in either).
    offline_status = bob.get_by_role("status").filter(has_text=re.compile("Connection lost|Reconnecting"))
    await expect(offline_status).to_be_visible(timeout=15_000)
    for i in range(3):
        await send(alice, f"while you were away {i}")
        await expect(message(alice, f"while you were away {i}")).to_be_visible()  # stored
    # Bob writes while offline: the message waits in his outbox, marked as not yet sent.
    await send(bob, "typed in the tunnel")
    await expect(bob.locator("article.msg.pending", has_text="typed in the tunnel")).to_be_visible()
    await expect(message(bob, "while you were away 0")).to_have_count(0)

    await bob.context.set_offline(False)
    for i in range(3):
        await expect(message(bob, f"while you were away {i}")).to_be_visible(timeout=20000)
    await expect(message(bob, "typed in the tunnel")).to_be_visible()
    await expect(message(alice, "typed in the tunnel")).to_be_visible()
    await expect(bob.locator("article.msg.pending")).to_have_count(0)
    # Nothing twice, and in order.
    texts = await bob.locator("article.msg .msg-body").all_inner_texts()
    assert [t for t in texts if "away" in t] == [f"while you were away {i}" for i in range(3)]
    assert sum("typed in the tunnel" in t for t in texts) == 1
    # Live again: a new message arrives without reloading.
    await send(alice, "back in daylight")
    await expect(message(bob, "back in daylight")).to_be_visible()
    assert bob.errors == []


async def test_page_catches_up_when_its_session_cannot_be_resumed(aiohttp_server, tmp_path, browser):
    # A zero resume window: after any drop the node answers INVALID_SESSION, so the page must fetch
    # what it missed over HTTP.
    base = await serve(aiohttp_server, tmp_path, realtime={"resume_window_s": 0})
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Lighthouse")
    await accept_invite(bob, await invite_link(alice))
    await bob.context.set_offline(True)
    await expect(bob.get_by_role("status").filter(has_text="Connection lost")).to_be_visible()
    await send(alice, "missed while the session expired")
    await expect(message(alice, "missed while the session expired")).to_be_visible()  # stored
    await bob.context.set_offline(False)
    await expect(message(bob, "missed while the session expired")).to_be_visible(timeout=20000)
    await send(alice, "and live after that")
    await expect(message(bob, "and live after that")).to_be_visible()


PAYLOADS = [
    '<img src=x onerror="window.pwned=1">',
    "<script>window.pwned=2</script>",
    '<a href="javascript:window.pwned=3">click me</a>',
    "[markdown link](javascript:window.pwned=4)",
    '<svg onload="window.pwned=5"></svg>',
    '<iframe src="javascript:parent.pwned=6"></iframe>',
    "**<b onmouseover=window.pwned=7>bold</b>**",
]


async def test_html_and_script_in_messages_render_as_text_and_run_nothing(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    mallory, victim = await new_page(browser), await new_page(browser)
    await register(mallory, base, "mallory")
    await register(victim, base, "victim")
    await create_community(mallory, '<img src=x onerror="window.pwned=8">')
    await accept_invite(victim, await invite_link(mallory))
    for payload in PAYLOADS:
        await send(mallory, payload)
    for payload in PAYLOADS:
        shown = message(victim, payload.replace("**", ""))
        await expect(shown).to_have_count(1)
    bodies = victim.locator(".message-list .msg-body")
    for tag in ("img", "script", "iframe", "svg", "b"):
        assert await bodies.locator(tag).count() == 0, tag
    hrefs = await victim.locator(".message-list a").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    assert not any(h and h.lower().startswith("javascript") for h in hrefs)
    for link in await victim.locator(".message-list a").all():
        await link.hover()
    await victim.locator(".message-list").hover()
    # The community name is text too.
    await expect(victim.get_by_role("heading", name='<img src=x onerror="window.pwned=8">')).to_be_visible()
    assert await victim.evaluate("window.pwned") is None
    assert await mallory.evaluate("window.pwned") is None
    # The refresh token is not readable by page scripts.
    assert "cryb_refresh" not in await victim.evaluate("document.cookie")
    assert victim.errors == [] and victim.external_requests == []


async def test_history_scrolls_back_to_the_first_message(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    page = await new_page(browser)
    await register(page, base, "archivist")
    await create_community(page, "Archive")
    channel_id = page.url.rsplit("/", 1)[1]
    token = await page.evaluate("(async () => (await import('/web/js/api.js')).token())()")
    async with aiohttp.ClientSession(base) as http:
        for i in range(101):
            resp = await http.post(
                f"/api/v1/channels/{channel_id}/messages",
                json={"content": f"entry {i:03d}"},
                headers=auth(token),
            )
            assert resp.status == 201, await resp.text()
    await page.reload()
    await expect(message(page, "entry 100")).to_be_visible()
    assert await message(page, "entry 000").count() == 0  # not loaded yet: one page at a time
    scroller = page.locator(".scroller")
    for _ in range(10):
        await scroller.evaluate("el => { el.scrollTop = 0; }")
        if await message(page, "entry 000").count():
            break
        await page.wait_for_timeout(300)
    await expect(message(page, "entry 000")).to_be_visible()
    await expect(page.get_by_text("This is the beginning of #general.")).to_be_visible()
    texts = await page.locator("article.msg .msg-body").all_inner_texts()
    assert texts == [f"entry {i:03d}" for i in range(101)]


async def test_sign_in_and_send_using_only_the_keyboard(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    async with aiohttp.ClientSession(base) as http:
        resp = await http.post(
            "/api/v1/auth/register",
            json={"username": "kay", "email": "kay@example.test", "password": PASSWORD},
        )
        token = (await resp.json())["access_token"]
        resp = await http.post("/api/v1/communities", json={"name": "Keyboard Club"}, headers=auth(token))
        assert resp.status == 201
    page = await new_page(browser)
    await page.goto(f"{base}/login")
    kb = page.keyboard
    # The sign-in form starts focused on its first field.
    await expect(page.get_by_label("Username or email")).to_be_focused()
    await kb.type("kay")
    await kb.press("Tab")
    await kb.type(PASSWORD)
    await kb.press("Enter")
    await page.wait_for_url("**/channels/@me")
    # Tab to the community in the rail and open it (once the rail has it: the list arrives after
    # the page, and a keyboard user waits for it as anyone would).
    await expect(page.locator('[aria-label="Keyboard Club"]')).to_be_visible(timeout=20_000)
    for _ in range(15):
        await kb.press("Tab")
        if await page.evaluate("document.activeElement.getAttribute('aria-label')") == "Keyboard Club":
            break
    else:
        raise AssertionError("the community link was never reached with Tab")
    await kb.press("Enter")
    # Opening a channel puts the focus in the message box (loading the community can take a while
    # when the machine is busy, hence the longer wait).
    await expect(page.locator("#composer-input")).to_be_focused(timeout=20_000)
    await kb.type("typed without a mouse")
    await kb.press("Enter")
    await expect(message(page, "typed without a mouse")).to_be_visible()
    # Up arrow in the empty box edits the last message; Enter saves.
    await kb.press("ArrowUp")
    await expect(page.get_by_role("textbox", name="Edit message")).to_be_focused()
    await kb.press("End")
    await kb.type(", edited too")
    await kb.press("Enter")
    await expect(message(page, "typed without a mouse, edited too")).to_be_visible()
    # The message has focus after editing; R replies to it, Escape goes back to the box.
    await expect(message(page, "edited too")).to_be_focused()
    await kb.press("r")
    await expect(page.locator("#composer-input")).to_be_focused()
    await kb.type("and a reply")
    await kb.press("Enter")
    await expect(page.locator("article.msg .reply-ref").first).to_contain_text("typed without a mouse")
    # Settings open and close from the keyboard, focus returning to where it was.
    await page.locator("#composer-input").focus()
    assert page.errors == []


async def test_a_channel_whose_first_page_failed_to_load_fills_in_when_the_network_returns(
    aiohttp_server, tmp_path, browser
):
    # The network fails just as bob's channel opens: its first page of messages and alice's profile
    # do not arrive. The page must try again on its own, not stay empty with "Unknown user" in it.
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Harbour")
    await send(alice, "written before bob came")
    await expect(message(alice, "written before bob came")).to_be_visible()
    failed: list[str] = []

    async def drop_once(route):
        kind = "messages" if "/messages" in route.request.url else "profile"
        if kind in failed:
            await route.fallback()
        else:
            failed.append(kind)
            await route.abort("internetdisconnected")

    await bob.route(re.compile(r".*/api/v1/channels/[^/]+/messages(\?.*)?$"), drop_once)
    await bob.route(re.compile(r".*/api/v1/users/(?!@me)[^/?]+$"), drop_once)
    await accept_invite(bob, await invite_link(alice))
    await expect(message(bob, "written before bob came")).to_be_visible(timeout=20000)
    assert sorted(failed) == ["messages", "profile"]  # both really failed once
    members = bob.get_by_role("complementary", name="Members")
    await expect(members.get_by_role("button", name="alice, online")).to_be_visible(timeout=20000)
    await expect(members.get_by_text("Unknown user")).to_have_count(0)
    await expect(bob.get_by_text("Cannot reach the server")).to_have_count(0)
    # And live after that.
    await send(alice, "and live after that")
    await expect(message(bob, "and live after that")).to_be_visible()
    assert bob.errors == []


async def test_a_half_written_message_waits_in_its_channel_across_switches_and_reloads(
    aiohttp_server, tmp_path, browser
):
    """A draft stays with its channel, as in Discord and Element: a member who looks at another
    channel, or reloads, finds the words where they left them. Sending clears it, and signing out
    leaves none of it in the browser."""
    base = await serve(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    general_url = await create_community(alice, "Night Owls")
    community_id = general_url.rstrip("/").split("/")[-2]
    await api_call(alice, "POST", f"/api/v1/communities/{community_id}/channels", {"name": "random"})
    composer = alice.locator("#composer-input")
    sidebar = alice.get_by_role("navigation", name="Channels")

    await composer.fill("half a thought about owls")
    await sidebar.get_by_role("link", name=re.compile("^random")).click()
    await expect(composer).to_have_attribute("placeholder", "Message #random")
    await expect(composer).to_have_value("")  # each channel has its own
    await composer.fill("something for random")
    await sidebar.get_by_role("link", name=re.compile("^general")).click()
    await expect(composer).to_have_attribute("placeholder", "Message #general")
    await expect(composer).to_have_value("half a thought about owls")

    await composer.fill("half a thought about owls, continued")
    await alice.reload()
    await expect(composer).to_have_value("half a thought about owls, continued")
    await composer.press("End")
    await composer.type("!")
    await composer.press("Enter")
    await expect(message(alice, "owls, continued!")).to_be_visible()
    await expect(composer).to_have_value("")
    await alice.reload()
    await expect(message(alice, "owls, continued!")).to_be_visible()
    await expect(composer).to_have_value("")  # sent: the draft went with it

    # Signing out leaves no drafts behind (#random still had one).
    await alice.get_by_role("button", name="User settings").click()
    await (
        alice.get_by_role("dialog", name="User settings")
        .get_by_role("button", name="Sign out", exact=True)
        .click()
    )
    await expect(alice.get_by_role("heading", name="Welcome back!")).to_be_visible()
    assert await alice.evaluate("Object.keys(localStorage).filter(k => k.includes('draft'))") == []
