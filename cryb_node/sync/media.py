"""Remote media over the federation channel: POST /federation/v1/media hands a pinned peer one of
this node's own uploads (its description, and a variant's bytes when asked for), but only media
attached where the peer may read: the same rule that decides which events replicate to it
(policy.py: a channel readable by anyone, or by a member homed on the peer; a DM's media only to
the home of one of its participants). Unattached uploads are nobody's business but their owner's.

The other half, FederatedMedia, is the core's RemoteMedia service the media plugin calls to fetch
lazily; the answer is signed by the peer's pinned key, and the media plugin checks the bytes
against their content address before caching them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from cryb_node.http.api import Api, Call
from cryb_node.problems import Problem
from cryb_node.services import (
    MEDIA_SHARE,
    PERMISSIONS,
    FetchedMedia,
    RemoteMedia,
    RemoteMediaError,
)

from . import auth, peers, policy
from .parts import SYNC, Sync
from .routes import authenticate
from .transport import CONTENT_TYPE, PREFIX, PeerCallError, PeerClient
from .wire import DMS_SCOPE, encode

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger("cryb.sync")
MAX_VARIANT = 64


class MediaRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    media_id: str
    variant: str | None = None  # None: the description only


async def peer_may_see(node: Node, peer_key: bytes, channel_id: str) -> bool:
    """Would events of ``channel_id`` replicate to this peer? (policy.withhold_for decides.)"""
    perms = node.services.get(PERMISSIONS)
    access = await perms.channel(None, channel_id) if perms is not None else None
    scope = access.community_id if access is not None else DMS_SCOPE
    withhold = await policy.withhold_for(node, peer_key, scope)
    if withhold is None:
        return access is not None  # no permissions service: only known community channels
    return not await withhold(None, msgspec.msgpack.encode({"channel_id": channel_id}))


def media_routes(api: Api, node: Node) -> None:
    def sync() -> Sync:
        return node.services.require(SYNC)

    @api.route(
        "POST", f"{PREFIX}/media", bucket=None, auth="none", produces=CONTENT_TYPE,
        summary="One of this node's uploads (and a variant's bytes) for a peer allowed to see it",
    )  # fmt: skip
    async def federation_media(call: Call) -> web.Response:
        body = await call.request.read()
        peer, sig = await authenticate(node, sync(), call.request, body)
        try:
            req = msgspec.msgpack.decode(body, type=MediaRequest)
        except msgspec.DecodeError as err:
            raise Problem("invalid_body", 400, f"not a valid media request: {err}") from None
        share = node.services.get(MEDIA_SHARE)
        if share is None:
            raise Problem("unavailable", 503, "this node does not serve media")
        media = await share.shared(req.media_id[:64])
        if media is None:
            raise Problem("not_found", 404, "no such media here")
        allowed = media.attached and (
            media.channel_id is None or await peer_may_see(node, peer.node_key, media.channel_id)
        )
        if not allowed:
            log.warning(
                "federation media refused: %s is not shared with node %s", media.id, peer.node_key.hex()[:16]
            )
            raise Problem("forbidden", 403, "this media is not shared with your node")
        data = None
        if req.variant is not None:
            found = next((v for v in media.variants if v.name == req.variant[:MAX_VARIANT]), None)
            if found is None:
                raise Problem("not_found", 404, "no such variant")
            data = await share.blob_bytes(found.sha256)
        out = encode(FetchedMedia(media=media, variant=req.variant, data=data))
        return web.Response(
            body=out,
            content_type=CONTENT_TYPE,
            headers={auth.REPLY_HEADER: auth.sign_reply(node.identity.node_key, sig, out)},
        )


class FederatedMedia(RemoteMedia):
    def __init__(self, node: Node, sync: Sync) -> None:
        self.node = node
        self.sync = sync

    async def fetch(self, node_key: bytes, media_id: str, variant: str | None = None) -> FetchedMedia:
        peer = await peers.get(self.node.db, node_key)
        if peer is None:
            raise RemoteMediaError(f"node {node_key.hex()[:16]} is not a pinned peer")
        client = PeerClient(self.sync.engine.session_http, self.node.identity.node_key, peer, self.node.clock)
        try:
            got = await client.call("media", MediaRequest(media_id=media_id, variant=variant), FetchedMedia)
        except PeerCallError as err:
            raise RemoteMediaError(str(err), err.status) from None
        if got.media.id != media_id or got.variant != variant or (variant is not None and got.data is None):
            raise RemoteMediaError("the peer answered about something else")
        return got
