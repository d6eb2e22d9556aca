"""Settings > Your data and Delete account: a member downloads a real ZIP of their data (watching it
being prepared), then deletes their account: signed out, the old password no longer works, and what
they wrote disappears for everyone else."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

import pytest
from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.export import ExportSink
from cryb_node.node import Node
from cryb_node.plugins import Loaded, Plugin
from cryb_node.plugins import load as load_plugins
from tests.conftest import make_config
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


class Gate(Plugin):
    """Holds every export at its (last) part until the test opens it: progress on screen for sure."""

    name = "exportgate"

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        self.entered.set()
        await self.opened.wait()


async def serve_gated(aiohttp_server, tmp_path, gate: Gate) -> str:
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING},
        rate_limits={"enabled": False},
        realtime={"heartbeat_interval_s": 2.0},
    )
    server = await aiohttp_server(build_app(cfg, [*load_plugins(cfg), Loaded(gate, None, "tests:gate")]))
    return f"http://127.0.0.1:{server.port}"


async def sign_in(page, base: str, name: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Username or email").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/channels/@me")


async def test_member_downloads_their_data_then_deletes_their_account(aiohttp_server, tmp_path, browser):
    gate = Gate()
    base = await serve_gated(aiohttp_server, tmp_path, gate)
    rosa, tom = await new_page(browser), await new_page(browser)
    await register(rosa, base, "rosa")
    await create_community(rosa, "Garden")
    link = await invite_link(rosa)
    await send(rosa, "tomatoes are ripe")
    await expect(message(rosa, "tomatoes are ripe")).to_be_visible()
    await register(tom, base, "tom")
    await accept_invite(tom, link)
    await expect(message(tom, "tomatoes are ripe")).to_be_visible()

    # Download my data: progress while it is prepared, then a download of a real ZIP.
    await rosa.get_by_role("button", name="User settings").click()
    settings = rosa.get_by_role("dialog", name="User settings")
    await settings.get_by_role("tab", name="Your data").click()
    await expect(settings.get_by_text("You have not asked for a copy yet.")).to_be_visible()
    await settings.get_by_role("button", name="Download my data").click()
    await asyncio.wait_for(gate.entered.wait(), 10)
    progress = settings.get_by_role("progressbar")
    await expect(progress).to_be_visible()
    await expect(settings.get_by_text("Preparing your data…")).to_be_visible()
    assert 0 < float(await progress.get_attribute("value")) < 1
    await shoot(rosa, "settings-data-progress")
    gate.opened.set()
    download_button = settings.get_by_role("button", name="Download ZIP")
    await expect(download_button).to_be_visible(timeout=15_000)
    await expect(settings.get_by_text("Your data is ready")).to_be_visible()
    await shoot(rosa, "settings-data-ready")
    async with rosa.expect_download() as got:
        await download_button.click()
    download = await got.value
    assert download.suggested_filename.startswith("cryb-rosa-") and download.suggested_filename.endswith(
        ".zip"
    )
    with zipfile.ZipFile(io.BytesIO(open(await download.path(), "rb").read())) as zf:
        messages = json.loads(zf.read("messages.json"))
        assert [m["content"] for m in messages] == ["tomatoes are ripe"]
        assert messages[0]["community_name"] == "Garden"
        assert json.loads(zf.read("account.json"))["account"]["email"] == "rosa@example.test"
        assert "README.txt" in zf.namelist()

    # The same screens on a phone.
    phone = await new_page(browser, PHONE)
    await sign_in(phone, base, "rosa")
    await phone.goto(f"{base}/settings")  # on a phone the settings button sits in the closed drawer
    phone_settings = phone.get_by_role("dialog", name="User settings")
    await phone_settings.get_by_role("tab", name="Your data").click()
    await expect(phone_settings.get_by_role("button", name="Download ZIP")).to_be_visible()
    await shoot(phone, "settings-data-phone")
    await phone_settings.get_by_role("tab", name="Delete account").click()
    await expect(phone_settings.get_by_role("button", name="Delete my account")).to_be_visible()
    await shoot(phone, "settings-delete-phone")
    box = await phone_settings.get_by_role("button", name="Delete my account").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    # Delete account: explained, the name must be typed, a wrong password is refused on its field.
    await settings.get_by_role("tab", name="Delete account").click()
    await expect(settings.get_by_text("This cannot be undone.")).to_be_visible()
    await expect(settings.get_by_text("they erase their copies too")).to_be_visible()
    delete = settings.get_by_role("button", name="Delete my account")
    await expect(delete).to_be_disabled()
    await settings.get_by_label("Password").fill("not my password")
    await settings.get_by_label("Type your username (rosa) to confirm").fill("ros")
    await expect(delete).to_be_disabled()
    await settings.get_by_label("Type your username (rosa) to confirm").fill("rosa")
    await expect(delete).to_be_enabled()
    await shoot(rosa, "settings-delete")
    await delete.click()
    await expect(settings.get_by_text("the current password is not correct")).to_be_visible()
    await expect(settings.get_by_label("Password")).to_be_focused()
    await settings.get_by_label("Password").fill(PASSWORD)
    await delete.click()

    # Signed out, told why; the old password opens nothing.
    await expect(rosa.get_by_role("heading", name="Welcome back!")).to_be_visible()
    await expect(rosa.get_by_text("Your account was deleted.")).to_be_visible()
    assert rosa.url.endswith("/login")
    await shoot(rosa, "settings-deleted-sign-in")
    await rosa.get_by_label("Username or email").fill("rosa")
    await rosa.get_by_label("Password").fill(PASSWORD)
    await rosa.get_by_role("button", name="Sign in").click()
    await expect(rosa.get_by_text("the login or password is not correct")).to_be_visible()
    assert rosa.url.endswith("/login")

    # Tom no longer sees what rosa wrote, live and after a reload.
    await expect(message(tom, "tomatoes are ripe")).to_have_count(0)
    await tom.reload()
    await expect(tom.locator("#composer-input")).to_be_visible()
    await expect(message(tom, "tomatoes are ripe")).to_have_count(0)
    for page in (rosa, tom, phone):
        assert page.errors == [] and page.external_requests == []


async def test_the_deleted_notice_stays_when_the_sockets_sign_out_comes_after_the_answer(
    aiohttp_server, tmp_path, browser
):
    # The node ends the account's sessions: its gateway closes (4004) and the page tries a refresh,
    # which fails. Here the socket's close comes first and its refresh is held until the deletion's
    # answer has drawn the sign-in page with its notice: the late "signed out" must keep it.
    base = await serve_gated(aiohttp_server, tmp_path, Gate())
    rosa = await new_page(browser)
    await register(rosa, base, "rosa")
    refreshing, answered = asyncio.Event(), asyncio.Event()

    async def refresh(route):
        refreshing.set()
        await answered.wait()
        await route.continue_()

    async def deletion(route):
        if route.request.method != "DELETE":
            await route.continue_()
            return
        response = await route.fetch()  # the node deleted the account and closed the socket
        await asyncio.wait_for(refreshing.wait(), 10)
        await route.fulfill(response=response)

    await rosa.get_by_role("button", name="User settings").click()
    settings = rosa.get_by_role("dialog", name="User settings")
    await settings.get_by_role("tab", name="Delete account").click()
    await settings.get_by_label("Password").fill(PASSWORD)
    await settings.get_by_label("Type your username (rosa) to confirm").fill("rosa")
    await rosa.route("**/api/v1/auth/refresh", refresh)
    await rosa.route("**/api/v1/users/@me", deletion)
    await settings.get_by_role("button", name="Delete my account").click()
    await expect(rosa.get_by_text("Your account was deleted.")).to_be_visible()
    async with rosa.expect_response("**/api/v1/auth/refresh"):
        answered.set()
    await rosa.wait_for_timeout(300)  # what the failed refresh sets off has run
    await expect(rosa.get_by_role("heading", name="Welcome back!")).to_be_visible()
    await expect(rosa.get_by_text("Your account was deleted.")).to_be_visible()
    assert rosa.errors == [] and rosa.external_requests == []
