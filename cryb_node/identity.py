"""Node identity: the long-lived ed25519 identity key and the log key it certifies.

The identity key names the node to its peers. Events are signed by a separate log key whose public
half is the log's ``origin``; the identity key certifies it. A node restored from a backup gets a new
log key, so it can never hand out a sequence number its old log already used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.signing

CERT_DOMAIN = b"cryb-log-key-v1:"


class KeyFileError(RuntimeError):
    """A key file is unreadable or malformed."""


@dataclass(frozen=True)
class Identity:
    node_key: nacl.signing.SigningKey
    log_key: nacl.signing.SigningKey

    @property
    def node_public(self) -> bytes:
        return bytes(self.node_key.verify_key)

    @property
    def origin(self) -> bytes:
        return bytes(self.log_key.verify_key)

    @property
    def log_cert(self) -> bytes:
        return self.node_key.sign(CERT_DOMAIN + self.origin).signature


def verify_log_cert(node_public: bytes, origin: bytes, cert: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(node_public).verify(CERT_DOMAIN + origin, cert)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def key_dir(data_dir: Path) -> Path:
    return data_dir / "keys"


def _write_secret(path: Path, seed: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(seed.hex().encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_secret(path: Path) -> nacl.signing.SigningKey:
    try:
        seed = bytes.fromhex(path.read_text().strip())
        return nacl.signing.SigningKey(seed)
    except (ValueError, nacl.exceptions.CryptoError) as err:
        raise KeyFileError(f"{path}: not a valid ed25519 seed ({err})") from None


def load_or_create_secret(path: Path) -> bytes:
    """32 random bytes kept hex-encoded in ``path`` (mode 600), created on first use (plugins' keys)."""
    if not path.exists():
        _write_secret(path, os.urandom(32))
    raw = bytes.fromhex(path.read_text().strip())
    if len(raw) != 32:
        raise KeyFileError(f"{path}: expected 32 bytes of hex")
    return raw


def load_or_create(data_dir: Path) -> tuple[Identity, bool]:
    """Load the keys from ``data_dir/keys``, creating whichever is missing. Returns (identity, created)."""
    kd = key_dir(data_dir)
    node_path, log_path = kd / "node.key", kd / "log.key"
    created = False
    if not node_path.exists():
        _write_secret(node_path, bytes(nacl.signing.SigningKey.generate()))
        created = True
    if not log_path.exists():
        _write_secret(log_path, bytes(nacl.signing.SigningKey.generate()))
        created = True
    return Identity(_read_secret(node_path), _read_secret(log_path)), created


def load(data_dir: Path) -> Identity:
    kd = key_dir(data_dir)
    return Identity(_read_secret(kd / "node.key"), _read_secret(kd / "log.key"))


def rotate_log_key(data_dir: Path) -> None:
    """Forget the log key; the next start makes a new one (after a restore from backup)."""
    (key_dir(data_dir) / "log.key").unlink(missing_ok=True)
