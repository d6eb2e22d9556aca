"""Requests too broken for aiohttp to route (a request line or header over 8,190 bytes) are answered
as problem+json with a request id, like every other error, and never echo the input back."""

from __future__ import annotations

import json
import socket

import pytest


def _raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /" + b"q" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"q" * 9000 + b"\r\n\r\n",
    ],
    ids=["request-line", "header"],
)
def test_oversized_request_gets_problem_json_with_a_request_id(node_process, request_bytes):
    node = node_process().start()
    status, headers, body = _raw_request(node.port, request_bytes)
    assert status == 400
    assert headers["content-type"].startswith("application/problem+json")
    problem = json.loads(body)
    assert problem["code"] == "bad_request" and problem["status"] == 400
    assert headers["x-request-id"] and problem["request_id"] == headers["x-request-id"]
    assert b"qqqq" not in body
