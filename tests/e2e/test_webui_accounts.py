"""The account pages reached from mailed links: reset a forgotten password, verify an address."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from tests.conftest import free_port
from tests.e2e.webui import new_page, serve
from tests.users.conftest import Inbox
from tests.users_fixtures import PASSWORD

pytestmark = pytest.mark.browser
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


async def test_forgotten_password_is_reset_from_the_mailed_link(aiohttp_server, tmp_path, browser, inbox):
    mail = {"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "security": "none"}
    base = await serve(aiohttp_server, tmp_path, mail=mail, node={"base_url": "http://127.0.0.1:1"})
    async with aiohttp.ClientSession(base) as http:
        resp = await http.post(
            "/api/v1/auth/register",
            json={"username": "forgetful", "email": "f@example.test", "password": PASSWORD},
        )
        assert resp.status == 201
    (verify_mail,) = await inbox.wait(1)
    page = await new_page(browser)
    await page.goto(f"{base}/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email").fill("f@example.test")
    await page.get_by_role("button", name="Send reset link").click()
    await expect(page.get_by_text("a reset link is on its way")).to_be_visible()
    mails = await inbox.wait(2)
    link = LINK.search(mails[1].get_content()).group(0)
    assert "/reset-password?token=" in link
    await page.goto(base + link.split("127.0.0.1:1", 1)[1])  # the mailed link, on this test's port
    await page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    await page.get_by_role("button", name="Change password").click()
    await page.wait_for_url("**/login")
    await page.get_by_label("Username or email").fill("forgetful")
    await page.get_by_label("Password").fill("a brand new passphrase")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/channels/@me")

    # The verification page takes the token from the first mail.
    token = LINK.search(verify_mail.get_content()).group(0).split("token=")[1]
    await page.goto(f"{base}/verify-email?token={token}")
    await expect(page.get_by_text("Your email address is verified")).to_be_visible()
    await page.goto(f"{base}/verify-email?token={token}")
    await expect(page.get_by_text("this link is invalid, expired or already used")).to_be_visible()
    assert page.errors == [] and page.external_requests == []
