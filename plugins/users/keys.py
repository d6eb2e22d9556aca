"""The users plugin's secrets: one master key file (data_dir/keys/users.key, mode 600) from which the
token-signing key, the PII encryption key and the blind-index key are derived; and the helpers that
use them (SecretBox for PII at rest, HMAC blind index for lookups, argon2id for passwords).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.pwhash
import nacl.secret
import nacl.utils

from cryb_node.identity import load_or_create_secret

KEY_FILE = "users.key"


def derive(master: bytes, purpose: bytes) -> bytes:
    # Separate keys per purpose, so a leak of one (say the token key in a log) exposes nothing else.
    return nacl.hash.blake2b(
        b"", key=master, person=purpose.ljust(16, b"\0"), digest_size=32, encoder=nacl.encoding.RawEncoder
    )


def load_or_create_master(key_dir: Path) -> bytes:
    return load_or_create_secret(key_dir / KEY_FILE)


@dataclass(frozen=True)
class Keys:
    token: bytes  # HS256 key for access tokens
    box: nacl.secret.SecretBox  # PII at rest
    index: bytes  # blind index (HMAC-SHA256)

    @classmethod
    def from_master(cls, master: bytes) -> Keys:
        return cls(
            token=derive(master, b"cryb-token"),
            box=nacl.secret.SecretBox(derive(master, b"cryb-pii")),
            index=derive(master, b"cryb-index"),
        )

    def seal(self, text: str) -> bytes:
        return bytes(self.box.encrypt(text.encode()))

    def open(self, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return self.box.decrypt(blob).decode()

    def blind(self, kind: str, value: str) -> bytes:
        """Keyed index of a normalised value: equal inputs match, the table alone reveals nothing."""
        return hmac.new(self.index, f"{kind}:{value}".encode(), hashlib.sha256).digest()


class PasswordHasher:
    """argon2id via libsodium. Verification reads the parameters from the stored string, so raising
    them later keeps old hashes working. Call these in a thread: they are deliberately slow."""

    def __init__(self, opslimit: int, memlimit: int) -> None:
        self.opslimit = opslimit
        self.memlimit = memlimit
        self.verifications = 0  # how many hashes were checked (the brute-force test reads it)
        self._dummy: bytes | None = None

    def hash(self, password: str) -> bytes:
        return nacl.pwhash.argon2id.str(password.encode(), opslimit=self.opslimit, memlimit=self.memlimit)

    def verify(self, stored: bytes | None, password: str) -> bool:
        """Check a password; with no stored hash, burn the same time and say no (no account oracle)."""
        self.verifications += 1
        if stored is None:
            if self._dummy is None:
                self._dummy = self.hash("no such account")
            stored, password = self._dummy, password + "\0"
        try:
            return nacl.pwhash.verify(stored, password.encode()) and stored is not self._dummy
        except nacl.exceptions.InvalidkeyError:
            return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_secret_token(prefix: str) -> str:
    return prefix + nacl.utils.random(32).hex()
