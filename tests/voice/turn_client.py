"""A minimal TURN client for the tests (RFC 5389/5766 over UDP): one Allocate, answered with the
long-term credential mechanism (401 with realm and nonce, then a request signed with
MESSAGE-INTEGRITY). Enough to ask a real coturn whether it accepts a username and password."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct

MAGIC = 0x2112A442
ALLOCATE, ALLOCATE_OK, ALLOCATE_ERR = 0x0003, 0x0103, 0x0113
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE, REQUESTED_TRANSPORT = (
    0x0006, 0x0008, 0x0009, 0x0014, 0x0015, 0x0019,
)  # fmt: skip


def _attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def _message(kind: int, tid: bytes, attrs: bytes) -> bytes:
    return struct.pack("!HHI", kind, len(attrs), MAGIC) + tid + attrs


def _parse(data: bytes) -> tuple[int, dict[int, bytes]]:
    kind, length, _ = struct.unpack("!HHI", data[:8])
    attrs, i = {}, 20
    while i < 20 + length:
        a, n = struct.unpack("!HH", data[i : i + 4])
        attrs[a] = data[i + 4 : i + 4 + n]
        i += 4 + n + (-n % 4)
    return kind, attrs


def _exchange(sock: socket.socket, msg: bytes) -> tuple[int, dict[int, bytes]]:
    sock.send(msg)
    return _parse(sock.recv(4096))


def allocate(host: str, port: int, username: str, password: str, timeout: float = 3.0) -> int:
    """The outcome of an authenticated Allocate: 200 when the server accepts the credential, else the
    error code it gave (401: refused)."""
    transport = _attr(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        if sock.getsockname() == sock.getpeername():
            # Nothing listens there yet and the kernel gave this socket that very port as its own:
            # the request would come back to us as its own answer. Same as nobody answering.
            raise ConnectionRefusedError(f"{host}:{port} is this socket's own address")
        kind, attrs = _exchange(sock, _message(ALLOCATE, os.urandom(12), transport))
        assert kind == ALLOCATE_ERR and REALM in attrs and NONCE in attrs, (hex(kind), attrs)
        realm, nonce = attrs[REALM], attrs[NONCE]
        body = transport + _attr(USERNAME, username.encode()) + _attr(REALM, realm) + _attr(NONCE, nonce)
        tid = os.urandom(12)
        # The integrity covers the message with its length already counting the 24-byte attribute.
        head = struct.pack("!HHI", ALLOCATE, len(body) + 24, MAGIC) + tid
        key = hashlib.md5(b"%s:%s:%s" % (username.encode(), realm, password.encode())).digest()
        mac = hmac.new(key, head + body, hashlib.sha1).digest()
        kind, attrs = _exchange(sock, head + body + _attr(MESSAGE_INTEGRITY, mac))
    if kind == ALLOCATE_OK:
        return 200
    code = attrs.get(ERROR_CODE, b"\0\0\0\0")
    return (code[2] & 7) * 100 + code[3]
