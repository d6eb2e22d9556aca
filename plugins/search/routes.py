"""HTTP routes: parse and authorise, then hand over to the service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.http.api import Api, Call
from cryb_node.problems import forbidden

from .schemas import ClickIn, SearchOut, SearchQuery, StatsOut

if TYPE_CHECKING:
    from cryb_node.node import Node

    from . import State


def search_routes(api: Api, node: Node, state: State) -> None:
    @api.route("GET", "/api/v1/search", query=SearchQuery, response=SearchOut, auth="required")
    async def search(call: Call) -> SearchOut:
        """Search messages, posts, comments, people and communities you can read (public communities
        included without joining).

        Operators: from:user mentions:user in:#channel community:name pinned:true|false
        has:link|file|image|video|audio|embed is:post|message|comment|user|community
        before:/after:/during:YYYY-MM-DD; "phrases", prefix*, wild?ards; any of them combined with
        AND, OR, NOT and parentheses. ``partial``: the index is still being built.
        """
        return await state.service.search(call.user_id, call.query)

    @api.route("POST", "/api/v1/search/clicks", body=ClickIn, status=204, bucket="write", auth="required")
    async def click(call: Call) -> None:
        """Report that a result of a search was opened (click-through analytics)."""
        await state.service.click(call.body)

    @api.route("GET", "/api/v1/search/stats", response=StatsOut, auth="required")
    async def stats(call: Call) -> StatsOut:
        """Index state and search analytics of the last 30 days (node admins)."""
        if call.principal is None or not call.principal.admin:
            raise forbidden("search stats are for node admins")
        return await state.service.stats()
