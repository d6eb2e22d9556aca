"""HTTP: /.well-known/cryb-node (who we are) and /federation/v1/* (pinned peers only).

Every federation call is a msgpack POST signed by the caller's node key (auth.py); a missing or
bad signature is 401, a valid one from a key we have not pinned is 403, and both are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from cryb_node import __version__
from cryb_node.http.admin_routes import require_node_admin
from cryb_node.http.api import Api, Call
from cryb_node.problems import Problem

from . import auth, bans, engine, homes, ingest, peers, policy, reconcile, statehash, vectors
from .parts import SYNC, Sync
from .status import PeersReport, peer_status
from .transport import CONTENT_TYPE, PREFIX
from .wire import (
    DMS_SCOPE,
    USERS_SCOPE,
    Batch,
    FetchRequest,
    Hello,
    HelloReply,
    NodeCard,
    Notify,
    PullRequest,
    PushReply,
    ReconcileReply,
    ReconcileRequest,
    StateRequest,
    UserHome,
    encode,
)

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger("cryb.sync")
Handler = Callable[[peers.Peer, bytes], Awaitable[Any]]


def routes(api: Api, node: Node) -> None:
    def sync() -> Sync:
        return node.services.require(SYNC)

    @api.route(
        "GET",
        peers.WELL_KNOWN,
        response=NodeCard,
        bucket=None,
        auth="none",
        summary="This node's identity key, certified log keys, base URL and version (for peers)",
    )
    async def well_known(call: Call) -> NodeCard:
        return NodeCard(
            node_key=node.identity.node_public.hex(),
            log_keys=await peers.certified_log_keys(node.db, node.identity.node_public),
            base_url=node.config.base_url,
            name=node.config.node.name,
            version=__version__,
            protocols=["cryb-federation/1"],
        )

    @api.route(
        "GET",
        "/api/v1/users/{user_id}/home",
        response=UserHome,
        auth="optional",
        summary="The node an account is homed on; after a move, the forwarding record's new home",
    )
    async def user_home(call: Call) -> UserHome:
        home = await homes.user_home(node, call.path("user_id"))
        if home is None:
            raise Problem("not_found", 404, "no such user")
        return home

    @api.route(
        "GET", "/api/v1/admin/peers", response=PeersReport, auth="required",
        summary="Pinned peers and their sync state: last sync, lag, breaker, last error (node admins)",
    )  # fmt: skip
    async def admin_peers(call: Call) -> PeersReport:
        require_node_admin(call)
        return PeersReport(peers=await peer_status(node, sync().engine), live=node.serving)

    def federation(name: str, summary: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            @api.route(
                "POST", f"{PREFIX}/{name}", bucket=None, auth="none", summary=summary, produces=CONTENT_TYPE
            )
            async def endpoint(call: Call) -> web.Response:
                request = call.request
                body = await request.read()
                peer, sig = await authenticate(node, sync(), request, body)
                try:
                    result = await handler(peer, body)
                except msgspec.DecodeError as err:
                    raise Problem("invalid_body", 400, f"not a valid {name} request: {err}") from None
                data = encode(result)
                return web.Response(
                    body=data,
                    content_type=CONTENT_TYPE,
                    headers={auth.REPLY_HEADER: auth.sign_reply(node.identity.node_key, sig, data)},
                )

            endpoint.__name__ = f"federation_{name}"
            return handler

        return register

    @federation("hello", "Followed communities and version vectors (start of a session)")
    async def hello(peer: peers.Peer, body: bytes) -> HelloReply:
        req = msgspec.msgpack.decode(body, type=Hello)
        mine = await vectors.follows(node.db)
        base = {USERS_SCOPE, DMS_SCOPE, *mine}
        scopes = base | set(req.follows) if sync().settings.follow_peers else base
        return HelloReply(
            node_key=node.identity.node_public.hex(),
            follows=mine,
            vectors={s: await vectors.vector(node.db, s, node.identity.origin) for s in sorted(scopes)},
        )

    @federation("pull", "A batch of the scope's events the caller lacks (after its vector)")
    async def pull(peer: peers.Peer, body: bytes) -> Batch:
        req = msgspec.msgpack.decode(body, type=PullRequest)
        s = sync().settings
        return await vectors.build_batch(
            node.db,
            req.scope,
            await vectors.vector(node.db, req.scope, node.identity.origin),
            req.after,
            max_events=max(1, min(req.max_events, s.batch_events)),
            max_bytes=max(1024, min(req.max_bytes, s.frame_bytes)),
            withhold=await policy.withhold_for(node, peer.node_key, req.scope),
        )

    @federation("push", "Store a batch of events from the caller; answers our vector")
    async def push(peer: peers.Peer, body: bytes) -> PushReply:
        batch = msgspec.msgpack.decode(body, type=Batch)
        out = await ingest.receive(node, peer.node_key, batch)
        sync().count_rejections(peer.node_key, len(out.rejected))
        return PushReply(
            stored=out.stored,
            rejected=len(out.rejected),
            vector=await vectors.vector(node.db, batch.scope, node.identity.origin),
        )

    @federation("notify", "The caller has new events: pull from it soon")
    async def notify(peer: peers.Peer, body: bytes) -> Notify:
        msgspec.msgpack.decode(body, type=Notify)
        sync().engine.peer_news(peer.node_key)
        return Notify(scopes=[])

    @federation("events", "Events by id (what reconciliation found missing)")
    async def events(peer: peers.Peer, body: bytes) -> Batch:
        req = msgspec.msgpack.decode(body, type=FetchRequest)
        withhold = await policy.withhold_for(node, peer.node_key, req.scope)
        return await engine.events_by_id(node, req.scope, req.ids[:2000], withhold)

    @federation("reconcile", "Compare range fingerprints over the scope's (hlc, id) items")
    async def reconcile_(peer: peers.Peer, body: bytes) -> ReconcileReply:
        req = msgspec.msgpack.decode(body, type=ReconcileRequest)
        withhold = await policy.withhold_for(node, peer.node_key, req.scope)
        mine = reconcile.ItemSet(await reconcile.items(node.db, req.scope, withhold))
        return ReconcileReply(ranges=reconcile.answer(mine, req.ranges[:256]))

    @federation("state", "The state hash of a community as far as both nodes may hold it (cryb sync verify)")
    async def state(peer: peers.Peer, body: bytes) -> Any:
        req = msgspec.msgpack.decode(body, type=StateRequest | str)
        if isinstance(req, str):  # a caller that knows no entitlements: compare everything
            return await statehash.community_state(node, req)
        ent = await policy.entitlement(node, peer.node_key, req.community)
        return await statehash.community_state(
            node,
            req.community,
            exclude={*req.exclude, *await ent.unreadable_channels()},
            shared=req.shared and ent.whole,
            withhold=ent.withholds,
        )


async def authenticate(node: Node, sync: Sync, request: web.Request, body: bytes) -> tuple[peers.Peer, bytes]:
    header = request.headers.get(auth.HEADER)
    where = request.remote or "?"
    if not header:
        log.warning("federation call without a node signature from %s to %s", where, request.path)
        sync.refused += 1
        raise Problem("node_signature_required", 401, f"sign federation calls with the {auth.HEADER} header")
    try:
        caller, sig = sync.verifier.check(
            header, request.method, request.path, body, now_ms=node.clock.time_ms()
        )
    except auth.AuthError as err:
        log.warning("federation call refused from %s: %s", where, err)
        sync.refused += 1
        raise Problem("invalid_node_signature", 401, str(err)) from None
    if await bans.is_node_banned(node.db, caller):
        # Before the pin check: a banned node is also unpinned, and should learn which it is.
        log.warning(
            "federation call refused: node %s (from %s) is banned here", caller.hex(), where,
            extra={"fields": {"node_key": caller.hex(), "remote": where, "path": request.path}},
        )  # fmt: skip
        sync.refused += 1
        raise Problem("node_banned", 403, "this node has banned your node")
    peer = await peers.get(node.db, caller)
    if peer is None:
        log.warning(
            "federation call refused: node %s (from %s) is not a pinned peer", caller.hex(), where,
            extra={"fields": {"node_key": caller.hex(), "remote": where, "path": request.path}},
        )  # fmt: skip
        sync.refused += 1
        raise Problem("peer_not_pinned", 403, "this node has not pinned your node key (cryb peer add)")
    return peer, sig
