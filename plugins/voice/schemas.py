"""Request, response and gateway-frame types of the voice plugin (docs/voice.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .events import Reason

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class VoiceStateOut(msgspec.Struct, kw_only=True):
    """Who is in which voice channel, and how (sent in READY, VOICE_STATE_UPDATE and over HTTP)."""

    user_id: str
    community_id: str
    channel_id: str | None  # None: the member left
    self_mute: bool = False
    self_deaf: bool = False
    mute: bool = False  # server mute (MUTE_MEMBERS)
    deaf: bool = False  # server deafen (DEAFEN_MEMBERS)
    suppress: bool = False  # no SPEAK in this channel
    speaking: bool = False
    video: bool = False
    screen: bool = False


class IceServer(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RTCIceServer for the browser's RTCPeerConnection."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class VoiceChannelOut(msgspec.Struct, kw_only=True):
    channel_id: str
    community_id: str
    mode: str
    user_limit: int
    max_participants: int
    states: list[VoiceStateOut]
    ice_servers: list[IceServer]
    ice_expires_at: int | None = None  # when the TURN credential stops working (s since the epoch)


class VoiceChannelSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user_limit: Annotated[int, msgspec.Meta(ge=0, le=99)] = 0  # 0: no limit


class VoiceMemberPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Moderate a member in this voice channel: server mute/deafen, or move them to ``channel_id``."""

    mute: bool | None = None
    deaf: bool | None = None
    channel_id: Id | None = None
    reason: Reason = ""


class VoiceDisconnect(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason = ""


# -- gateway ops (client -> node) ---------------------------------------------------------------


class JoinData(msgspec.Struct, forbid_unknown_fields=True):
    channel_id: Id
    self_mute: bool = False
    self_deaf: bool = False


class LeaveData(msgspec.Struct, forbid_unknown_fields=True):
    pass


class IceCandidate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An RTCIceCandidateInit as the browser gives it."""

    candidate: Annotated[str, msgspec.Meta(max_length=1024)]
    sdpMid: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, msgspec.Meta(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class SignalData(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An offer, answer or ICE candidate for one peer in the same voice channel."""

    channel_id: Id
    to: Id  # the peer's user id
    kind: Literal["offer", "answer", "candidate"]
    sdp: Annotated[str, msgspec.Meta(max_length=65536)] | None = None
    candidate: IceCandidate | None = None


class StateData(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The member's own switches (None: unchanged)."""

    self_mute: bool | None = None
    self_deaf: bool | None = None
    speaking: bool | None = None
    video: bool | None = None
    screen: bool | None = None
