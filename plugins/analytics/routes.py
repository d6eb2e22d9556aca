"""Analytics over HTTP: the client batch endpoint, opt-out, and reports (JSON and CSV) for node
admins (the whole node) and for those who manage a community (theirs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from cryb_node.http.api import Api, Call

from . import report
from .schemas import (
    AnalyticsExport,
    AnalyticsRange,
    AnalyticsReport,
    ClientBatch,
    EventsAccepted,
    OptOutState,
    Table,
)
from .service import ANALYTICS, AnalyticsService

if TYPE_CHECKING:
    from cryb_node.node import Node

A = "/api/v1/analytics"
C = "/api/v1/communities/{community_id}/analytics"


def _no_tracking(request: web.Request) -> bool:
    # Do-Not-Track and Global Privacy Control are honoured like an opt-out.
    return request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"


def analytics_routes(api: Api, node: Node) -> None:
    def svc() -> AnalyticsService:
        return node.services.require(ANALYTICS)

    @api.route("POST", f"{A}/events", body=ClientBatch, response=EventsAccepted, status=202,
               bucket="analytics", auth="optional", summary="Record page views and UI actions")  # fmt: skip
    async def client_events(call: Call) -> EventsAccepted:
        if _no_tracking(call.request):
            return EventsAccepted(accepted=0)
        user = call.principal.user_id if call.principal else None
        return EventsAccepted(accepted=await svc().record_client(user, call.body.events))

    @api.route("GET", f"{A}/opt-out", response=OptOutState, auth="required", summary="Whether you opted out")
    async def get_optout(call: Call) -> OptOutState:
        return OptOutState(opted_out=await svc().opted_out(call.user_id))

    @api.route("PUT", f"{A}/opt-out", response=OptOutState, bucket="write", auth="required",
               summary="Opt out of analytics (your retained rows are deleted)")  # fmt: skip
    async def opt_out(call: Call) -> OptOutState:
        await svc().set_optout(call.user_id, True)
        return OptOutState(opted_out=True)

    @api.route("DELETE", f"{A}/opt-out", response=OptOutState, bucket="write", auth="required",
               summary="Opt back in to analytics")  # fmt: skip
    async def opt_in(call: Call) -> OptOutState:
        await svc().set_optout(call.user_id, False)
        return OptOutState(opted_out=False)

    async def read(call: Call, community_id: str | None) -> AnalyticsReport:
        await svc().authorize(call.principal, community_id)
        since, to = svc().range(call.query.since, call.query.to)
        s = svc().settings
        return await report.build(node.db, community_id or "", since, to, s.top_n, s.cohort_weeks)

    def csv_response(rep: AnalyticsReport, table: Table, scope: str) -> web.Response:
        resp = web.Response(text=report.to_csv(rep, table), content_type="text/csv", charset="utf-8")
        name = f"cryb-analytics-{scope}-{table}-{rep.since}-{rep.to}.csv"
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp

    @api.route("GET", f"{A}/node", query=AnalyticsRange, response=AnalyticsReport, auth="required",
               summary="Engagement figures of the whole node (node admins)")  # fmt: skip
    async def node_report(call: Call) -> AnalyticsReport:
        return await read(call, None)

    @api.route("GET", f"{A}/node/export", query=AnalyticsExport, auth="required", produces="text/csv",
               summary="One table of the node's figures as CSV (node admins)")  # fmt: skip
    async def node_export(call: Call) -> web.Response:
        return csv_response(await read(call, None), call.query.table, "node")

    @api.route("GET", C, query=AnalyticsRange, response=AnalyticsReport, auth="required",
               summary="Engagement figures of one community (its managers and node admins)")  # fmt: skip
    async def community_report(call: Call) -> AnalyticsReport:
        return await read(call, call.path("community_id"))

    @api.route("GET", f"{C}/export", query=AnalyticsExport, auth="required", produces="text/csv",
               summary="One table of a community's figures as CSV")  # fmt: skip
    async def community_export(call: Call) -> web.Response:
        cid = call.path("community_id")
        return csv_response(await read(call, cid), call.query.table, cid)
