"""The node serves the browser UI: index.html at the app's routes, its files under /web/, nothing else."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "path", ["/", "/login", "/register", "/channels/@me", "/channels/abc/def", "/invite/XyZ", "/settings"]
)
async def test_app_routes_serve_index_html_under_the_strict_csp(client, path):
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.content_type == "text/html"
    text = await resp.text()
    assert '<script type="module" src="/web/js/main.js"></script>' in text
    # No inline script anywhere: the CSP would refuse it.
    assert text.count("<script") == 1
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src" not in csp and "unsafe-eval" not in csp
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
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers.get("ETag") or resp.headers.get("Last-Modified")


async def test_vendored_files_may_be_cached(client):
    resp = await client.get("/web/vendor/VERSIONS")
    assert resp.status == 404  # not an asset type
    resp = await client.get("/web/vendor/swagger-ui/swagger-ui.css")
    assert resp.status == 200 and resp.headers["Cache-Control"].startswith("public, max-age=")


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
