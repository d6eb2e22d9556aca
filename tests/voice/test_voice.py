"""Voice channels over HTTP and the gateway (issue 27): joining needs CONNECT on every op, signalling
reaches only the named peer in the same channel, losing CONNECT or a ban drops the member at once,
and moderation (mute, deafen, move, disconnect) is authorised and lands in the mod log."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryb_node.services import Perm
from tests.voice.conftest import call, gateway, make_space, ok

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def is_state(user, channel):
    return lambda d: d["user_id"] == user.id and d["channel_id"] == channel


async def deny_connect(space, channel, perm=Perm.CONNECT):
    await ok(space.client, "PUT", f"/channels/{channel}/overwrites/role/{space.community}", space.owner,
             json={"deny": int(perm)})  # fmt: skip


async def test_member_gets_the_call_and_a_turn_credential_that_verifies(vc, clock):
    space = await make_space(vc)
    alice = await space.join()
    out = await ok(vc, "GET", f"/channels/{space.voice}/voice", alice)
    assert out["mode"] == "mesh" and out["states"] == [] and out["community_id"] == space.community
    stun, turn = out["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.test:3478"]}
    expiry, user = turn["username"].split(":")
    assert user == alice.id and int(expiry) == int(clock.time()) + 600 == out["ice_expires_at"]
    want = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == want


async def test_member_without_connect_gets_no_signalling_over_http_or_the_gateway(vc):
    space = await make_space(vc)
    alice, bob = await space.join(), await space.join()
    await deny_connect(space, space.voice)
    status, body = await call(vc, "GET", f"/channels/{space.voice}/voice", alice)
    assert (status, body["code"]) == (403, "missing_permission")
    a, b = await gateway(vc, alice), await gateway(vc, owner := space.owner)
    try:
        await a.op("VOICE_JOIN", {"channel_id": space.voice})
        err = await a.next("VOICE_ERROR", "VOICE_READY")
        assert err["t"] == "VOICE_ERROR" and err["d"]["code"] == "missing_permission"
        # The owner is in the call; alice still cannot signal them or announce a state.
        await b.op("VOICE_JOIN", {"channel_id": space.voice})
        await b.next("VOICE_READY")
        await a.op("VOICE_SIGNAL", {"channel_id": space.voice, "to": owner.id, "kind": "offer", "sdp": OFFER})
        assert (await a.next("VOICE_ERROR"))["d"]["code"] == "not_in_voice"
        await a.op("VOICE_STATE", {"speaking": True})
        assert (await a.next("VOICE_ERROR"))["d"]["code"] == "not_in_voice"
        await b.none("VOICE_SIGNAL")
        assert bob  # a member who never tried is unaffected
    finally:
        await a.ws.close()
        await b.ws.close()


async def test_text_and_hidden_channels_have_no_voice(vc):
    space = await make_space(vc)
    alice = await space.join()
    status, body = await call(vc, "GET", f"/channels/{space.text}/voice", alice)
    assert (status, body["code"]) == (400, "wrong_channel_kind")
    await deny_connect(space, space.voice, Perm.VIEW_CHANNEL)
    status, body = await call(vc, "GET", f"/channels/{space.voice}/voice", alice)
    assert (status, body["code"]) == (404, "not_found")


async def test_two_members_join_see_each_other_and_signal_only_the_named_peer(vc):
    space = await make_space(vc)
    alice, bob, carol = await space.join(), await space.join(), await space.join()
    a, b, c = await gateway(vc, alice), await gateway(vc, bob), await gateway(vc, carol)
    try:
        await a.op("VOICE_JOIN", {"channel_id": space.voice, "self_mute": True})
        ready = (await a.next("VOICE_READY"))["d"]
        assert [s["user_id"] for s in ready["states"]] == [alice.id] and ready["ice_servers"]
        # carol is not in the call but may view the channel: she sees who is in it.
        got = (await c.next("VOICE_STATE_UPDATE"))["d"]
        assert got["user_id"] == alice.id and got["channel_id"] == space.voice and got["self_mute"]
        await b.op("VOICE_JOIN", {"channel_id": space.voice})
        ready = (await b.next("VOICE_READY"))["d"]
        assert sorted(s["user_id"] for s in ready["states"]) == sorted([alice.id, bob.id])
        await a.next("VOICE_STATE_UPDATE", where=is_state(bob, space.voice))

        await b.op("VOICE_SIGNAL", {"channel_id": space.voice, "to": alice.id, "kind": "offer", "sdp": OFFER})
        sig = (await a.next("VOICE_SIGNAL"))["d"]
        assert sig == {"channel_id": space.voice, "from": bob.id, "kind": "offer", "sdp": OFFER}
        cand = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
        await a.op(
            "VOICE_SIGNAL", {"channel_id": space.voice, "to": bob.id, "kind": "candidate", "candidate": cand}
        )
        assert (await b.next("VOICE_SIGNAL"))["d"]["candidate"] == cand
        await c.none("VOICE_SIGNAL")
        # Not to someone outside the call, nor for another channel.
        await a.op("VOICE_SIGNAL", {"channel_id": space.voice, "to": carol.id, "kind": "offer", "sdp": OFFER})
        assert (await a.next("VOICE_ERROR"))["d"]["code"] == "not_in_voice"

        # A fourth socket's READY lists who is in the call.
        d = await gateway(vc, carol)
        assert sorted(s["user_id"] for s in d.ready["voice_states"]) == sorted([alice.id, bob.id])
        await d.ws.close()

        # Speaking while self-muted is refused; unmuted it goes out to the channel.
        await a.op("VOICE_STATE", {"speaking": True})
        assert (await a.next("VOICE_ERROR"))["d"]["code"] == "voice_muted"
        await a.op("VOICE_STATE", {"self_mute": False, "speaking": True})
        got = await c.next("VOICE_STATE_UPDATE", where=lambda d: d["user_id"] == alice.id and d["speaking"])
        assert not got["d"]["self_mute"]

        # Closing the socket leaves the call.
        await b.ws.close()
        await a.next("VOICE_STATE_UPDATE", where=is_state(bob, None))
    finally:
        for g in (a, b, c):
            await g.ws.close()


async def _dropped(vc, how: str) -> None:
    space = await make_space(vc)
    alice, bob = await space.join(), await space.join()
    a, b = await gateway(vc, alice), await gateway(vc, bob)
    try:
        for g in (a, b):
            await g.op("VOICE_JOIN", {"channel_id": space.voice})
            await g.next("VOICE_READY")
        if how == "ban":
            await ok(vc, "PUT", f"/communities/{space.community}/bans/{bob.id}", space.owner, json={})
        else:
            await ok(vc, "PUT", f"/channels/{space.voice}/overwrites/member/{bob.id}", space.owner,
                     json={"deny": int(Perm.CONNECT)})  # fmt: skip
        gone = (await b.next("VOICE_DISCONNECT"))["d"]
        assert gone == {"channel_id": space.voice, "reason": "permission"}
        await a.next("VOICE_STATE_UPDATE", where=is_state(bob, None))
        out = await ok(vc, "GET", f"/channels/{space.voice}/voice", alice)
        assert [s["user_id"] for s in out["states"]] == [alice.id]
        # And cannot signal alice any more.
        await b.op("VOICE_SIGNAL", {"channel_id": space.voice, "to": alice.id, "kind": "offer", "sdp": OFFER})
        assert (await b.next("VOICE_ERROR"))["d"]["code"] == "not_in_voice"
        await a.none("VOICE_SIGNAL")
    finally:
        await a.ws.close()
        await b.ws.close()


async def test_losing_connect_drops_the_member_from_the_call_at_once(vc):
    await _dropped(vc, "overwrite")


async def test_a_ban_drops_the_member_from_the_call_at_once(vc):
    await _dropped(vc, "ban")


async def test_user_limit_needs_manage_channels_and_move_members_joins_a_full_channel(vc):
    space = await make_space(vc)
    alice, bob = await space.join(), await space.join()
    status, body = await call(vc, "PUT", f"/channels/{space.voice}/voice", alice, json={"user_limit": 1})
    assert (status, body["code"]) == (403, "missing_permission")
    await ok(vc, "PUT", f"/channels/{space.voice}/voice", space.owner, json={"user_limit": 1})
    assert (await ok(vc, "GET", f"/channels/{space.voice}/voice", alice))["user_limit"] == 1
    a, b, o = await gateway(vc, alice), await gateway(vc, bob), await gateway(vc, space.owner)
    try:
        await a.op("VOICE_JOIN", {"channel_id": space.voice})
        await a.next("VOICE_READY")
        await b.op("VOICE_JOIN", {"channel_id": space.voice})
        assert (await b.next("VOICE_ERROR", "VOICE_READY"))["d"]["code"] == "voice_channel_full"
        await o.op("VOICE_JOIN", {"channel_id": space.voice})  # the owner holds MOVE_MEMBERS
        assert len((await o.next("VOICE_READY"))["d"]["states"]) == 2
    finally:
        for g in (a, b, o):
            await g.ws.close()


async def test_moderation_mutes_moves_and_disconnects_and_each_is_in_the_mod_log(vc):
    space = await make_space(vc)
    alice, bob = await space.join(), await space.join()
    other = await space.channel("stage")
    a, o = await gateway(vc, alice), await gateway(vc, space.owner)
    path = f"/channels/{space.voice}/voice/members/{alice.id}"
    try:
        await a.op("VOICE_JOIN", {"channel_id": space.voice})
        await a.next("VOICE_READY")
        status, body = await call(vc, "PATCH", path, bob, json={"mute": True})
        assert (status, body["code"]) == (403, "missing_permission")
        status, body = await call(vc, "DELETE", path, bob, json={})
        assert (status, body["code"]) == (403, "missing_permission")

        await ok(vc, "PATCH", path, space.owner, json={"mute": True, "deaf": True, "reason": "echo"})
        await a.next(
            "VOICE_STATE_UPDATE", where=lambda d: d["user_id"] == alice.id and d["mute"] and d["deaf"]
        )
        await a.op("VOICE_STATE", {"speaking": True})
        assert (await a.next("VOICE_ERROR"))["d"]["code"] == "voice_muted"

        await ok(vc, "PATCH", path, space.owner, json={"channel_id": other})
        moved = (await a.next("VOICE_READY"))["d"]
        assert moved["channel_id"] == other and moved["moved_by"] == space.owner.id
        assert [s["mute"] for s in moved["states"]] == [True]  # the server mute goes with them
        status, body = await call(vc, "DELETE", path, space.owner, json={})  # not in that channel now
        assert (status, body["code"]) == (404, "not_in_voice")
        await ok(
            vc, "DELETE", f"/channels/{other}/voice/members/{alice.id}", space.owner, json={"reason": "bye"}
        )
        assert (await a.next("VOICE_DISCONNECT"))["d"] == {"channel_id": other, "reason": "disconnected"}

        log = await ok(vc, "GET", f"/communities/{space.community}/modlog", space.owner)
        actions = [(e["action"], e["target"], e["target_type"]) for e in log["entries"]]
        assert actions[:2] == [("voice_disconnect", alice.id, "user"), ("voice_move", alice.id, "user")]
        assert sorted(actions[2:4]) == [("voice_deafen", alice.id, "user"), ("voice_mute", alice.id, "user")]
        assert {e["reason"] for e in log["entries"][:4]} == {"bye", "", "echo"}
        assert log["entries"][1]["details"] == {"channel_id": space.voice, "to_channel_id": other}
        # Joining again later: the server mute outlasts the call.
        await a.op("VOICE_JOIN", {"channel_id": space.voice})
        assert (await a.next("VOICE_READY"))["d"]["states"][0]["mute"] is True
    finally:
        await a.ws.close()
        await o.ws.close()


async def test_bad_voice_frames_close_the_socket_and_unknown_channels_are_refused(vc):
    space = await make_space(vc)
    alice = await space.join()
    a = await gateway(vc, alice)
    await a.op("VOICE_JOIN", {"channel_id": "nope"})
    assert (await a.next("VOICE_ERROR"))["d"]["code"] == "not_found"
    await a.op("VOICE_SIGNAL", {"channel_id": space.voice, "to": alice.id, "kind": "offer", "sdp": 5})
    try:
        await a.next("NEVER")
    except Exception as err:  # the socket closes with DECODE_ERROR
        assert getattr(err, "rcvd", None) is not None and err.rcvd.code == 4002
    else:
        raise AssertionError("a malformed frame must close the socket")


async def test_voice_states_reach_only_members_who_can_view_the_channel(vc):
    space = await make_space(vc)
    alice, carol = await space.join(), await space.join()
    hidden = await space.channel("backstage")
    await ok(vc, "PUT", f"/channels/{hidden}/overwrites/member/{carol.id}", space.owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    a, c = await gateway(vc, alice), await gateway(vc, carol)
    try:
        await a.op("VOICE_JOIN", {"channel_id": hidden})
        await a.next("VOICE_READY")
        await c.none("VOICE_STATE_UPDATE")
        later = await gateway(vc, carol)
        assert later.ready["voice_states"] == []
        await later.ws.close()
        # In a channel she can view, she sees the switch.
        await a.op("VOICE_JOIN", {"channel_id": space.voice})
        got = (await c.next("VOICE_STATE_UPDATE"))["d"]
        assert got["channel_id"] == space.voice and got["user_id"] == alice.id
    finally:
        await a.ws.close()
        await c.ws.close()


async def test_a_voice_op_before_identify_closes_the_socket(vc):
    import json

    import websockets

    space = await make_space(vc)
    ws = await websockets.connect(f"ws://127.0.0.1:{vc.server.port}/gateway", compression=None)
    await ws.recv()  # HELLO
    await ws.send(json.dumps({"op": "VOICE_JOIN", "d": {"channel_id": space.voice}}))
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 4003


async def test_a_call_s_bursts_of_ops_fit_the_frame_budget_and_a_flood_still_closes_the_socket(vc):
    import websockets

    space = await make_space(vc)
    alice = await space.join()
    a = await gateway(vc, alice)
    await a.op("VOICE_JOIN", {"channel_id": space.voice})
    await a.next("VOICE_READY")
    for i in range(300):  # 2.5 times client_frames (120) of voice ops: a quarter frame each
        await a.op("VOICE_STATE", {"self_mute": i % 2 == 0})
    await a.op("HEARTBEAT", None)
    while json_op(await a.ws.recv()) != "HEARTBEAT_ACK":
        pass
    try:
        for i in range(400):
            await a.op("VOICE_STATE", {"self_mute": i % 2 == 0})
        while True:
            await a.ws.recv()
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 4008
    else:
        raise AssertionError("a flood of voice ops must close the socket")


def json_op(raw: str) -> str:
    import json

    return json.loads(raw)["op"]


async def test_a_member_is_not_moved_where_they_may_not_connect_nor_to_a_text_channel(vc):
    space = await make_space(vc)
    alice = await space.join()
    closed = await space.channel("closed")
    await ok(vc, "PUT", f"/channels/{closed}/overwrites/member/{alice.id}", space.owner,
             json={"deny": int(Perm.CONNECT)})  # fmt: skip
    a = await gateway(vc, alice)
    path = f"/channels/{space.voice}/voice/members/{alice.id}"
    try:
        await a.op("VOICE_JOIN", {"channel_id": space.voice})
        await a.next("VOICE_READY")
        status, body = await call(vc, "PATCH", path, space.owner, json={"channel_id": closed})
        assert (status, body["code"]) == (403, "missing_permission")
        status, body = await call(vc, "PATCH", path, space.owner, json={"channel_id": space.text})
        assert (status, body["code"]) == (400, "wrong_channel_kind")
        status, body = await call(vc, "PATCH", path, space.owner, json={})
        assert (status, body["code"], body.get("field")) == (400, "invalid_field", "mute")
        log = await ok(vc, "GET", f"/communities/{space.community}/modlog", space.owner)
        assert not [e for e in log["entries"] if e["action"].startswith("voice_")]
        await a.none("VOICE_READY", "VOICE_DISCONNECT")
    finally:
        await a.ws.close()
