"""The node admin's Media tab, as people use it: a member posts an image in a forum channel; the admin
finds it under the member's name, with its preview, and takes it down with a reason (confirmed in a
dialog); the member's post no longer loads it, and uploading the same file again shows the refusal;
the block list shows the bytes, and unblocking them lets the file be uploaded again."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryb_plugins.users.service import CLI, USERS
from playwright.async_api import expect

from tests.e2e.test_webui_dashboards import screens, sign_in
from tests.e2e.webui import PHONE, create_community, create_forum, new_page, png, register, serve_node, until
from tests.users_fixtures import PASSWORD

pytestmark = pytest.mark.browser


async def pick_image(page: Any, file: dict) -> Any:
    """In the open forum: New post, choose the image; returns its row in the uploads list."""
    await page.get_by_role("link", name="New post").click()
    await page.get_by_label("Images").set_input_files([file])
    row = page.locator("li.upload", has_text=file["name"])
    await expect(row.locator("progress")).to_have_count(0, timeout=15000)  # the upload finished
    return row


async def test_admin_takes_down_a_members_image_and_the_same_file_is_refused(
    aiohttp_server, tmp_path, browser
):
    base, node = await serve_node(aiohttp_server, tmp_path)
    await node.services.require(USERS).create_account(
        "nodeadmin", "nodeadmin@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    image = png("sunset.png", (230, 120, 40))
    member = await new_page(browser)
    await register(member, base, "alice")
    await member.evaluate(
        "import('/web/js/api.js').then(m => m.patch('/api/v1/users/@me', {display_name: 'Alice Liddell'}))"
    )
    await create_community(member, "Photos")
    await create_forum(member, "gallery")
    forum_url = member.url
    row = await pick_image(member, image)
    await expect(row.locator("img")).to_be_visible()
    await member.get_by_label("Title").fill("Evening sky")
    await member.get_by_role("button", name="Post", exact=True).click()
    await expect(member.get_by_role("heading", name="Evening sky")).to_be_visible()
    picture = member.locator(".post-full .post-attachments img")
    await expect(picture).to_have_count(1)
    await until(member, "document.querySelector('.post-full .post-attachments img').naturalWidth > 0")
    picture_url = await picture.get_attribute("src")
    post_url = member.url

    # The admin opens the Media tab and finds alice's upload by her name, with its preview.
    admin = await new_page(browser)
    await sign_in(admin, base, "nodeadmin")
    await admin.get_by_role("link", name="Node admin").click()
    await admin.get_by_role("tab", name="Media").click()
    await expect(admin).to_have_url(f"{base}/admin?tab=media")
    uploads = admin.get_by_role("list", name="Uploads")
    await admin.get_by_label("Uploaded by").fill("alice")
    await admin.get_by_role("button", name="Show").click()
    item = uploads.locator("li.media-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("sunset.png")
    await expect(item).to_contain_text("by Alice Liddell")
    await expect(item.locator(".media-where")).to_have_text("In #gallery (Photos) · 1 message or post")
    await expect(item).to_contain_text(hashlib.sha256(image["buffer"]).hexdigest())
    await until(admin, "document.querySelector('li.media-item img.media-thumb')?.naturalWidth > 0")
    await screens(admin, "admin-media", scroll_to=uploads)

    # Take down, with a reason, in a dialog that says what it does; an empty reason is refused.
    await item.get_by_role("button", name="Take down").click()
    dialog = admin.get_by_role("dialog", name="Take down sunset.png?")
    await expect(dialog).to_contain_text("cannot be uploaded again")
    await dialog.get_by_role("button", name="Take down").click()
    await expect(dialog.get_by_role("alert").filter(has_text="Say why")).to_be_visible()
    await dialog.get_by_label("Reason").fill("posted without the photographer's permission")
    await screens(admin, "admin-media-takedown", scroll_to=dialog)
    await dialog.get_by_role("button", name="Take down").click()
    await expect(dialog).to_be_hidden()
    await expect(item.locator(".flag")).to_have_text("taken down")
    await expect(item).to_contain_text("Taken down")
    await expect(item).to_contain_text("posted without the photographer's permission")
    await expect(item.get_by_role("button", name="Take down")).to_have_count(0)
    blocklist = admin.get_by_role("region", name="Block list")
    blocked = blocklist.get_by_role("list", name="Blocked hashes").locator("li")
    await expect(blocked).to_have_count(1)
    await expect(blocked).to_contain_text(hashlib.sha256(image["buffer"]).hexdigest())
    await expect(blocked).to_contain_text("files made from it")
    await screens(admin, "admin-media-blocklist", scroll_to=blocklist)

    # The member's post no longer loads it: not even the address the page had.
    await member.goto(post_url)
    await expect(member.get_by_role("heading", name="Evening sky")).to_be_visible()
    await expect(member.locator(".post-full .post-attachments")).to_contain_text("attachment unavailable")
    await expect(member.locator(".post-full .post-attachments img")).to_have_count(0)
    status = await member.evaluate("url => fetch(url).then(r => r.status)", picture_url)
    assert status == 404
    # Uploading the same file again shows the refusal.
    await member.goto(forum_url)
    row = await pick_image(member, image)
    await expect(row.get_by_role("alert")).to_contain_text("taken down by the node's admins")
    await expect(row.locator("img")).to_have_count(0)
    await screens(member, "admin-media-refused", scroll_to=row)

    # The admin unblocks the bytes (confirmed); the same file uploads again.
    await blocked.get_by_role("button", name="Unblock").click()
    await (
        admin.get_by_role("dialog", name="Unblock these bytes?").get_by_role("button", name="Unblock").click()
    )
    await expect(blocklist).to_contain_text("Nothing is blocked.")
    await member.goto(forum_url)
    row = await pick_image(member, image)
    await expect(row.locator("img")).to_be_visible()

    # A phone-wide screen still shows the list usably (no sideways scrolling of the page).
    await admin.set_viewport_size(PHONE)
    await admin.reload()
    await expect(admin.get_by_role("list", name="Uploads").locator("li.media-item").first).to_be_visible()
    assert await admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert member.errors == [] and admin.errors == []
    assert member.external_requests == [] and admin.external_requests == []
