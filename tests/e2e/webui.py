"""Helpers for the web UI's browser tests: a node on loopback, guarded pages, and the steps a member takes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import ROOT, free_port, make_config
from tests.users_fixtures import FAST_HASHING, PASSWORD

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Screenshots land here (gitignored); TEST_ARTIFACTS moves them, e.g. into a CI artifact folder.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"


async def serve(aiohttp_server: Any, tmp_path: Path, **sections: Any) -> str:
    """A node with fast password hashing and quick heartbeats on a loopback port; returns its URL."""
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING},
        rate_limits={"enabled": False},
        realtime={"heartbeat_interval_s": 2.0, **sections.pop("realtime", {})},
        **sections,
    )
    server = await aiohttp_server(build_app(cfg))
    return f"http://127.0.0.1:{server.port}"


async def new_page(browser: Any, viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
    """A page in its own context (its own cookies) that blocks and records any non-loopback request
    and collects script errors."""
    context = await browser.new_context(viewport=viewport, **options)
    page = await context.new_page()
    page.external_requests = []
    page.errors = []

    async def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost", "::1"):
            await route.continue_()
        else:
            page.external_requests.append(route.request.url)
            await route.abort()

    await page.route("**/*", guard)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


async def register(page: Any, base: str, name: str) -> None:
    await page.goto(f"{base}/register")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Email").fill(f"{name}@example.test")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url("**/channels/@me")


async def create_community(page: Any, name: str) -> str:
    rail = page.get_by_role("navigation", name="Communities")
    await rail.get_by_role("button", name="Create a community").click()
    dialog = page.get_by_role("dialog", name="Create a community")
    await dialog.get_by_label("Community name").fill(name)
    await dialog.get_by_role("button", name="Create").click()
    await page.locator("#composer-input").wait_for()
    return page.url


async def invite_link(page: Any) -> str:
    await page.get_by_role("button", name="Invite people").click()
    field = page.locator("#invite-link")
    await field.wait_for()
    link = await field.input_value()
    await page.keyboard.press("Escape")
    return link


async def accept_invite(page: Any, link: str) -> None:
    await page.goto(link)
    await page.get_by_role("button", name="Accept invite").click()
    await page.locator("#composer-input").wait_for()


async def send(page: Any, text: str) -> None:
    composer = page.locator("#composer-input")
    await composer.fill(text)
    await composer.press("Enter")


def message(page: Any, text: str) -> Any:
    """The message article (in the open channel) whose text contains ``text``."""
    return page.locator("article.msg:not(.pending)", has_text=text)


async def shoot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


async def until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll an expression in the page (awaiting it if it is a promise) until it is truthy.
    page.wait_for_function does not await: a promise counts as true at once."""
    for _ in range(int(timeout / 0.1)):
        if await page.evaluate(expression):
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"never true in {timeout:.0f} s: {expression}")


# Screenshots committed under docs/ (refreshed with UPDATE_SCREENSHOTS=1, see screens()).
SCREENSHOTS = ROOT / "docs" / "screenshots"


async def serve_node(aiohttp_server: Any, tmp_path: Any) -> tuple[str, Any]:
    """A node whose media URLs name the port it serves on, so images in the screenshots load."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING},
        rate_limits={"enabled": False},
        realtime={"heartbeat_interval_s": 2.0},
        node={"base_url": base},
    )
    server = await aiohttp_server(build_app(cfg), port=port)
    return base, server.app[NODE]


async def screens(page: Any, name: str) -> None:
    """The screen at desktop and phone width, saved as test artifacts; UPDATE_SCREENSHOTS=1 also
    refreshes the copies committed under docs/screenshots/ (a plain test run leaves the tree clean)."""
    update = os.environ.get("UPDATE_SCREENSHOTS") == "1"
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        shot = await shoot(page, f"{name}-{label}")
        if update:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, SCREENSHOTS / f"{name}-{label}.png")
    await page.set_viewport_size(DESKTOP)


def png(name: str, color: tuple[int, int, int]) -> dict[str, Any]:
    import pyvips

    image = (pyvips.Image.black(320, 200, bands=3) + list(color)).cast("uchar").copy(interpretation="srgb")
    return {"name": name, "mimeType": "image/png", "buffer": image.pngsave_buffer()}


async def create_forum(page: Any, name: str) -> None:
    await page.get_by_role("button", name="Create channel").click()
    dialog = page.get_by_role("dialog", name="Create channel")
    await dialog.get_by_label("Channel name").fill(name)
    await dialog.get_by_label("Type").select_option("forum")
    await dialog.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("link", name="New post")).to_be_visible()


async def comment_on(page: Any, text: str, under: str | None = None) -> None:
    if under is None:
        form = page.locator("section.comments > form.reply-form")
    else:
        item = page.locator("li.comment", has=page.locator(":scope > .comment-body-wrap", has_text=under))
        await item.locator(":scope > .comment-body-wrap").get_by_role("button", name="Reply").click()
        form = item.locator(":scope > .comment-body-wrap form.reply-form")
    await form.locator("textarea").fill(text)
    await form.get_by_role("button").last.click()
    await expect(page.locator("li.comment .comment-body", has_text=text)).to_be_visible()


async def api_call(page: Any, method: str, path: str, body: Any = None) -> Any:
    return await page.evaluate(
        "([method, path, body]) => import('/web/js/api.js')"
        ".then(m => m.api(method, path, body ?? undefined))",
        [method, path, body],
    )
