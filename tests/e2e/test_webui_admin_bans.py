"""The node admin page's Bans tab (/admin?tab=bans) against two real nodes on loopback: the admin
bans a user of the other node by name@home and the whole other node picked from the pinned peers,
sees each listed with how many events it hides, is told what was wrong with a name nobody has, and
removes a ban. Screenshots at desktop and phone width: test-artifacts/screenshots/admin-bans-*.png."""

from __future__ import annotations

import os
import shutil
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryb_plugins.users.service import CLI, USERS
from playwright.async_api import expect

from tests.e2e.test_webui_dashboards import sign_in
from tests.e2e.webui import DESKTOP, PHONE, SCREENSHOTS, new_page, shoot
from tests.sync.conftest import User, federation, make_community  # noqa: F401 (the fixture)
from tests.users_fixtures import PASSWORD, register_user

pytestmark = pytest.mark.browser


async def screens(page: Any, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        shot = await shoot(page, f"{name}-{label}")
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            shutil.copy(shot, SCREENSHOTS / f"{name}-{label}.png")
    await page.set_viewport_size(DESKTOP)


async def test_admin_bans_a_remote_user_and_a_peer_node_from_the_bans_tab(federation, browser):  # noqa: F811
    a, b = await federation(2)
    await a.node.services.require(USERS).create_account(
        "nodeadmin", "nodeadmin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    owner = await b.user()
    cid, text = await make_community(b, owner)
    spammer = User(*await register_user(b.client, "spammer"))
    await b.ok("PUT", f"/communities/{cid}/members/@me", spammer, json={})
    for i in range(2):
        await b.ok("POST", f"/channels/{text}/messages", spammer, json={"content": f"spam {i}"})
    await a.session(b)
    home = urlsplit(b.url).netloc

    page = await new_page(browser)
    await sign_in(page, a.url, "nodeadmin")
    await page.wait_for_url("**/channels/@me")
    await page.goto(f"{a.url}/admin?tab=bans")
    await expect(page.get_by_role("tab", name="Bans")).to_have_attribute("aria-selected", "true")
    listing = page.get_by_role("region", name="Bans")
    await expect(listing).to_contain_text("No bans.")
    adding = page.get_by_role("region", name="Ban someone")

    # a name nobody has: told why, on the field
    await adding.get_by_label("User", exact=True).fill("nobody@nowhere.test")
    await adding.get_by_role("button", name="Ban").click()
    await expect(adding.locator(".field-error").first).to_contain_text(
        "no user 'nobody@nowhere.test' is known"
    )

    # the spammer of b, by name@home
    await adding.get_by_label("User", exact=True).fill(f"spammer@{home}")
    await adding.get_by_label("Reason").fill("spam wave")
    await adding.get_by_role("button", name="Ban").click()
    await expect(page.locator(".ban-notice")).to_have_text(
        f"Banned spammer@{home}: 2 of their events hidden here."
    )
    row = page.locator("tr", has_text=f"spammer@{home}")
    await expect(row.locator(".ban-reason")).to_have_text("spam wave")
    await expect(row.locator(".ban-hidden")).to_have_text("2")

    # the whole node b, picked from the pinned peers
    adding = page.get_by_role("region", name="Ban someone")
    await adding.get_by_label("A whole peer node").check()
    await expect(adding.get_by_label("User", exact=True)).to_be_hidden()
    peer = adding.get_by_label("Pinned peer")
    await expect(peer.locator("option")).to_have_text([f"b · {b.url} ({b.key.hex()[:16]})"])
    await adding.get_by_label("Reason").fill("hostile node")
    await adding.get_by_role("button", name="Ban").click()
    # the spammer's two are b's too; b's own owner wrote nothing
    await expect(page.locator(".ban-notice")).to_have_text(f"Banned {b.url}: 2 of their events hidden here.")
    node_row = page.locator('tr[data-kind="node"]')
    await expect(node_row.locator(".ban-label")).to_contain_text(b.url)
    await expect(node_row.locator(".ban-meta")).to_contain_text("whole node")
    await expect(page.get_by_role("region", name="Bans").locator("tbody tr")).to_have_count(2)
    bans = (await a.ok("GET", "/admin/bans", await _admin(a)))["bans"]
    assert [(x["kind"], x["label"], x["reason"]) for x in bans] == [
        ("node", b.url, "hostile node"), ("user", f"spammer@{home}", "spam wave"),
    ]  # fmt: skip
    # banning the node unpinned it: the list of peers to pick from is empty now
    await expect(page.get_by_role("region", name="Ban someone").get_by_label("Pinned peer")).to_be_disabled()
    await screens(page, "admin-bans")

    # remove the user's ban
    await page.get_by_role("button", name=f"Remove the ban of spammer@{home}").click()
    await expect(page.locator(".ban-notice")).to_contain_text(f"Removed the ban of spammer@{home}")
    await expect(page.get_by_role("region", name="Bans").locator("tbody tr")).to_have_count(1)
    assert [x["kind"] for x in (await a.ok("GET", "/admin/bans", await _admin(a)))["bans"]] == ["node"]
    assert page.errors == [] and page.external_requests == []


async def test_the_bans_tab_is_closed_to_members(federation, browser):  # noqa: F811
    (a,) = await federation(1)
    await register_user(a.client, "member")
    page = await new_page(browser)
    await sign_in(page, a.url, "member")
    await page.wait_for_url("**/channels/@me")
    await page.goto(f"{a.url}/admin?tab=bans")
    await expect(page.get_by_role("alert")).to_contain_text("Only node admins can open this page.")
    assert page.errors == []


async def _admin(fed: Any) -> User:
    from tests.communities.conftest import new_admin

    return await new_admin(fed.client)
