"""First run in the browser: the one-time link the node prints creates the admin and signs them in."""

from __future__ import annotations

import pytest

from cryb_node.db import connect
from tests.e2e.webui import new_page, serve

pytestmark = pytest.mark.browser


async def test_the_setup_link_creates_the_admin_in_the_browser(aiohttp_server, tmp_path, browser):
    base = await serve(aiohttp_server, tmp_path)
    link = (tmp_path / "data" / "setup-link.txt").read_text().strip()
    token = link.split("#token=")[1]
    page = await new_page(browser)
    await page.goto(f"{base}/setup#token={token}")
    await page.get_by_label("Admin username").fill("nodeadmin")
    await page.get_by_label("Email").fill("admin@example.test")
    await page.get_by_label("Password").fill("an admin passphrase")
    await page.get_by_role("button", name="Create admin account").click()
    await page.wait_for_url("**/channels/@me")
    assert page.errors == [] and page.external_requests == []
    conn = connect(tmp_path / "data" / "cryb.db", busy_timeout_ms=1000, readonly=True)
    assert conn.execute("SELECT admin FROM users_accounts WHERE username = 'nodeadmin'").fetchone()[0] == 1
    conn.close()
    assert not (tmp_path / "data" / "setup-link.txt").exists()
    # The refresh token went into the HttpOnly cookie, not to the page.
    cookies = await page.context.cookies()
    assert any(c["name"] == "cryb_refresh" and c["httpOnly"] for c in cookies)
