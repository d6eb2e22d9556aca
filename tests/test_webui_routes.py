"""The app's screen routes: /search, /notifications and /admin answer with the app; the service
worker is served from / (so its scope is the whole app), revalidated on each visit; uPlot is vendored."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("path", ["/search", "/notifications", "/admin", "/channels/abc/@mod"])
async def test_part2_routes_serve_the_app(client, path):
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert re.search(
        r'<script type="module" src="/assets/[0-9a-f]{16}/js/main.js"></script>', await resp.text()
    )


async def test_service_worker_is_served_from_the_root_and_never_kept_stale(client):
    resp = await client.get("/sw.js")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["Service-Worker-Allowed"] == "/"
    body = await resp.text()
    # The API is never answered from the worker's cache.
    assert "addEventListener('fetch'" in body and "/api/" not in body.split("addEventListener('fetch'")[1]


async def test_vendored_chart_library_is_served_for_a_year_under_the_versioned_path(client):
    page = await (await client.get("/admin")).text()
    assets = re.search(r'src="(/assets/[0-9a-f]{16}/)js/main.js"', page).group(1)
    resp = await client.get(f"{assets}vendor/uplot/uPlot.esm.js")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "export { uPlot as default }" in await resp.text()
    assert (await client.get(f"{assets}vendor/uplot/uPlot.min.css")).status == 200
