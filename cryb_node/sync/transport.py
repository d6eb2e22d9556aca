"""Calling a pinned peer: msgpack over HTTP POST, each request signed with our node key and each
answer checked against the peer's pinned key."""

from __future__ import annotations

from typing import Any, TypeVar

import aiohttp
import msgspec
import nacl.signing

from cryb_node.clock import Clock

from . import auth
from .peers import Peer
from .wire import encode

T = TypeVar("T")
PREFIX = "/federation/v1"
CONTENT_TYPE = "application/msgpack"


class PeerCallError(Exception):
    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class PeerClient:
    def __init__(
        self, session: aiohttp.ClientSession, node_key: nacl.signing.SigningKey, peer: Peer, clock: Clock
    ) -> None:
        self.session = session
        self.key = node_key
        self.peer = peer
        self.clock = clock  # the node's: it dates each signed request
        self.bytes_in = 0
        self.bytes_out = 0

    async def call(self, name: str, payload: Any, reply: type[T]) -> T:
        path = f"{PREFIX}/{name}"
        body = encode(payload)
        header, sig = auth.sign_request(
            self.key, self.peer.node_key, "POST", path, body, now_ms=self.clock.time_ms()
        )
        headers = {auth.HEADER: header, "Content-Type": CONTENT_TYPE}
        try:
            async with self.session.post(self.peer.url + path, data=body, headers=headers) as resp:
                data = await resp.read()
                status, signed = resp.status, resp.headers.get(auth.REPLY_HEADER)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise PeerCallError(f"{type(err).__name__}: {err}") from None
        self.bytes_out += len(body)
        self.bytes_in += len(data)
        if status != 200:
            raise PeerCallError(f"{name}: HTTP {status}: {data[:300].decode(errors='replace')}", status)
        try:
            auth.check_reply(self.peer.node_key, sig, data, signed)
            return msgspec.msgpack.decode(data, type=reply)
        except auth.AuthError as err:
            raise PeerCallError(f"{name}: {err}") from None
        except msgspec.DecodeError as err:
            raise PeerCallError(f"{name}: bad answer: {err}") from None
