"""``[plugin.voice]`` settings and the TURN credentials the node hands out (coturn's REST API
shared-secret scheme: ``use-auth-secret`` with the same ``static-auth-secret``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Literal

import msgspec

StunUrl = Annotated[str, msgspec.Meta(pattern=r"^stuns?:[^\s]+$", max_length=300)]
TurnUrl = Annotated[str, msgspec.Meta(pattern=r"^turns?:[^\s]+$", max_length=300)]


class VoiceSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # mesh: browsers send media to each other directly (with STUN/TURN for the way through NATs).
    # sfu: each browser sends its media once to Debian's Janus (VideoRoom), which forwards it.
    mode: Literal["mesh", "sfu"] = "mesh"
    stun_urls: list[StunUrl] = []
    turn_urls: list[TurnUrl] = []
    # coturn's static-auth-secret: credentials are HMACs of it, valid until the time they name.
    turn_secret: str = ""
    turn_ttl_s: Annotated[int, msgspec.Meta(ge=1, le=7 * 86400)] = 3600
    # A mesh call costs every participant an upload per peer: past a handful it stops working.
    max_participants: Annotated[int, msgspec.Meta(ge=2, le=100)] = 6
    # sfu mode: Janus's HTTP API as the node reaches it (browsers reach it through the node, at
    # /api/v1/voice/janus), and the VideoRoom plugin's admin_key (rooms are made by the node only).
    janus_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+$")] | None = None
    janus_admin_key: str = ""

    def __post_init__(self) -> None:
        if self.mode == "sfu" and not self.janus_url:
            raise ValueError("janus_url: sfu mode needs Janus's HTTP API address")


class TurnCredential(msgspec.Struct, frozen=True):
    username: str
    credential: str
    expires_at: int  # seconds since the epoch


def turn_credential(secret: str, user_id: str, now_s: float, ttl_s: int) -> TurnCredential:
    """username = "<expiry>:<user>", password = base64(HMAC-SHA1(secret, username)): coturn checks the
    HMAC and refuses the username once its expiry has passed, so nothing is stored anywhere."""
    expires = int(now_s) + ttl_s
    username = f"{expires}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode(), expires)
