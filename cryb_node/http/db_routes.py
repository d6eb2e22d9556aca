"""The admin data console's routes (node admins): list tables, run a read-only query, export a table or
a query's rows as CSV or JSON. The rules live in cryb_node/dataconsole.py, shared with `cryb db`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from cryb_node.dataconsole import DataConsole, ExportQuery, QueryIn, QueryResult, Tables
from cryb_node.http.admin_routes import require_current_admin
from cryb_node.http.api import Api, Call
from cryb_node.http.middleware import client_address
from cryb_node.problems import Problem

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)
D = "/api/v1/admin/db"


def db_routes(api: Api, node: Node) -> None:
    console = DataConsole(node)

    def ip(call: Call) -> str:
        return client_address(call.request, set(node.config.server.trusted_proxies))

    @api.route("GET", f"{D}/tables", response=Tables, auth="required",
               summary="Every table and view with its columns and row count (node admins)")  # fmt: skip
    async def db_tables(call: Call) -> Tables:
        await require_current_admin(call, node)
        return await console.tables()

    @api.route("POST", f"{D}/query", body=QueryIn, response=QueryResult, auth="required",
               summary="One read-only SQL statement, row limit and time budget (node admins)")  # fmt: skip
    async def db_query(call: Call) -> QueryResult:
        admin = await require_current_admin(call, node)
        return await console.query(call.body.sql, call.body.limit, actor_id=admin, ip=ip(call))

    @api.route("GET", f"{D}/export", query=ExportQuery, auth="required", produces="text/csv",
               summary="A table or a query's rows as a CSV or JSON file (node admins)")  # fmt: skip
    async def db_export(call: Call) -> web.StreamResponse:
        admin = await require_current_admin(call, node)
        q = call.query
        export = await console.export(table=q.table, sql=q.sql, fmt=q.format, actor_id=admin, ip=ip(call))
        try:
            resp = web.StreamResponse(
                headers={
                    "Content-Type": export.content_type,
                    "Content-Disposition": f'attachment; filename="{export.filename}"',
                    "X-Cryb-Row-Cap": str(export.rows_cap),
                    "Cache-Control": "no-store",
                }
            )
            await resp.prepare(call.request)
            try:
                async for chunk in export:
                    await resp.write(chunk)
            except Problem as problem:
                # The headers are gone: cut the connection, so the download fails instead of
                # leaving a file that looks whole.
                log.warning("export stopped: %s", problem.code)
                await export.close(problem.code)
                if call.request.transport is not None:
                    call.request.transport.close()
                return resp
            await resp.write_eof()
            return resp
        finally:
            await export.close()
