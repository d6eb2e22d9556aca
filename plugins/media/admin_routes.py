"""The node admin's media routes: list uploads, take them down, keep the block list. Parse, check
the caller is a node admin (re-read through the core's Audit service), hand to listing.py and
takedown.py, the same functions `cryb media ...` calls."""

from __future__ import annotations

import re
from collections.abc import Callable

from cryb_node.http.api import Api, Call
from cryb_node.http.middleware import client_address
from cryb_node.node import Node
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import AUDIT, Audit

from . import takedown
from .listing import list_media
from .schemas import (
    AdminMediaPage,
    AdminMediaQuery,
    BlockIn,
    BlocklistPage,
    BlocklistQuery,
    BlockOut,
    TakedownByHashIn,
    TakedownIn,
    TakedownOut,
)
from .service import MediaService

_SHA = re.compile(r"^[0-9a-f]{64}$")


async def require_admin(call: Call, node: Node) -> takedown.Actor:
    """Node admins only. The token's claim is checked first, then the account itself (a demotion
    or a disable applies at once); with no users plugin there are no admins."""
    if call.principal is None or not call.principal.admin:
        raise forbidden("node admins only")
    audit: Audit | None = node.services.get(AUDIT)
    if audit is None or not await audit.is_admin(call.user_id):
        raise forbidden("node admins only")
    return takedown.Actor(call.user_id, client_address(call.request, set(node.config.server.trusted_proxies)))


def admin_media_routes(api: Api, node: Node, media: Callable[[], MediaService]) -> None:
    @api.route("GET", "/api/v1/admin/media", query=AdminMediaQuery, response=AdminMediaPage, auth="required")
    async def admin_list_media(call: Call) -> AdminMediaPage:
        """Uploads, newest first: by user (`user_id`) or by bytes (`sha256`), with where each is
        attached and whether it was taken down (node admins)."""
        await require_admin(call, node)
        return await list_media(media(), call.query)

    @api.route(
        "POST", "/api/v1/admin/media/{media_id}/takedown", body=TakedownIn, response=TakedownOut,
        bucket="write", auth="required",
    )  # fmt: skip
    async def admin_take_down_media(call: Call) -> TakedownOut:
        """Take down an upload and every upload of the same bytes: served 404, refused to peers, its
        stored files deleted, and the bytes refused at upload from now on (node admins)."""
        actor = await require_admin(call, node)
        media_id = call.path("media_id")
        if len(media_id) > 64:
            raise not_found("media")
        return await takedown.take_down(media(), actor, call.body.reason, media_id=media_id)

    @api.route(
        "POST", "/api/v1/admin/media/takedown", body=TakedownByHashIn, response=TakedownOut,
        bucket="write", auth="required",
    )  # fmt: skip
    async def admin_take_down_bytes(call: Call) -> TakedownOut:
        """Take down every upload (and other nodes' media) with these bytes, and refuse them from now
        on; bytes not seen here are just blocked (node admins)."""
        actor = await require_admin(call, node)
        return await takedown.take_down(media(), actor, call.body.reason, sha256=call.body.sha256)

    @api.route(
        "GET", "/api/v1/admin/media/blocklist", query=BlocklistQuery, response=BlocklistPage, auth="required"
    )
    async def admin_media_blocklist(call: Call) -> BlocklistPage:
        """The sha256 block list, newest first (node admins)."""
        await require_admin(call, node)
        return await takedown.blocklist(media(), call.query.after, call.query.limit)

    @api.route(
        "POST", "/api/v1/admin/media/blocklist", body=BlockIn, response=BlockOut, status=201,
        bucket="write", auth="required",
    )  # fmt: skip
    async def admin_block_media(call: Call) -> BlockOut:
        """Refuse these bytes at upload and from peers; uploads that already have them are listed in
        `matches` and stay until taken down (node admins)."""
        actor = await require_admin(call, node)
        return await takedown.block(media(), actor, call.body.sha256, call.body.reason)

    @api.route(
        "DELETE", "/api/v1/admin/media/blocklist/{sha256}", status=204, bucket="write", auth="required"
    )
    async def admin_unblock_media(call: Call) -> None:
        """Accept these bytes again (taken-down media stays taken down; node admins)."""
        actor = await require_admin(call, node)
        sha = call.path("sha256")
        if not _SHA.match(sha):
            raise Problem("invalid_field", 400, "sha256 must be 64 lowercase hex digits", field="sha256")
        await takedown.unblock(media(), actor, sha)
