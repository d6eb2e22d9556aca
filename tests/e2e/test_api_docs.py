"""/api/docs is Swagger UI served from inside the package: it renders with no request leaving the machine."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


async def test_api_docs_render_offline(aiohttp_server, config, page):
    from cryb_node.app import build_app

    server = await aiohttp_server(build_app(config))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"http://127.0.0.1:{server.port}/api/docs")
    await page.wait_for_selector(".opblock-summary-path", timeout=15000)
    paths = await page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/demo/notes" in p for p in paths)
    assert page.external_requests == []
    assert errors == []
