"""Signed, expiring URLs for private media: an HMAC-SHA256 over (media id, variant, expiry) with a
node-local key, so a link handed to one viewer stops working after its lifetime."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryb_node.clock import Clock
from cryb_node.problems import Problem


def load_or_create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != 32:
            raise RuntimeError(f"{path} is not a 32-byte key") from None
        return key
    key = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class Signer:
    def __init__(self, key: bytes, clock: Clock) -> None:
        self._key = key
        self.clock = clock

    def expiry(self, ttl_s: int) -> int:
        return int(self.clock.time()) + ttl_s

    def sign(self, media_id: str, variant: str, expires: int) -> str:
        mac = hmac.new(self._key, f"{media_id}/{variant}/{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")

    def verify(self, media_id: str, variant: str, expires: int | None, sig: str | None) -> None:
        """Raise a 403 Problem unless ``sig`` is a valid, unexpired signature."""
        if expires is None or not sig:
            raise Problem(
                "signature_required", 403, "this media is private: use the signed URL you were given"
            )
        if not hmac.compare_digest(self.sign(media_id, variant, expires), sig):
            raise Problem("signature_invalid", 403, "the URL's signature does not match")
        if expires < self.clock.time():
            raise Problem(
                "url_expired", 403, "this signed URL has expired; fetch the media again for a new one"
            )
