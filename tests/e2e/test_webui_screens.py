"""Screenshots of the main screens at desktop (1280x800) and phone (390x844) width, light and dark,
saved under test-artifacts/screenshots (TEST_ARTIFACTS moves them). With UPDATE_SCREENSHOTS=1
the two README images in docs/screenshots/ are refreshed too. Also: the settings screens work, and the
two-factor prompt appears at sign-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import struct
import time

import pytest
from playwright.async_api import expect

from tests.conftest import ROOT
from tests.e2e.webui import (
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
from tests.users_fixtures import PASSWORD

pytestmark = pytest.mark.browser
README_SHOTS = {"chat-desktop-dark": "chat-desktop.png", "chat-phone-light": "chat-phone.png"}


async def test_main_screens_at_desktop_and_phone_width(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    alice = await new_page(browser, color_scheme="dark")
    bob = await new_page(
        browser, PHONE, color_scheme="light", is_mobile=True, has_touch=True, reduced_motion="reduce"
    )
    await bob.goto(f"{base}/login")
    await expect(bob.get_by_role("heading", name="Welcome back!")).to_be_visible()
    shots = [await shoot(bob, "login-phone-light")]
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Night Owls")
    await accept_invite(bob, await invite_link(alice))
    await alice.reload()
    # A fresh page learns who is online already (READY's presences), then follows changes live.
    members = alice.get_by_role("complementary", name="Members")
    await expect(members.get_by_role("button", name="bob, online")).to_be_visible()
    await send(alice, "Welcome to **Night Owls**! Share what you are working on 🦉")
    await send(bob, "Hi all, I am writing a `sqlite` backup tool")
    await send(alice, "Nice, post a link when it is up")
    await expect(message(bob, "post a link")).to_be_visible()
    first = message(bob, "Welcome to")
    await first.tap()  # no hover on a phone: tapping a message shows its actions
    await first.get_by_role("button", name="Add reaction").tap()
    await bob.get_by_role("gridcell", name="🎉").tap()
    await expect(message(alice, "Welcome to").get_by_role("button", name="🎉 1 reaction")).to_be_visible()
    await alice.locator("#composer-input").fill("@bo")
    await expect(alice.get_by_role("option", name="bob @bob")).to_be_visible()
    shots.append(await shoot(alice, "chat-desktop-dark"))
    await alice.locator("#composer-input").fill("")
    shots.append(await shoot(bob, "chat-phone-light"))

    # The phone's drawer holds the communities and channels; the member list opens over the chat.
    await bob.get_by_role("button", name="Open channels and communities").click()
    await expect(bob.get_by_role("navigation", name="Channels")).to_be_visible()
    shots.append(await shoot(bob, "drawer-phone-light"))
    await bob.keyboard.press("Escape")
    await bob.get_by_role("button", name="Member list").click()
    await expect(bob.get_by_role("complementary", name="Members")).to_be_visible()
    shots.append(await shoot(bob, "members-phone-light"))
    await bob.keyboard.press("Escape")

    # Light desktop, settings.
    await alice.get_by_role("button", name="Switch to light theme").click()
    await alice.get_by_role("button", name="User settings").click()
    await expect(alice.get_by_role("dialog", name="User settings")).to_be_visible()
    shots.append(await shoot(alice, "settings-desktop-light"))
    await alice.keyboard.press("Escape")
    await expect(alice.get_by_role("button", name="User settings")).to_be_focused()
    shots.append(await shoot(alice, "chat-desktop-light"))

    for path in shots:
        assert path.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        for shot, name in README_SHOTS.items():
            shutil.copyfile(next(p for p in shots if p.stem == shot), docs / name)
    for page in (alice, bob):
        assert page.errors == [] and page.external_requests == []


def totp(secret: str, at: float | None = None) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int((at or time.time()) // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


async def test_settings_profile_sessions_and_two_factor_sign_in(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    other = await new_page(browser)
    await register(other, base, "sam")  # a second session of the same account, on another "device"
    page = await new_page(browser)
    await page.goto(f"{base}/login")
    await page.get_by_label("Username or email").fill("sam")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/channels/@me")

    settings = page.get_by_role("dialog", name="User settings")
    await page.get_by_role("button", name="User settings").click()
    await settings.get_by_label("Display name").fill("Samwise")
    await settings.get_by_role("button", name="Save profile").click()
    await expect(settings.get_by_text("Profile saved.")).to_be_visible()
    await expect(page.locator(".user-display")).to_have_text("Samwise")

    # Sessions: this device and the other; signing out the other ends it there.
    await settings.get_by_role("tab", name="Sessions").click()
    await expect(settings.get_by_text("This device")).to_be_visible()
    await (
        settings.locator(".session").get_by_role("button", name="Sign out Chromium on Linux session").click()
    )
    await expect(settings.locator(".session")).to_have_count(1)
    await other.reload()
    await expect(other.get_by_role("heading", name="Welcome back!")).to_be_visible()

    # Two-factor: enrol with the shown key, confirm with a code, get recovery codes.
    await settings.get_by_role("tab", name="Two-factor").click()
    await settings.get_by_label("Password").fill(PASSWORD)
    await settings.get_by_role("button", name="Set up an authenticator app").click()
    secret = (await settings.locator("code.secret").inner_text()).strip()
    await settings.get_by_label("Code from the app").fill(totp(secret))
    await settings.get_by_role("button", name="Turn on").click()
    await expect(settings.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    await expect(settings.locator("ul.codes li")).not_to_have_count(0)

    # Sign out, then in again: the password alone is not enough; the prompt asks for the code.
    await settings.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page.get_by_role("heading", name="Welcome back!")).to_be_visible()
    await page.get_by_label("Username or email").fill("sam")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    code = page.get_by_label("Two-factor code")
    await expect(code).to_be_focused()
    # A wrong code with the right password says the code is wrong (not "login or password").
    await code.fill("000000" if totp(secret, time.time() + 30) != "000000" else "111111")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("the two-factor code is not correct")).to_be_visible()
    await expect(page.get_by_text("login or password")).to_have_count(0)
    await expect(code).to_be_focused()
    await code.fill(totp(secret, time.time() + 30))  # the next step: the last one was just used
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/channels/@me")
    assert page.errors == []
