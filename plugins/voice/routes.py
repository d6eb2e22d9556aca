"""HTTP routes of voice channels: what a member needs to connect (CONNECT), the channel's user limit
(MANAGE_CHANNELS) and moderation of members in the call (docs/voice.md)."""

from __future__ import annotations

from aiohttp import web

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem
from cryb_node.services import Perm

from . import moderation, queries
from . import schemas as s
from .parts import rooms_of

V = "/api/v1/channels/{channel_id}/voice"


def routes(api: Api, node: Node) -> None:
    @api.route("GET", V, response=s.VoiceChannelOut, auth="required")
    async def voice_channel(call: Call) -> s.VoiceChannelOut:
        """Who is in a voice channel, and the ICE servers (with a time-limited TURN credential) to
        connect with: for members holding CONNECT there."""
        return await rooms_of(node).channel_out(call.user_id, call.path("channel_id"))

    @api.route("PUT", V, body=s.VoiceChannelSettings, response=s.VoiceChannelSettings, auth="required",
               bucket="write")  # fmt: skip
    async def set_voice_channel(call: Call) -> s.VoiceChannelSettings:
        """Set a voice channel's user limit (MANAGE_CHANNELS; 0: none). Members holding MOVE_MEMBERS
        join a full channel all the same."""
        rooms, channel_id = rooms_of(node), call.path("channel_id")
        access = await rooms.access(call.user_id, channel_id, Perm.VIEW_CHANNEL)
        if not access.has(Perm.MANAGE_CHANNELS):
            raise Problem("missing_permission", 403, "this needs MANAGE_CHANNELS in the channel")
        limit = call.body.user_limit
        await node.db.write(lambda conn: queries.set_user_limit(conn, channel_id, limit))
        return s.VoiceChannelSettings(user_limit=limit)

    @api.route("PATCH", V + "/members/{user_id}", body=s.VoiceMemberPatch, auth="required", bucket="write")
    async def moderate_member(call: Call) -> None:
        """Server-mute (MUTE_MEMBERS), server-deafen (DEAFEN_MEMBERS) or move (MOVE_MEMBERS) a member of
        this voice channel; each is an event in the mod log."""
        await moderation.moderate(
            node, rooms_of(node), call.user_id, call.path("channel_id"), call.path("user_id"), call.body
        )

    @api.route("DELETE", V + "/members/{user_id}", body=s.VoiceDisconnect, auth="required", bucket="write")
    async def disconnect_member(call: Call) -> None:
        """Disconnect a member from this voice channel (MOVE_MEMBERS); in the mod log."""
        reason = call.body.reason if call.body is not None else ""
        await moderation.disconnect(
            node, rooms_of(node), call.user_id, call.path("channel_id"), call.path("user_id"), reason
        )

    async def janus(call: Call) -> web.Response:
        """sfu mode: a member's calls to Janus's HTTP API, through the node (their own sessions only)."""
        proxy = rooms_of(node).proxy
        if proxy is None:
            raise Problem("not_found", 404, "this node's voice channels do not use an SFU")
        info = call.request.match_info
        tail = [info[k] for k in ("session", "handle") if k in info]
        if not all(part.isdigit() for part in tail):
            raise Problem("not_found", 404, "no such session")
        body = await call.request.json() if call.request.method == "POST" else None
        if body is not None and not isinstance(body, dict):
            raise Problem("invalid_body", 400, "a JSON object")
        status, data = await proxy.forward(call.user_id, tail, body)
        return web.Response(status=status, body=data, content_type="application/json")

    j = "/api/v1/voice/janus"

    @api.route("POST", j, auth="required", bucket=None)
    async def janus_create(call: Call) -> web.Response:
        """sfu mode: open a Janus session (the member's own) through the node."""
        return await janus(call)

    @api.route("POST", j + "/{session}", auth="required", bucket=None)
    async def janus_session(call: Call) -> web.Response:
        """sfu mode: attach to VideoRoom, keep alive or destroy one of the member's Janus sessions."""
        return await janus(call)

    @api.route("POST", j + "/{session}/{handle}", auth="required", bucket=None)
    async def janus_handle(call: Call) -> web.Response:
        """sfu mode: a participant's VideoRoom request or ICE candidate on one of their handles."""
        return await janus(call)

    @api.route("GET", j + "/{session}", auth="required", bucket=None)
    async def janus_events(call: Call) -> web.Response:
        """sfu mode: long-poll the events of one of the member's Janus sessions."""
        return await janus(call)
