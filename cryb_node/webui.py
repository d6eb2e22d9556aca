"""Serves the browser UI (the cryb_web package, web/ in the source tree): the single-page app's
index.html at its client-side routes, and its ES modules, styles and vendored libraries under
/assets/<hash>/ (see cryb_node/static.py for the caching and compression).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

from aiohttp import web

from cryb_node import static
from cryb_node.http.middleware import CSP

# Client-side routes: each answers with index.html and the app's router picks the screen.
SPA_ROUTES = (
    "/",
    "/setup",
    "/login",
    "/register",
    "/verify-email",
    "/reset-password",
    "/settings",
    "/invite/{code}",
    "/channels/{tail:.*}",
    "/search",
    "/notifications",
    "/admin",
    "/friends",
    "/saved",
    "/mentions",
    "/u/{name}",
)
# The UI's files are served through cryb_node/static.py: under /assets/<content hash>/ (immutable,
# precompressed) for the page, and under /web/ (revalidated) for links made outside the page, such as
# a notification's icon. Restart the node to serve edits made to web/ (the hash is taken at start).


def web_root() -> Path:
    return Path(str(resources.files("cryb_web")))


def install(app: web.Application) -> None:
    """Add the UI's routes; a node without web/ files (a stripped install) simply has no UI."""
    root = web_root()
    if not (root / "index.html").is_file():
        return
    bundle = static.bundle(root)
    page, import_map = bundle.page("index.html", "js/main.js")
    # The node's policy, plus the page's one inline script: its import map, allowed by its hash.
    csp = f"{CSP}; script-src 'self' {import_map}"

    async def spa(request: web.Request) -> web.Response:
        headers = {"Content-Security-Policy": csp}
        return await static.respond(request, page, ".html", static.REVALIDATE, headers=headers)

    def file(rel: str) -> bytes:
        # Only the bundle's files (inside web/, no Python sources, no dot-files); never the page itself,
        # which is only served rewritten.
        if rel not in bundle.files or rel in ("index.html", "sw.js"):
            raise web.HTTPNotFound()
        return bundle.files[rel]

    async def versioned(request: web.Request) -> web.Response:
        rel = request.match_info["path"]
        # A page from before a restart may still ask for the old version: it gets today's file, but
        # not as immutable, so no browser keeps it under the old URL.
        current = request.match_info["version"] == bundle.version
        cache = static.IMMUTABLE if current else static.REVALIDATE
        return await static.respond(request, file(rel), Path(rel).suffix, cache)

    async def legacy(request: web.Request) -> web.Response:
        rel = request.match_info["path"]
        return await static.respond(request, file(rel), Path(rel).suffix, static.REVALIDATE)

    async def service_worker(request: web.Request) -> web.Response:
        # Served from / so its scope is the whole app; always revalidated so a release takes over.
        return await static.respond(
            request, worker, ".js", static.REVALIDATE, headers={"Service-Worker-Allowed": "/"}
        )

    worker = bundle.worker("sw.js") if "sw.js" in bundle.files else b""
    # What the first screen loads, compressed in the background as the node starts.
    first = [page, worker, bundle.files.get("app.css", b"")] + [
        bundle.files[m] for m in bundle.preloads("js/main.js")
    ]

    async def precompress(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(asyncio.to_thread(bundle.warm, first))
        yield
        if not task.done():
            task.cancel()  # the thread ends by itself; nothing waits for its result

    app.cleanup_ctx.append(precompress)
    for route in SPA_ROUTES:
        app.router.add_get(route, spa)
    if worker:
        app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/assets/{version}/{path:.+}", versioned)
    app.router.add_get("/web/{path:.+}", legacy)
