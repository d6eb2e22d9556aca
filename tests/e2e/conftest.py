"""Browser fixtures: Debian's Chromium driven by Playwright, with every non-loopback request recorded."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        await b.close()


@pytest.fixture
async def page(browser):
    """A page that records (and blocks) any request leaving the machine."""
    context = await browser.new_context()
    page = await context.new_page()
    page.external_requests = []

    async def guard(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost", "::1"):
            await route.continue_()
        else:
            page.external_requests.append(route.request.url)
            await route.abort()

    await page.route("**/*", guard)
    yield page
    await context.close()
