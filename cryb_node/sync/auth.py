"""Signed node-to-node requests: every /federation/v1 call carries the caller's node key, a
timestamp, a random nonce and a signature over (callee key, method, path, timestamp, nonce, body
hash); every answer is signed back over (request signature, body hash), so both ends know they talk
to the pinned key.

Header ``X-Cryb-Node: <caller key hex>.<unix ms>.<nonce hex>.<signature hex>`` (not Authorization,
which carries user bearer tokens); answer header ``X-Cryb-Node-Reply: <signature hex>``.

The nonce makes two honest requests distinct even when they are byte-identical and sent in the
same millisecond (two sessions with one peer: Ed25519 signatures are deterministic, so without it
the second was refused as a replay). The replay cache is keyed on (caller, nonce), and the nonce is
covered by the signature, so a replayed request cannot be disguised by changing it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

HEADER = "X-Cryb-Node"
REPLY_HEADER = "X-Cryb-Node-Reply"
REQUEST_DOMAIN = b"cryb-node-request-v2:"  # v2: the nonce is signed
REPLY_DOMAIN = b"cryb-node-reply-v1:"
# A request older or newer than this is refused (clock skew allowance and replay window).
WINDOW_MS = 60_000
NONCE_BYTES = 16


class AuthError(Exception):
    """A request that does not prove who sent it (401) or replays an earlier one."""


def _request_message(audience: bytes, method: str, path: str, ts: int, nonce: bytes, body: bytes) -> bytes:
    return b"\n".join(
        [REQUEST_DOMAIN + audience, method.upper().encode(), path.encode(), str(ts).encode(),
         nonce.hex().encode(), hashlib.sha256(body).digest()]
    )  # fmt: skip


def sign_request(
    key: nacl.signing.SigningKey,
    audience: bytes,
    method: str,
    path: str,
    body: bytes,
    *,
    now_ms: int,
    nonce: bytes | None = None,
) -> tuple[str, bytes]:
    """The header value for a request to the node ``audience`` sent at ``now_ms`` (the node's clock),
    and the signature (to check the reply)."""
    nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
    sig = key.sign(_request_message(audience, method, path, now_ms, nonce, body)).signature
    return f"{bytes(key.verify_key).hex()}.{now_ms}.{nonce.hex()}.{sig.hex()}", sig


@dataclass
class Verifier:
    """Checks request headers for one node (``audience`` is its own key) and remembers the nonces
    of recent ones (a request outside the window is refused anyway, so older ones are forgotten)."""

    audience: bytes
    _seen: dict[tuple[bytes, bytes], int] = field(default_factory=dict)

    def check(self, header: str, method: str, path: str, body: bytes, *, now_ms: int) -> tuple[bytes, bytes]:
        """Returns (caller node key, request signature); raises AuthError. ``now_ms``: the node's clock."""
        try:
            key_hex, ts_text, nonce_hex, sig_hex = header.split(".")
            caller, ts, sig = bytes.fromhex(key_hex), int(ts_text), bytes.fromhex(sig_hex)
            nonce = bytes.fromhex(nonce_hex)
        except ValueError:
            raise AuthError(f"malformed {HEADER} header") from None
        if len(caller) != 32 or len(sig) != 64 or len(nonce) != NONCE_BYTES:
            raise AuthError(f"malformed {HEADER} header")
        if abs(now_ms - ts) > WINDOW_MS:
            raise AuthError("request timestamp outside the replay window")
        try:
            nacl.signing.VerifyKey(caller).verify(
                _request_message(self.audience, method, path, ts, nonce, body), sig
            )
        except (nacl.exceptions.BadSignatureError, ValueError):
            raise AuthError("bad request signature") from None
        self._forget(now_ms)
        if (caller, nonce) in self._seen:
            raise AuthError("replayed request")
        self._seen[(caller, nonce)] = ts
        return caller, sig

    def _forget(self, now: int) -> None:
        if len(self._seen) > 1024:
            self._seen = {s: t for s, t in self._seen.items() if now - t <= WINDOW_MS}


def sign_reply(key: nacl.signing.SigningKey, request_sig: bytes, body: bytes) -> str:
    return key.sign(REPLY_DOMAIN + request_sig + hashlib.sha256(body).digest()).signature.hex()


def check_reply(peer_key: bytes, request_sig: bytes, body: bytes, header: str | None) -> None:
    if not header:
        raise AuthError("the answer is not signed")
    try:
        nacl.signing.VerifyKey(peer_key).verify(
            REPLY_DOMAIN + request_sig + hashlib.sha256(body).digest(), bytes.fromhex(header)
        )
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise AuthError("the answer is not signed by the pinned key") from None
