"""HTTP routes of saved items: /api/v1/saved (the caller's own list; nobody else's is reachable)."""

from __future__ import annotations

from collections.abc import Callable

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem

from .service import Saved, SavedList, SavedQuery, SavedState

ITEM = "/api/v1/saved/{target_type}/{target_id}"
TYPES = ("message", "post", "comment")


def routes(api: Api, node: Node, saved: Callable[[], Saved]) -> None:
    def target(call: Call) -> tuple[str, str]:
        kind = call.path("target_type")
        if kind not in TYPES:
            raise Problem("not_found", 404, "saved items are messages, posts or comments")
        return kind, call.path("target_id")

    @api.route("GET", "/api/v1/saved", query=SavedQuery, response=SavedList, auth="required")
    async def list_saved(call: Call) -> SavedList:
        """Your saved messages, posts and comments, newest first (those you can still read)."""
        return await saved().listing(call.user_id, call.query)

    @api.route("GET", ITEM, response=SavedState, auth="required")
    async def get_saved(call: Call) -> SavedState:
        """Whether you saved this message, post or comment."""
        return await saved().is_saved(call.user_id, *target(call))

    @api.route("PUT", ITEM, response=SavedState, auth="required", bucket="write")
    async def save(call: Call) -> SavedState:
        """Save a message, post or comment you can read (private: only you see your list)."""
        return await saved().save(call.user_id, *target(call))

    @api.route("DELETE", ITEM, response=SavedState, auth="required", bucket="write")
    async def unsave(call: Call) -> SavedState:
        """Remove it from your saved items."""
        return await saved().unsave(call.user_id, *target(call))
