"""Serves the browser UI (the cryb_web package, web/ in the source tree): the single-page app's
index.html at its client-side routes, and its ES modules, styles and vendored libraries under /web/.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

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
    "/u/{name}",
)
# The app's own files change with each release and are revalidated (cheap 304s); vendored
# libraries are pinned (web/vendor/VERSIONS), so browsers may keep them for a day.
APP_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=86400"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


def web_root() -> Path:
    return Path(str(resources.files("cryb_web")))


def install(app: web.Application) -> None:
    """Add the UI's routes; a node without web/ files (a stripped install) simply has no UI."""
    root = web_root()
    index = root / "index.html"
    if not index.is_file():
        return
    page = index.read_bytes()

    async def spa(request: web.Request) -> web.Response:
        return web.Response(
            body=page, content_type="text/html", charset="utf-8", headers={"Cache-Control": APP_CACHE}
        )

    async def asset(request: web.Request) -> web.StreamResponse:
        rel = request.match_info["path"]
        path = (root / rel).resolve()
        # Only files inside web/, never Python sources, and no dot-files.
        if (
            not path.is_relative_to(root.resolve())
            or not path.is_file()
            or (path.suffix not in _TYPES and path.suffix not in (".woff2", ".json", ".txt"))
            or any(part.startswith(".") for part in Path(rel).parts)
        ):
            raise web.HTTPNotFound()
        cache = VENDOR_CACHE if Path(rel).parts[0] == "vendor" else APP_CACHE
        headers = {"Cache-Control": cache}
        if path.suffix in _TYPES:
            headers["Content-Type"] = _TYPES[path.suffix]
        return web.FileResponse(path, headers=headers)

    worker = root / "sw.js"

    async def service_worker(request: web.Request) -> web.StreamResponse:
        # Served from / so its scope is the whole app; always revalidated so a release takes over.
        headers = {
            "Cache-Control": "no-cache",
            "Content-Type": "text/javascript",
            "Service-Worker-Allowed": "/",
        }
        return web.FileResponse(worker, headers=headers)

    for route in SPA_ROUTES:
        app.router.add_get(route, spa)
    if worker.is_file():
        app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/web/{path:.+}", asset)
