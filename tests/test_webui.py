"""The node serves the browser UI: index.html at the app's routes, its files under /assets/<hash>/ and
/web/, nothing else (tests/test_static_assets.py covers the caching and compression)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest


@pytest.mark.parametrize(
    "path", ["/", "/login", "/register", "/channels/@me", "/channels/abc/def", "/invite/XyZ", "/settings"]
)
async def test_app_routes_serve_index_html_under_the_strict_csp(client, path):
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.content_type == "text/html"
    text = await resp.text()
    assert re.search(r'<script type="module" src="/assets/[0-9a-f]{16}/js/main.js"></script>', text)
    # One inline script, the import map, which the page's policy allows by its hash and nothing else.
    assert text.count("<script") == 2 and text.count('<script type="importmap">') == 1
    imports = re.search(r'<script type="importmap">(.*?)</script>', text).group(1)
    digest = base64.b64encode(hashlib.sha256(imports.encode()).digest()).decode()
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-eval" not in csp
    assert csp.endswith(f"; script-src 'self' 'sha256-{digest}'")
    assert json.loads(imports)["imports"]["/web/"].startswith("/assets/")
    assert resp.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/web/js/main.js", "text/javascript"),
        ("/web/app.css", "text/css"),
        ("/web/icon.svg", "image/svg+xml"),
    ],
)
async def test_assets_are_served_with_their_types(client, path, content_type):
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.content_type == content_type
    # Under /web/ (links made outside the page) they are revalidated; the page uses /assets/.
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers.get("ETag")


async def test_vendored_files_are_served(client):
    resp = await client.get("/web/vendor/VERSIONS")
    assert resp.status == 404  # not an asset type
    resp = await client.get("/web/vendor/swagger-ui/swagger-ui.css")
    assert resp.status == 200 and resp.content_type == "text/css"


@pytest.mark.parametrize(
    "path",
    [
        "/web/__init__.py",
        "/web/../cryb_node/app.py",
        "/web/%2e%2e/setup.cfg",
        "/web/js/missing.js",
        "/web/.hidden.js",
    ],
)
async def test_nothing_outside_the_ui_files_is_served(client, path):
    resp = await client.get(path)
    assert resp.status == 404


async def test_unknown_paths_still_answer_problem_json_not_the_app(client):
    resp = await client.get("/api/v1/nope")
    assert resp.status == 404
    assert resp.content_type == "application/problem+json"
