"""HTTP routes for a member's own data export: ask for one, follow its progress, download the ZIP."""

from __future__ import annotations

import time

from aiohttp import web

from cryb_node.http.api import Api, Call, json_response
from cryb_node.node import Node
from cryb_node.problems import Problem

from .exports import EXPORTER, Exporter, ExportStatus
from .routes import client_of
from .service import USERS


def exporter_of(node: Node) -> Exporter:
    exporter = node.services.get(EXPORTER)
    if exporter is None:
        raise Problem("unavailable", 503, "exports are prepared only while the node serves")
    return exporter


def export_routes(api: Api, node: Node) -> None:
    @api.route("POST", "/api/v1/users/@me/export", response=ExportStatus, status=202, bucket="write",
               auth="required")  # fmt: skip
    async def start_export(call: Call) -> web.Response:
        """Ask for a ZIP of everything you wrote and uploaded (prepared in the background); while
        one is being prepared, that one is returned (200) instead of a new one (202)."""
        status, created = await exporter_of(node).request(call.user_id, client_of(call, node))
        return json_response(status, 202 if created else 200)

    @api.route("GET", "/api/v1/users/@me/export", response=ExportStatus, auth="required")
    async def export_status(call: Call) -> ExportStatus:
        """Your latest export: its state, progress, and once ready its download URL and expiry."""
        return await exporter_of(node).latest(call.user_id)

    @api.route("GET", "/api/v1/users/@me/export/{export_id}/download", produces="application/zip",
               auth="required")  # fmt: skip
    async def download_export(call: Call) -> web.FileResponse:
        """The ZIP of a ready export: only for the member it belongs to (404 for anyone else)."""
        users = node.services.require(USERS)
        path = await exporter_of(node).file(call.user_id, call.path("export_id"), client_of(call, node))
        me = await users.me(call.user_id)
        day = time.strftime("%Y-%m-%d", time.gmtime(node.clock.time()))
        return web.FileResponse(
            path,
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="cryb-{me.username}-{day}.zip"',
                "Cache-Control": "no-store",
            },
        )
