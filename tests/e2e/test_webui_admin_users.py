"""The node admin console's Users tab, driven like a person would: the admin searches for a member,
opens the account and disables it (the member's open browser session is signed out at once),
makes another member an admin, and erases a spammer through the dialog that asks for the username
typed. Screenshots at desktop and 390 px phone width: test-artifacts/screenshots/admin-users-*.png
(UPDATE_SCREENSHOTS=1 also refreshes docs/screenshots/admin-users-*.png)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import aiohttp
import pytest
from cryb_plugins.users.service import CLI, USERS
from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.e2e.webui import DESKTOP, PHONE, SCREENSHOTS, new_page, register, shoot
from tests.users_fixtures import FAST_HASHING, PASSWORD, register_user

pytestmark = pytest.mark.browser


async def shots(page: Any, name: str, docs: bool = False) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(200)
        shot = await shoot(page, f"{name}-{label}")
        if docs and os.environ.get("UPDATE_SCREENSHOTS") == "1":
            shutil.copy(shot, SCREENSHOTS / f"{name}-{label}.png")
    await page.set_viewport_size(DESKTOP)


async def row_of(node: Any, username: str) -> tuple:
    row = await node.db.fetchone("SELECT status, admin FROM users_accounts WHERE username = ?", (username,))
    return tuple(row) if row else ()


async def test_admin_finds_disables_promotes_and_erases_accounts_from_the_users_tab(
    aiohttp_server, tmp_path, browser
):
    cfg = make_config(tmp_path / "data", plugin={"users": FAST_HASHING}, rate_limits={"enabled": False},
                      realtime={"heartbeat_interval_s": 2.0})  # fmt: skip
    server = await aiohttp_server(build_app(cfg))
    base, node = f"http://127.0.0.1:{server.port}", server.app[NODE]
    await node.services.require(USERS).create_account(
        "nodeadmin", "nodeadmin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )

    class Http:  # register_user posts through the served node
        def __init__(self, session: Any) -> None:
            self.session = session

        async def post(self, path: str, **kw: Any) -> Any:
            return await self.session.post(base + path, **kw)

    async with aiohttp.ClientSession() as session:
        for name in ("trent", "spammer42"):
            await register_user(Http(session), name)
        await session.patch(
            base + "/api/v1/users/@me",
            json={"display_name": "Trent Trusted"},
            headers={"Authorization": f"Bearer {(await register_user(Http(session), 'trent2'))[1]}"},
        )

    # Mallory is signed in, in her own browser, on her home screen.
    mallory = await new_page(browser)
    await register(mallory, base, "mallory")
    await expect(mallory.get_by_role("navigation", name="Communities")).to_be_visible()

    admin = await new_page(browser)
    await admin.goto(f"{base}/login")
    await admin.get_by_label("Username or email").fill("nodeadmin")
    await admin.get_by_label("Password").fill(PASSWORD)
    await admin.get_by_role("button", name="Sign in").click()
    await admin.get_by_role("link", name="Node admin").click()
    await admin.get_by_role("tab", name="Users").click()
    await admin.wait_for_url("**/admin?tab=users")
    users = admin.get_by_role("region", name="Users")
    table = users.locator("table.users-table tbody")
    await expect(table.locator("tr")).to_have_count(5)  # newest first: mallory on top
    await expect(table.locator("tr").first).to_contain_text("mallory")
    await expect(table.locator("tr").first).to_contain_text("mallory@example.test")

    # Search by part of the name, open the account.
    await users.get_by_role("searchbox", name="Search users").fill("mall")
    await users.get_by_role("searchbox", name="Search users").press("Enter")
    await expect(table.locator("tr")).to_have_count(1)
    await table.get_by_role("button", name="mallory").click()
    panel = users.get_by_role("region", name="Account")
    await expect(panel.get_by_role("heading", name="mallory")).to_be_visible()
    await expect(panel).to_contain_text("1 session")
    await expect(panel).to_contain_text("0 messages, 0 posts, 0 comments")
    await shots(admin, "admin-users-search")

    # Disable: confirmed in a dialog; Mallory's open page is signed out at once.
    await panel.get_by_role("button", name="Disable").click()
    await admin.get_by_role("dialog").get_by_role("button", name="Disable").click()
    await expect(panel.locator(".user-result")).to_have_text("mallory is disabled.")
    await expect(panel.locator(".user-detail-head .user-status")).to_have_text("disabled")
    await expect(table.locator("tr").first.locator(".user-status")).to_have_text("disabled")
    assert await row_of(node, "mallory") == ("disabled", 0)
    await mallory.wait_for_url("**/login", timeout=15000)
    await expect(mallory.get_by_role("button", name="Sign in")).to_be_visible()
    await mallory.get_by_label("Username or email").fill("mallory")
    await mallory.get_by_label("Password").fill(PASSWORD)
    await mallory.get_by_role("button", name="Sign in").click()
    await expect(mallory.get_by_role("alert").filter(has_text="disabled")).to_be_visible()
    await expect(panel.get_by_role("button", name="Enable")).to_be_visible()

    # Promote another member, found by their display name.
    await users.get_by_role("searchbox", name="Search users").fill("trusted")
    await users.get_by_role("button", name="Search").click()
    await expect(table.locator("tr")).to_have_count(1)
    await table.get_by_role("button", name="Trent Trusted").click()
    await expect(panel.get_by_role("heading", name="Trent Trusted")).to_be_visible()
    await panel.get_by_role("button", name="Make admin").click()
    await admin.get_by_role("dialog").get_by_role("button", name="Make admin").click()
    await expect(panel.locator(".user-result")).to_have_text("Trent Trusted is a node admin.")
    await expect(table.locator("tr").first.locator(".user-admin")).to_have_text("admin")
    assert await row_of(node, "trent2") == ("active", 1)
    await expect(panel.locator(".user-audit")).to_contain_text("account.promoted by nodeadmin")

    # Erase: the button stays off until the username is typed.
    await users.get_by_role("searchbox", name="Search users").fill("spammer")
    await users.get_by_role("searchbox", name="Search users").press("Enter")
    await table.get_by_role("button", name="spammer42").click()
    await expect(panel.get_by_role("heading", name="spammer42")).to_be_visible()
    await panel.get_by_role("button", name="Erase account…").click()
    dialog = admin.get_by_role("dialog", name="Erase spammer42?")
    erase = dialog.get_by_role("button", name="Erase account")
    await expect(erase).to_be_disabled()
    await dialog.get_by_label("Type spammer42 to confirm").fill("spammer4")
    await expect(erase).to_be_disabled()
    await dialog.get_by_label("Type spammer42 to confirm").fill("spammer42")
    await shots(admin, "admin-users-erase")
    await erase.click()
    await expect(dialog).to_be_hidden()
    await expect(panel.locator(".user-result")).to_have_text("spammer42 was erased.")
    assert await row_of(node, "spammer42") == ()
    assert await node.db.fetchval("SELECT count(*) FROM users_accounts WHERE status = 'deleted'") == 1

    # The phone layout: the list and an open account fit 390 px.
    await admin.set_viewport_size(PHONE)
    await users.get_by_role("searchbox", name="Search users").fill("")
    await users.get_by_role("searchbox", name="Search users").press("Enter")
    await expect(table.locator("tr")).to_have_count(4)  # the erased account is no longer listed
    await table.get_by_role("button", name="mallory").click()
    await expect(panel.get_by_role("button", name="Enable")).to_be_visible()
    width = await admin.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    await shots(admin, "admin-users", docs=True)
    assert admin.errors == [] and admin.external_requests == []
    assert mallory.external_requests == []
