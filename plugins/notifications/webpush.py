"""Web Push: the node's VAPID key (RFC 8292), payload encryption (RFC 8291, aes128gcm of RFC 8188)
and one delivery to a push service. The encryption is ``http_ece`` (the maintained RFC 8188 library
that pywebpush uses), the VAPID token PyJWT; not pywebpush itself, whose HTTP client would block.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cryb_node.clock import Clock

KEY_FILE = "notifications-vapid.pem"
RECORD_SIZE = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def parse_p256(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A browser's p256dh key; raises ValueError unless it is an uncompressed point on P-256."""
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def encrypt(
    plaintext: bytes,
    ua_public: bytes,
    auth_secret: bytes,
    *,
    salt: bytes | None = None,
    as_private: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The aes128gcm body for one push message (one record), per RFC 8291 section 3. The sender
    key is new for every message; ``salt`` and ``as_private`` are fixed only by test vectors."""
    ua_key = parse_p256(ua_public)
    # Push services accept one record only (RFC 8291 section 4); http_ece would split a long body.
    if len(plaintext) + 1 + 16 > RECORD_SIZE:
        raise ValueError("push payload too large for one record")
    body: bytes = http_ece.encrypt(
        plaintext,
        salt=salt or os.urandom(16),
        private_key=as_private or ec.generate_private_key(ec.SECP256R1()),
        dh=ua_key,
        auth_secret=auth_secret,
        rs=RECORD_SIZE,
        version="aes128gcm",
    )
    return body


class Vapid:
    """The node's application server key (data_dir/keys/notifications-vapid.pem, mode 600)."""

    def __init__(self, key_dir: Path, subject: str, clock: Clock) -> None:
        path = key_dir / KEY_FILE
        if not path.exists():
            key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            os.replace(tmp, path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.private = key
        self.public = _public_bytes(key.public_key())
        self.subject = subject
        self.clock = clock  # the token's expiry is the node's time plus its ttl

    @property
    def public_b64(self) -> str:
        return b64url(self.public)

    def authorization(self, endpoint: str, ttl_s: int = 12 * 3600) -> str:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(self.clock.time()) + ttl_s,
            "sub": self.subject,
        }
        token = jwt.encode(claims, self.private, algorithm="ES256")
        return f"vapid t={token}, k={self.public_b64}"


class PushGone(Exception):
    """The push service says the subscription no longer exists (404/410): forget it."""


class PushFailed(Exception):
    """Try again later."""


async def send(
    session: aiohttp.ClientSession,
    vapid: Vapid,
    endpoint: str,
    p256dh: bytes,
    auth: bytes,
    payload: bytes,
    ttl_s: int = 86400,
) -> None:
    body = encrypt(payload, p256dh, auth)
    headers = {
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(ttl_s),
        "Urgency": "normal",
        "Authorization": vapid.authorization(endpoint),
    }
    try:
        async with session.post(endpoint, data=body, headers=headers, allow_redirects=False) as resp:
            if resp.status in (404, 410):
                raise PushGone(f"push service answered {resp.status}")
            if resp.status >= 300:
                raise PushFailed(f"push service answered {resp.status}")
    except (aiohttp.ClientError, TimeoutError) as err:
        raise PushFailed(f"{type(err).__name__}: {err}") from err
