"""Gateway fuzzing (hypothesis): random and malformed frames, before and after IDENTIFY, are always
answered with a documented close code (or, for a valid frame, an answer) — never a crash or a stuck
socket — and the node keeps serving."""

from __future__ import annotations

import json
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import NodeProcess, cryb_env

DOCUMENTED = {1000, 1009, 4000, 4001, 4002, 4003, 4004, 4005, 4008}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
ops = st.sampled_from(["IDENTIFY", "RESUME", "HEARTBEAT", "PRESENCE_UPDATE", "TYPING", "DISPATCH", "", "x"])
frames = st.one_of(
    st.builds(lambda op, d: json.dumps({"op": op, "d": d}), ops, json_values),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    env = cryb_env(
        CRYB_RATE_LIMITS__ENABLED="false", CRYB_LOG__LEVEL="WARNING", CRYB_REALTIME__CLIENT_FRAMES="100000",
        CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT="1", CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT="8192",
    )  # fmt: skip
    proc = NodeProcess(tmp_path_factory.mktemp("gwfuzz") / "data", None, env).start()
    body = json.dumps({"username": "gwfuzz", "email": "gw@fuzz.test", "password": "gateway fuzz password"})
    req = urllib.request.Request(proc.url + "/api/v1/auth/register", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req) as resp:
        proc.token = json.loads(resp.read())["access_token"]
    yield proc
    proc.terminate()
    log = proc.log.read_text()
    assert "Traceback" not in log and '"level":"error"' not in log, log[-3000:]


def _drive(node, frames_to_send, identify: bool) -> None:
    url = node.url.replace("http", "ws") + "/gateway"
    with connect(url, open_timeout=10, close_timeout=5, max_size=None) as ws:
        assert json.loads(ws.recv(timeout=10))["op"] == "HELLO"
        if identify:
            ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": node.token}}))
            assert json.loads(ws.recv(timeout=10))["op"] == "READY"
        try:
            for frame in frames_to_send:
                ws.send(frame)
            # Whatever was sent, the socket either answers a heartbeat or closes with a documented code.
            ws.send(json.dumps({"op": "HEARTBEAT", "d": None}))
            while True:
                msg = json.loads(ws.recv(timeout=10))
                if msg.get("op") == "HEARTBEAT_ACK":
                    return
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            assert code in DOCUMENTED, f"undocumented close {code} after {frames_to_send!r}"


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(frames, min_size=1, max_size=3), st.booleans())
def test_random_frames_get_a_documented_answer(node, sent, identify):
    _drive(node, sent, identify)
    with urllib.request.urlopen(node.url + "/healthz", timeout=5) as resp:
        assert resp.status == 200
