"""Who is in which voice channel on this node, and the rules for joining, signalling and switching.

Voice state lives in memory only while a member's gateway socket does (like Discord): a member is
in at most one voice channel, through one gateway session, and every op is authorised against the
channel's permissions at that moment. State changes go out as VOICE_STATE_UPDATE to everyone who
may view the channel; signalling (offer/answer/candidate) goes only to the named peer's session.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from cryb_node.problems import Problem
from cryb_node.realtime.protocol import Dispatch, DispatchFrame
from cryb_node.services import PERMISSIONS, ChannelAccess, Perm

from . import queries
from . import schemas as s
from .janus import Janus, JanusError, JanusProxy
from .settings import VoiceSettings, turn_credential

if TYPE_CHECKING:
    from cryb_node.node import Node
    from cryb_node.realtime.hub import Session

log = logging.getLogger(__name__)


@dataclass(slots=True)
class VoiceState:
    user_id: str
    session: Session
    community_id: str
    channel_id: str
    self_mute: bool = False
    self_deaf: bool = False
    mute: bool = False
    deaf: bool = False
    suppress: bool = False
    speaking: bool = False
    video: bool = False
    screen: bool = False
    token: str | None = None  # sfu: the Janus room token this member joined with

    def out(self, channel_id: str | None = "") -> s.VoiceStateOut:
        return s.VoiceStateOut(
            user_id=self.user_id, community_id=self.community_id,
            channel_id=self.channel_id if channel_id == "" else channel_id,
            self_mute=self.self_mute, self_deaf=self.self_deaf, mute=self.mute, deaf=self.deaf,
            suppress=self.suppress, speaking=self.speaking, video=self.video, screen=self.screen,
        )  # fmt: skip


class Rooms:
    def __init__(self, node: Node, settings: VoiceSettings) -> None:
        self.node = node
        self.settings = settings
        self.by_user: dict[str, VoiceState] = {}
        self.by_channel: dict[str, dict[str, VoiceState]] = {}
        self.lock = asyncio.Lock()
        self.janus: Janus | None = None  # sfu mode (set in the plugin's lifespan)
        self.proxy: JanusProxy | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- reading --------------------------------------------------------------------------------

    def in_channel(self, channel_id: str) -> list[VoiceState]:
        return sorted(self.by_channel.get(channel_id, {}).values(), key=lambda v: v.user_id)

    def communities(self) -> set[str]:
        return {v.community_id for v in self.by_user.values()}

    async def access(self, user_id: str, channel_id: str, need: Perm = Perm.CONNECT) -> ChannelAccess:
        """The member's access to a voice channel, or the Problem saying why they have none."""
        access = await self.node.services.require(PERMISSIONS).channel(user_id, channel_id)
        if access is None or not access.has(Perm.VIEW_CHANNEL):
            raise Problem("not_found", 404, "channel not found")
        if access.kind != "voice":
            raise Problem("wrong_channel_kind", 400, f"a {access.kind} channel has no voice")
        if not access.member:
            raise Problem("missing_permission", 403, "only members join voice channels")
        if not access.has(need):
            raise Problem("missing_permission", 403, f"this needs {need.name} in the channel")
        return access

    async def user_limit(self, channel_id: str) -> int:
        return await queries.user_limit(self.node.db, channel_id)

    async def server_state(self, community_id: str, user_id: str) -> tuple[bool, bool]:
        return await queries.server_state(self.node.db, community_id, user_id)

    def ice_servers(self, user_id: str) -> tuple[list[s.IceServer], int | None]:
        cfg = self.settings
        servers = [s.IceServer(urls=list(cfg.stun_urls))] if cfg.stun_urls else []
        expires = None
        if cfg.turn_urls and cfg.turn_secret:
            cred = turn_credential(cfg.turn_secret, user_id, self.node.clock.time(), cfg.turn_ttl_s)
            servers.append(
                s.IceServer(urls=list(cfg.turn_urls), username=cred.username, credential=cred.credential)
            )
            expires = cred.expires_at
        return servers, expires

    async def channel_out(self, user_id: str, channel_id: str) -> s.VoiceChannelOut:
        """What a member needs to connect: who is there and the ICE servers (CONNECT required)."""
        access = await self.access(user_id, channel_id)
        servers, expires = self.ice_servers(user_id)
        return s.VoiceChannelOut(
            channel_id=channel_id, community_id=access.community_id, mode=self.settings.mode,
            user_limit=await self.user_limit(channel_id), max_participants=self.settings.max_participants,
            states=[v.out() for v in self.in_channel(channel_id)], ice_servers=servers,
            ice_expires_at=expires,
        )  # fmt: skip

    # -- telling ------------------------------------------------------------------------------

    def _publish(self, v: VoiceState, channel_id: str | None = "") -> None:
        """VOICE_STATE_UPDATE to everyone who may view the channel (the old one, after a leave)."""
        where = v.channel_id if channel_id in ("", None) else channel_id
        data = msgspec.to_builtins(v.out(channel_id))
        self.node.realtime.publish(
            Dispatch("VOICE_STATE_UPDATE", data, community_id=v.community_id, channel_id=where)
        )

    @staticmethod
    def tell(session: Session, name: str, data: Any) -> None:
        session.dispatch(DispatchFrame(name, data))

    # -- the member's own ops -----------------------------------------------------------------

    async def join(self, session: Session, d: s.JoinData, *, moved_by: str | None = None) -> VoiceState:
        user_id = session.user_id
        access = await self.access(user_id, d.channel_id)
        async with self.lock:
            here = self.by_channel.get(d.channel_id, {})
            current = self.by_user.get(user_id)
            if current is not None and current.channel_id == d.channel_id and current.session is session:
                return current
            others = len([u for u in here if u != user_id])
            if moved_by is None and not access.has(Perm.MOVE_MEMBERS):
                limit = await self.user_limit(d.channel_id)
                if (limit and others >= limit) or others >= self.settings.max_participants:
                    raise Problem("voice_channel_full", 403, "the voice channel is full")
            mute, deaf = await self.server_state(access.community_id, user_id)
            if current is not None:
                self._remove(current, "moved" if moved_by else "switched")
            v = VoiceState(
                user_id, session, access.community_id, d.channel_id, self_mute=d.self_mute,
                self_deaf=d.self_deaf, mute=mute, deaf=deaf, suppress=not access.has(Perm.SPEAK),
            )  # fmt: skip
            self.by_user[user_id] = v
            self.by_channel.setdefault(d.channel_id, {})[user_id] = v
        servers, expires = self.ice_servers(user_id)
        sfu = None
        if self.janus is not None:
            try:
                room, v.token = await self.janus.admit(d.channel_id, self.settings.max_participants)
            except (JanusError, aiohttp.ClientError, TimeoutError) as err:
                log.warning("voice: the SFU refused a join: %s", err)
                await self.leave(user_id, "sfu_unavailable", session)
                raise Problem("voice_sfu_unavailable", 503, "the media server is not reachable") from None
            sfu = {"url": "/api/v1/voice/janus", "room": room, "token": v.token}
        ready = {
            "channel_id": d.channel_id, "community_id": access.community_id, "mode": self.settings.mode,
            "ice_servers": msgspec.to_builtins(servers), "ice_expires_at": expires,
            "states": [msgspec.to_builtins(x.out()) for x in self.in_channel(d.channel_id)],
            "moved_by": moved_by, "sfu": sfu,
        }  # fmt: skip
        self.tell(session, "VOICE_READY", ready)
        self._publish(v)
        return v

    def _remove(self, v: VoiceState, reason: str) -> None:
        """Take a member out of their channel (under the lock) and tell the channel and them."""
        if self.by_user.get(v.user_id) is v:
            del self.by_user[v.user_id]
        room = self.by_channel.get(v.channel_id)
        if room is not None and room.get(v.user_id) is v:
            del room[v.user_id]
            if not room:
                del self.by_channel[v.channel_id]
        self._publish(v, None)
        if self.janus is not None:
            task = asyncio.get_running_loop().create_task(self._evict(v))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Said to the member's session directly: after a ban they can no longer view the channel.
        self.tell(v.session, "VOICE_DISCONNECT", {"channel_id": v.channel_id, "reason": reason})

    async def _evict(self, v: VoiceState) -> None:
        assert self.janus is not None
        try:
            if self.proxy is not None:
                await self.proxy.end(v.user_id)
            await self.janus.evict(v.channel_id, v.user_id, v.token)
        except Exception:
            log.exception("voice: could not remove %s from the SFU room", v.user_id)

    async def leave(self, user_id: str, reason: str = "left", session: Session | None = None) -> bool:
        async with self.lock:
            v = self.by_user.get(user_id)
            if v is None or (session is not None and v.session is not session):
                return False
            self._remove(v, reason)
            return True

    async def signal(self, session: Session, d: s.SignalData) -> None:
        """Relay an offer/answer/candidate to the named peer, when both are in this channel now."""
        me = self._mine(session, d.channel_id)
        await self.access(session.user_id, d.channel_id)  # CONNECT now, not only when they joined
        peer = self.by_channel.get(d.channel_id, {}).get(d.to)
        if peer is None or peer.user_id == session.user_id:
            raise Problem("not_in_voice", 404, "that member is not in this voice channel")
        if (d.kind == "candidate" and d.candidate is None) or (d.kind != "candidate" and not d.sdp):
            raise Problem(
                "invalid_field", 400, f"a {d.kind} carries {'candidate' if d.kind == 'candidate' else 'sdp'}"
            )
        data = {"channel_id": d.channel_id, "from": me.user_id, "kind": d.kind}
        if d.sdp is not None:
            data["sdp"] = d.sdp
        if d.candidate is not None:
            data["candidate"] = msgspec.to_builtins(d.candidate)
        self.tell(peer.session, "VOICE_SIGNAL", data)

    async def update(self, session: Session, d: s.StateData) -> None:
        v = self._mine(session, None)
        access = await self.access(session.user_id, v.channel_id)
        if (d.video or d.screen) and not access.has(Perm.VIDEO):
            raise Problem("missing_permission", 403, "this needs VIDEO in the channel")
        v.suppress = not access.has(Perm.SPEAK)
        self_mute = v.self_mute if d.self_mute is None else d.self_mute
        if d.speaking and (v.suppress or v.mute or self_mute):
            raise Problem("voice_muted", 403, "a muted member does not speak")
        for field in ("self_mute", "self_deaf", "speaking", "video", "screen"):
            value = getattr(d, field)
            if value is not None:
                setattr(v, field, value)
        if v.self_mute:
            v.speaking = False
        self._publish(v)

    def _mine(self, session: Session, channel_id: str | None) -> VoiceState:
        v = self.by_user.get(session.user_id)
        if v is None or v.session is not session or (channel_id is not None and v.channel_id != channel_id):
            raise Problem("not_in_voice", 409, "join the voice channel first")
        return v

    # -- moderation and permission changes (live effects) -------------------------------------

    async def apply_server(
        self, community_id: str, user_id: str, mute: bool | None, deaf: bool | None
    ) -> None:
        v = self.by_user.get(user_id)
        if v is None or v.community_id != community_id:
            return
        if mute is not None:
            v.mute = mute
        if deaf is not None:
            v.deaf = deaf
        if v.mute:
            v.speaking = False
        self._publish(v)

    async def move(self, community_id: str, user_id: str, to: str | None, by: str | None) -> None:
        v = self.by_user.get(user_id)
        if v is None or v.community_id != community_id:
            return
        if to is None:
            await self.leave(user_id, "disconnected")
            return
        try:
            await self.join(v.session, s.JoinData(to, v.self_mute, v.self_deaf), moved_by=by or "")
        except Problem as err:  # the member may not be in the destination: out of the call
            log.info("voice move refused: %s", err.detail)
            await self.leave(user_id, "disconnected")

    async def recheck(self, community_id: str) -> None:
        """The community's roles, overwrites or members changed: whoever lost CONNECT (a ban, a kick, a
        role or overwrite change, the channel deleted) is out of the call at once."""
        perms = self.node.services.require(PERMISSIONS)
        for v in [v for v in self.by_user.values() if v.community_id == community_id]:
            access = await perms.channel(v.user_id, v.channel_id)
            if (
                access is None
                or not access.member
                or access.kind != "voice"
                or not access.has(Perm.VIEW_CHANNEL)
                or not access.has(Perm.CONNECT)
            ):
                await self.leave(v.user_id, "permission")
                continue
            changed = False
            if not access.has(Perm.VIDEO) and (v.video or v.screen):
                v.video = v.screen = False
                changed = True
            if v.suppress != (not access.has(Perm.SPEAK)):
                v.suppress = not access.has(Perm.SPEAK)
                v.speaking = v.speaking and not v.suppress
                changed = True
            if changed:
                self._publish(v)

    async def visible_states(self, user_id: str) -> list[s.VoiceStateOut]:
        """READY: the voice states in every channel the user may view."""
        if not self.by_user:
            return []
        perms = self.node.services.require(PERMISSIONS)
        seen = {c.channel_id for c in await perms.visible_channels(user_id)}
        return [v.out() for ch, room in self.by_channel.items() if ch in seen for v in room.values()]
