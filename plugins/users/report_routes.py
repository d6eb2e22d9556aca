"""HTTP routes of the node admins' reports queue: members file reports, node admins work through them."""

from __future__ import annotations

from cryb_node.http.api import Api, Call
from cryb_node.node import Node

from . import reports as r
from .admin_routes import require_admin
from .routes import client_of
from .service import USERS


def report_routes(api: Api, node: Node) -> None:
    @api.route("POST", "/api/v1/reports", body=r.NodeReportIn, response=r.NodeReportFiled, status=201,
               bucket="reports", auth="required")  # fmt: skip
    async def file_report(call: Call) -> r.NodeReportFiled:
        """Report a direct message, a profile, a community, or a community's content to the node admins."""
        return await r.file_report(node.services.require(USERS), call.user_id, call.body)

    @api.route(
        "GET", "/api/v1/admin/reports", query=r.NodeReportQuery, response=r.NodeReportPage, auth="required"
    )
    async def list_reports(call: Call) -> r.NodeReportPage:
        """The node's reports queue, oldest first (node admins)."""
        await require_admin(call, node)
        return await r.list_reports(node.services.require(USERS), call.query)

    @api.route("PATCH", "/api/v1/admin/reports/{report_id}", body=r.NodeReportDecision, response=r.NodeReport,
               auth="required")  # fmt: skip
    async def decide_report(call: Call) -> r.NodeReport:
        """Resolve or dismiss an open report, with a note of what was done (node admins)."""
        admin_id = await require_admin(call, node)
        return await r.decide(
            node.services.require(USERS),
            call.path("report_id"),
            call.body,
            client_of(call, node),
            actor_id=admin_id,
        )
