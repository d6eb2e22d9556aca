"""The gateway protocol, driven by an independent client library (websockets): handshake, heartbeats,
documented close codes for bad input, resume, and the slow-consumer cut-off.

The handshake, resume and cut-off run both with permessage-deflate (frames go through aiohttp's
compressor) and without it (frames are written straight to the transport)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.clock import Clock
from cryb_node.config import RealtimeSection
from cryb_node.realtime.hub import Hub, Session
from cryb_node.realtime.protocol import Close, Dispatch, DispatchFrame
from tests.conftest import make_config
from tests.users_fixtures import FAST_HASHING, auth, register_user


def _config(tmp_path, **realtime):
    return make_config(tmp_path / "data", realtime=realtime, plugin={"users": FAST_HASHING})


@pytest.fixture
async def server(aiohttp_server, tmp_path):
    async def start(**realtime):
        return await aiohttp_server(build_app(_config(tmp_path, **realtime)))

    return start


@pytest.fixture(params=["deflate", None], ids=["deflate", "plain"])
def compression(request):
    return request.param


def ws_url(server) -> str:
    return f"ws://127.0.0.1:{server.port}/gateway"


async def recv(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def identify(ws, token: str) -> dict:
    hello = await recv(ws)
    assert hello["op"] == "HELLO" and hello["d"]["heartbeat_interval_ms"] > 0
    await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": token}}))
    ready = await recv(ws)
    assert ready["op"] == "READY"
    return ready


async def closed_with(ws, timeout: float = 5.0) -> int:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    return info.value.rcvd.code


async def user(server) -> tuple[str, str]:
    from aiohttp import ClientSession

    class Client:  # register_user wants an object with .post(path, json=)
        def __init__(self, session):
            self.session = session

        def post(self, path, json):
            return self.session.post(f"http://127.0.0.1:{server.port}{path}", json=json)

    async with ClientSession() as session:
        return await register_user(Client(session))


async def test_identify_gives_ready_and_heartbeats_are_acked(server, compression):
    srv = await server()
    user_id, token = await user(srv)
    async with websockets.connect(ws_url(srv), compression=compression) as ws:
        ready = await identify(ws, token)
        assert ready["d"]["user"]["id"] == user_id and ready["d"]["session_id"]
        await ws.send(json.dumps({"op": "HEARTBEAT", "d": None}))
        assert (await recv(ws))["op"] == "HEARTBEAT_ACK"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"op":"IDENTIFY","d":{"token":"not-a-token"}}', Close.AUTHENTICATION_FAILED),
        ("this is not json", Close.DECODE_ERROR),
        ('{"op":"SHOUT","d":1}', Close.UNKNOWN_OP),
        ('{"op":"IDENTIFY","d":{"tok":"x"}}', Close.DECODE_ERROR),
        ('{"op":"IDENTIFY"}', Close.DECODE_ERROR),
        ("[1,2,3]", Close.DECODE_ERROR),
        ('{"op":"PRESENCE_UPDATE","d":{"status":"online"}}', Close.NOT_AUTHENTICATED),
        (b"\x00\x01binary", Close.DECODE_ERROR),
        ("x" * 20_000, 1009),
    ],
)
async def test_bad_frames_get_the_documented_close_code(server, frame, code):
    srv = await server()
    async with websockets.connect(ws_url(srv), max_size=None) as ws:
        await recv(ws)  # HELLO
        await ws.send(frame)
        assert await closed_with(ws) == code
    # The node is unharmed: it still answers.
    async with websockets.connect(ws_url(srv)) as ws:
        assert (await recv(ws))["op"] == "HELLO"


async def test_bad_frames_after_ready_close_too_and_identify_twice_is_refused(server):
    srv = await server()
    _, token = await user(srv)
    async with websockets.connect(ws_url(srv)) as ws:
        await identify(ws, token)
        await ws.send(json.dumps({"op": "PRESENCE_UPDATE", "d": {"status": "asleep"}}))
        assert await closed_with(ws) == Close.DECODE_ERROR
    async with websockets.connect(ws_url(srv)) as ws:
        await identify(ws, token)
        await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": token}}))
        assert await closed_with(ws) == Close.ALREADY_AUTHENTICATED


async def test_no_identify_in_time_closes_4003(server):
    srv = await server(identify_timeout_s=0.3)
    async with websockets.connect(ws_url(srv)) as ws:
        await recv(ws)
        assert await closed_with(ws) == Close.NOT_AUTHENTICATED


async def test_silent_client_is_closed_as_a_zombie(server):
    srv = await server(heartbeat_interval_s=0.2)
    _, token = await user(srv)
    async with websockets.connect(ws_url(srv)) as ws:
        await identify(ws, token)
        assert await closed_with(ws) == Close.SESSION_TIMED_OUT


async def test_a_heartbeating_client_outlives_many_deadlines_while_a_silent_one_beside_it_is_closed(server):
    srv = await server(heartbeat_interval_s=0.2)  # a zombie after 0.3 s of silence
    hub = srv.app[NODE].realtime
    _, token = await user(srv)
    async with websockets.connect(ws_url(srv)) as live, websockets.connect(ws_url(srv)) as silent:
        await identify(live, token)
        await identify(silent, token)
        loop = asyncio.get_running_loop()
        until = loop.time() + 2.0  # six deadlines
        while loop.time() < until:
            await live.send(json.dumps({"op": "HEARTBEAT", "d": None}))
            while (await recv(live))["op"] != "HEARTBEAT_ACK":
                pass
            await asyncio.sleep(0.1)
        assert await closed_with(silent, timeout=0.1) == Close.SESSION_TIMED_OUT
        assert live.close_code is None
        assert len(hub.watchdog._watched) == 1
    await asyncio.sleep(0.1)
    assert not hub.watchdog._watched  # a closed socket is no longer watched


async def test_waiting_sockets_hold_a_deadline_not_a_timer_each(server):
    srv = await server(heartbeat_interval_s=30)
    _, token = await user(srv)
    loop = asyncio.get_running_loop()

    def timers() -> int:
        return sum(not h.cancelled() for h in loop._scheduled)  # type: ignore[attr-defined]

    async with contextlib.AsyncExitStack() as stack:
        before = timers()
        for _ in range(20):  # no keepalive pings: the clients add no timers of their own
            ws = await stack.enter_async_context(websockets.connect(ws_url(srv), ping_interval=None))
            await identify(ws, token)
        assert timers() - before < 5
        assert len(srv.app[NODE].realtime.watchdog._watched) == 20


async def test_flooding_frames_closes_4008(server):
    srv = await server(client_frames=5)
    _, token = await user(srv)
    async with websockets.connect(ws_url(srv)) as ws:
        await identify(ws, token)  # IDENTIFY is frame 1
        for _ in range(6):
            await ws.send(json.dumps({"op": "HEARTBEAT", "d": None}))
        assert await closed_with(ws) == Close.RATE_LIMITED


async def _post_notes(srv, token: str, n: int, prefix: str) -> None:
    from aiohttp import ClientSession

    async with ClientSession() as session:
        for i in range(n):
            url = f"http://127.0.0.1:{srv.port}/api/v1/demo/notes"
            async with session.post(url, json={"text": f"{prefix}{i}"}, headers=auth(token)) as resp:
                assert resp.status == 201


async def test_resume_replays_exactly_the_missed_dispatches_in_order(server, compression):
    srv = await server()
    _, token = await user(srv)
    async with websockets.connect(ws_url(srv), compression=compression) as ws:
        ready = await identify(ws, token)
        await _post_notes(srv, token, 3, "seen")
        seen = [await recv(ws) for _ in range(3)]
    assert [f["s"] for f in seen] == [1, 2, 3]
    assert [f["d"]["text"] for f in seen] == ["seen0", "seen1", "seen2"]

    await _post_notes(srv, token, 20, "missed")  # socket is gone; the session keeps them
    async with websockets.connect(ws_url(srv), compression=compression) as ws:
        await recv(ws)  # HELLO
        resume = {"token": token, "session_id": ready["d"]["session_id"], "seq": 3}
        await ws.send(json.dumps({"op": "RESUME", "d": resume}))
        replayed = [await recv(ws) for _ in range(20)]
        resumed = await recv(ws)
        assert [f["s"] for f in replayed] == list(range(4, 24))
        assert [f["d"]["text"] for f in replayed] == [f"missed{i}" for i in range(20)]
        assert resumed == {
            "op": "RESUMED",
            "d": {"session_id": ready["d"]["session_id"], "replayed": 20, "seq": 23},
        }
        await _post_notes(srv, token, 1, "live")
        assert (await recv(ws))["s"] == 24


async def test_a_session_past_its_resume_window_on_the_node_clock_is_invalid(aiohttp_server, tmp_path, clock):
    srv = await aiohttp_server(build_app(_config(tmp_path, resume_window_s=30), clock=clock))
    hub = srv.app[NODE].realtime
    _, token = await user(srv)
    async with websockets.connect(ws_url(srv)) as ws:
        ready = await identify(ws, token)
    session = hub.sessions[ready["d"]["session_id"]]
    for _ in range(500):  # the node notices the socket is gone
        if session.detached_at is not None:
            break
        await asyncio.sleep(0.01)
    clock.advance(31)
    async with websockets.connect(ws_url(srv)) as ws:
        await recv(ws)
        resume = {"token": token, "session_id": ready["d"]["session_id"], "seq": 0}
        await ws.send(json.dumps({"op": "RESUME", "d": resume}))
        assert await recv(ws) == {"op": "INVALID_SESSION", "d": {"resumable": False}}


async def test_resume_of_an_unknown_or_foreign_session_is_invalid(server):
    srv = await server()
    _, token = await user(srv)
    _, other = await user(srv)
    async with websockets.connect(ws_url(srv)) as ws:
        ready = await identify(ws, token)
    for tok, sid in ((token, "no-such-session"), (other, ready["d"]["session_id"])):
        async with websockets.connect(ws_url(srv)) as ws:
            await recv(ws)
            await ws.send(json.dumps({"op": "RESUME", "d": {"token": tok, "session_id": sid, "seq": 0}}))
            assert await recv(ws) == {"op": "INVALID_SESSION", "d": {"resumable": False}}
            # The same socket may IDENTIFY afterwards.
            await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": tok}}))
            assert (await recv(ws))["op"] == "READY"


async def test_a_client_that_stops_reading_is_cut_off_and_memory_stays_bounded(server, compression):
    limit = 256 * 1024
    srv = await server(send_buffer_bytes=limit)
    node = srv.app[NODE]
    user_id, token = await user(srv)
    async with websockets.connect(ws_url(srv), max_queue=1, compression=compression) as ws:
        await identify(ws, token)
        session = next(iter(node.realtime.by_user[user_id]))
        blob = "x" * 64 * 1024
        worst = 0
        # ~40 MB for a reader that never reads: far beyond socket buffers and the node's limit.
        for i in range(640):
            node.realtime.publish(Dispatch("BLOB", {"i": i, "blob": blob}, users=frozenset({user_id})))
            await asyncio.sleep(0)
            if session.ws is not None:  # what the node holds for this socket: its queue and transport
                worst = max(worst, session._out_bytes + session._transport.get_write_buffer_size())
            if session.ws is None:
                break
        for _ in range(200):
            if session.ws is None:
                break
            await asyncio.sleep(0.01)
        assert worst <= limit + len(blob) + 100  # aiohttp's writer may put one frame past the limit
        assert node.realtime.metrics["slow_consumer_disconnects"] >= 1
        assert await closed_with(ws, timeout=10) == Close.SLOW_CONSUMER


def test_resume_buffer_keeps_the_last_n_dispatches_and_refuses_older_seqs():
    hub = Hub(RealtimeSection(resume_buffer_events=5), clock=Clock())
    session = Session(hub, "u1")
    for i in range(8):
        session.dispatch(DispatchFrame("NOTE", {"i": i}))
    assert session.replay_after(2) is None  # seq 3 fell out of the buffer: the client must IDENTIFY
    replayed = [json.loads(f) for f in session.replay_after(3)]
    assert [(f["s"], f["d"]["i"]) for f in replayed] == [(4, 3), (5, 4), (6, 5), (7, 6), (8, 7)]
    assert [json.loads(f)["s"] for f in session.replay_after(6)] == [7, 8]
    assert session.replay_after(8) == []
    assert session.replay_after(9) is None and session.replay_after(-1) is None


def test_resume_buffer_holds_exactly_the_last_n_at_every_count_between_its_trims():
    # The buffer is trimmed in steps, so it may hold more than N frames for a while; a resume still
    # reaches back exactly N, whatever the count since the last trim.
    hub = Hub(RealtimeSection(resume_buffer_events=8), clock=Clock())
    for n in range(0, 40):
        session = Session(hub, "u1")
        for i in range(n):
            session.dispatch(DispatchFrame("NOTE", {"i": i}))
        oldest = max(0, n - 8)  # the last seq a client may name and still be replayed everything after
        if oldest > 0:
            assert session.replay_after(oldest - 1) is None, n
        replayed = [json.loads(f) for f in session.replay_after(oldest)]
        assert [(f["s"], f["d"]["i"]) for f in replayed] == [(s, s - 1) for s in range(oldest + 1, n + 1)], n
