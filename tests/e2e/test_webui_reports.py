"""Reporting to the node admins in the web UI: a member reports a direct message (told what the admins
will see), a profile and a community; the node admin finds them under Admin > Reports by name and
excerpt, opens the profile, and resolves one with a note. Screenshots: docs/screenshots/admin-reports-*."""

from __future__ import annotations

import pytest
from cryb_plugins.users.service import CLI, USERS
from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.e2e.test_webui_dashboards import screens, sign_in
from tests.e2e.webui import (
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    send,
    shoot,
)
from tests.users_fixtures import FAST_HASHING, PASSWORD

pytestmark = pytest.mark.browser


async def report_in_dialog(page, title: str, reason: str) -> None:
    dialog = page.get_by_role("dialog", name=title)
    await dialog.get_by_label("Why are you reporting this?").fill(reason)
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog.get_by_role("status")).to_have_text(
        "Thanks. Your report was sent to the node admins."
    )
    await dialog.get_by_role("button", name="Done").click()
    await expect(dialog).to_be_hidden()


async def test_member_reports_a_dm_and_a_profile_and_the_admin_resolves_one(
    aiohttp_server, tmp_path, browser
):
    server = await aiohttp_server(build_app(make_config(
        tmp_path / "data", plugin={"users": FAST_HASHING}, rate_limits={"enabled": False},
        realtime={"heartbeat_interval_s": 2.0},
    )))  # fmt: skip
    base, node = f"http://127.0.0.1:{server.port}", server.app[NODE]
    await node.services.require(USERS).create_account(
        "root", "root@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Garden Club")
    await accept_invite(bob, await invite_link(alice))

    # Bob writes to Alice directly; she reports the message from its menu.
    await bob.get_by_role("button", name="alice").first.click()
    await bob.get_by_role("button", name="Message alice").click()
    await bob.wait_for_url("**/channels/@me/*")
    await send(bob, "hand over your password or else")
    await alice.get_by_role("link", name="Direct messages").click()
    await alice.get_by_role("link", name="bob").click()
    threat = message(alice, "hand over your password")
    await expect(threat).to_be_visible()
    await send(alice, "no way")
    mine = message(alice, "no way")
    await mine.hover()
    await expect(mine.get_by_role("button", name="Report")).to_have_count(0)  # not your own message
    await threat.hover()
    await threat.get_by_role("button", name="Report").click()
    dialog = alice.get_by_role("dialog", name="Report message · bob")
    await expect(dialog.locator(".report-excerpt")).to_have_text("hand over your password or else")
    await expect(dialog).to_contain_text("The node admins will see this message\u2019s text and who sent it")
    await dialog.get_by_role("button", name="Send report").click()  # no reason yet: refused in place
    await expect(dialog.get_by_role("alert").last).to_have_text("Say why you are reporting this.")
    await shoot(alice, "report-dm-dialog-desktop")
    await report_in_dialog(alice, "Report message · bob", "threatening me")

    # ...and Bob's profile, from the member list of the community.
    await alice.get_by_role("link", name="Garden Club").click()
    await alice.locator(".member-list").get_by_role("button", name="bob").first.click()
    card = alice.get_by_role("dialog", name="bob")
    await expect(card.get_by_role("button", name="Report")).to_be_visible()
    await shoot(alice, "report-profile-card-desktop")
    await card.get_by_role("button", name="Report").click()
    await report_in_dialog(alice, "Report profile · bob", "impersonating the club's treasurer")
    await alice.keyboard.press("Escape")  # the profile card the report opened over
    # Bob reports the community itself from its header (he is not its owner; Alice has no button).
    await expect(alice.get_by_role("button", name="Report community")).to_have_count(0)
    await bob.get_by_role("link", name="Garden Club").click()
    await bob.get_by_role("button", name="Report community").click()
    await report_in_dialog(bob, "Report community · Garden Club", "it is a front for spam")

    # The node admin sees all three by name and excerpt.
    admin = await new_page(browser)
    await sign_in(admin, base, "root")
    await admin.get_by_role("link", name="Node admin").click()
    await admin.get_by_role("tab", name="Reports").click()
    await admin.wait_for_url("**/admin?tab=reports")
    queue = admin.get_by_role("list", name="Open reports")
    items = queue.locator("li.report")
    await expect(items).to_have_count(3)
    dm_item = queue.locator('li.report[data-type="dm_message"]')
    await expect(dm_item.locator(".report-target")).to_have_text("from @bob")
    await expect(dm_item.locator(".report-excerpt")).to_have_text("hand over your password or else")
    await expect(dm_item).to_contain_text("reported by @alice")
    await expect(dm_item).to_contain_text("who is in the conversation, reported it")
    await expect(dm_item).to_contain_text("Reason: threatening me")
    await expect(queue.locator('li.report[data-type="user"] .report-target')).to_have_text("@bob")
    await expect(queue.locator('li.report[data-type="community"] .report-target')).to_have_text("Garden Club")
    for label in await items.locator(".report-target").all_inner_texts():
        assert not any(c.isdigit() for c in label), label  # names, never raw ids
    await screens(admin, "admin-reports", admin.get_by_role("region", name="Reports"))

    # The profile behind a report opens in place; the community's link goes to it.
    await queue.locator('li.report[data-type="user"]').get_by_role("button", name="View profile").click()
    await expect(admin.get_by_role("dialog", name="Profile")).to_contain_text("@bob")
    await admin.keyboard.press("Escape")

    # Resolve the DM report with a note: it leaves the open queue and shows under Resolved.
    await dm_item.get_by_role("textbox").fill("warned bob; next time a node ban")
    await dm_item.get_by_role("button", name="Resolve").click()
    await expect(items).to_have_count(2)
    await admin.get_by_role("button", name="Resolved").click()
    done = admin.get_by_role("list", name="Resolved reports").locator("li.report")
    await expect(done).to_have_count(1)
    await expect(done).to_contain_text("by @root")
    await expect(done).to_contain_text("warned bob; next time a node ban")
    await shoot(admin, "admin-reports-resolved-desktop")
    await admin.get_by_role("button", name="Open", exact=True).click()
    await queue.locator('li.report[data-type="community"]').get_by_role("link", name="Open community").click()
    await expect(admin.get_by_role("heading", name="Garden Club")).to_be_visible()

    # A phone-width admin still reads and acts on the queue.
    phone = await new_page(browser, PHONE)
    await sign_in(phone, base, "root")
    await phone.wait_for_url("**/channels/@me")
    await phone.goto(f"{base}/admin?tab=reports")  # a shared link to the tab
    small = phone.get_by_role("list", name="Open reports").locator("li.report")
    await expect(small).to_have_count(2)
    box = await small.first.get_by_role("button", name="Dismiss").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    await shoot(phone, "admin-reports-queue-phone")

    rows = await node.db.fetchall("SELECT target_type, status, note FROM users_reports ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("dm_message", "resolved", "warned bob; next time a node ban"),
        ("user", "open", ""),
        ("community", "open", ""),
    ]
    for page in (alice, bob, admin, phone):
        assert page.errors == [] and page.external_requests == []
