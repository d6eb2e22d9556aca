"""The gateway's wire protocol (documented in docs/gateway.md): ops, close codes, frames, Dispatch."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from cryb_node.events import Event
from cryb_node.services import Perm

PROTOCOL_VERSION = 1


class Close:
    """WebSocket close codes the gateway uses (4000-4999 are ours)."""

    UNKNOWN_ERROR = 4000
    UNKNOWN_OP = 4001
    DECODE_ERROR = 4002  # not JSON, or a frame that does not match its op's schema
    NOT_AUTHENTICATED = 4003  # a frame other than IDENTIFY/RESUME before READY, or no IDENTIFY in time
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    RATE_LIMITED = 4008
    SESSION_TIMED_OUT = 4009  # no heartbeat within the interval (zombie connection)
    FRAME_TOO_LARGE = 4010
    SLOW_CONSUMER = 4011  # the client stopped reading; resume to catch up
    SERVER_RESTART = 4012  # the node is shutting down; resume against it when it is back


# -- client -> server ---------------------------------------------------------------------------


class Identify(msgspec.Struct, tag="IDENTIFY", tag_field="op", forbid_unknown_fields=True):
    d: IdentifyData


Intent = Annotated[str, msgspec.Meta(pattern="^[A-Z][A-Z0-9_]{0,63}$")]


class IdentifyData(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    # The dispatch kinds this session wants (MESSAGE_CREATE, INTERACTION_CREATE, ...); None: all.
    # Bots name theirs so a busy community does not flood them (docs/gateway.md "Intents").
    intents: Annotated[list[Intent], msgspec.Meta(max_length=64)] | None = None


class Resume(msgspec.Struct, tag="RESUME", tag_field="op", forbid_unknown_fields=True):
    d: ResumeData


class ResumeData(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    session_id: str
    seq: int


class Heartbeat(msgspec.Struct, tag="HEARTBEAT", tag_field="op", forbid_unknown_fields=True):
    d: int | None = None  # the last seq the client has seen


class PresenceUpdate(msgspec.Struct, tag="PRESENCE_UPDATE", tag_field="op", forbid_unknown_fields=True):
    d: PresenceData


class PresenceData(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["online", "idle", "dnd", "invisible"]


class Typing(msgspec.Struct, tag="TYPING", tag_field="op", forbid_unknown_fields=True):
    d: TypingData


class TypingData(msgspec.Struct, forbid_unknown_fields=True):
    channel_id: str


ClientFrame = Identify | Resume | Heartbeat | PresenceUpdate | Typing
CLIENT_OPS = {"IDENTIFY", "RESUME", "HEARTBEAT", "PRESENCE_UPDATE", "TYPING"}
decode_client = msgspec.json.Decoder(ClientFrame).decode

# -- server -> client ---------------------------------------------------------------------------

_encode = msgspec.json.Encoder().encode


def text_frame(payload: bytes) -> bytes:
    """One unmasked, uncompressed WebSocket text frame (RFC 6455 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def frame(op: str, d: Any = None) -> bytes:
    return _encode({"op": op, "d": d})


class DispatchFrame:
    """A DISPATCH encoded once; each session only splices in its own sequence number."""

    __slots__ = ("_head", "name")

    def __init__(self, name: str, data: Any) -> None:
        self.name = name
        self._head = b'{"op":"DISPATCH","t":' + _encode(name) + b',"d":' + _encode(data) + b',"s":'

    def with_seq(self, seq: int) -> bytes:
        return self._head + str(seq).encode() + b"}"

    @property
    def size(self) -> int:
        """Bytes of one session's copy (near enough: the seq is at most a few digits)."""
        return len(self._head) + 8


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A realtime event and who may receive it.

    With ``channel_id`` the recipients are community members with ``perm`` in that channel; with only
    ``community_id``, members of the community; ``users`` restricts (or, alone, names) the audience.
    """

    name: str
    data: Any
    community_id: str | None = None
    channel_id: str | None = None
    perm: Perm = Perm.VIEW_CHANNEL
    users: frozenset[str] | None = None
    exclude_user: str | None = None
    # What each recipient receives when it depends on who they are (their permissions in a channel
    # that changed, or that it is hidden from them now): (name, data), or None to send nothing.
    # Used instead of ``name``/``data`` for every recipient that passes the audience check.
    each: Callable[[str], Awaitable[tuple[str, Any] | None]] | None = None
    # This user joined or left a community: their sessions' presence sharing is brought up to date
    # before the dispatch goes out (Hub.refresh_membership).
    membership_of: str | None = None


Dispatcher = Callable[[Event], "Dispatch | list[Dispatch] | None"]
