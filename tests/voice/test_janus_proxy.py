"""sfu mode's Janus passage (/api/v1/voice/janus): members reach only their own Janus sessions and
only a participant's VideoRoom requests; a node in mesh mode has none. Against a real janus started
by the test (skipped where it is not installed)."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from cryb_node.app import build_app
from tests.e2e.test_webui_voice_sfu import ADMIN_KEY, janus  # noqa: F401 (the fixture)
from tests.voice.conftest import call, make_space, new_user, voice_config

pytestmark = pytest.mark.skipif(shutil.which("janus") is None, reason="janus is not installed")
J = "/voice/janus"
T = {"transaction": "t1"}  # Janus answers every request naming its transaction


async def test_members_reach_only_their_own_janus_sessions_and_participant_requests(
    aiohttp_client,
    tmp_path,
    janus,  # noqa: F811
):
    config = voice_config(tmp_path / "data", mode="sfu", janus_url=janus, janus_admin_key=ADMIN_KEY)
    client = await aiohttp_client(build_app(config))
    alice, bob = await new_user(client), await new_user(client)
    status, _ = await call(client, "POST", J, None, json={"janus": "create", **T})
    assert status == 401
    status, created = await call(client, "POST", J, alice, json={"janus": "create", **T})
    assert status == 200 and created["janus"] == "success"
    session = created["data"]["id"]
    videoroom = {**T, "janus": "attach", "plugin": "janus.plugin.videoroom"}
    status, attached = await call(client, "POST", f"{J}/{session}", alice, json=videoroom)
    assert status == 200
    handle = attached["data"]["id"]
    # Bob may not use Alice's session, nor its handle, nor poll its events.
    for method, path, body in (
        ("POST", f"{J}/{session}", {"janus": "keepalive", **T}),
        ("POST", f"{J}/{session}/{handle}", {**T, "janus": "message", "body": {"request": "join"}}),
        ("GET", f"{J}/{session}", None),
    ):
        status, _ = (
            await call(client, method, path, bob, json=body)
            if body
            else await call(client, method, path, bob)
        )
        assert status == 404, (method, path)
    # Alice may not make, edit or kick in rooms, nor attach another plugin.
    for body in (
        {**T, "janus": "message", "body": {"request": "create", "room": 1, "admin_key": ADMIN_KEY}},
        {**T, "janus": "message", "body": {"request": "kick", "room": 1, "id": 1}},
        {**T, "janus": "message", "body": {"request": "allowed", "room": 1, "action": "disable"}},
    ):
        status, _ = await call(client, "POST", f"{J}/{session}/{handle}", alice, json=body)
        assert status == 403, body
    status, _ = await call(client, "POST", f"{J}/{session}", alice,
                           json={**T, "janus": "attach", "plugin": "janus.plugin.echotest"})  # fmt: skip
    assert status == 403
    status, _ = await call(client, "POST", f"{J}/not-a-number", alice, json={"janus": "keepalive", **T})
    assert status == 404


async def test_a_mesh_node_has_no_janus_passage_and_a_join_without_janus_is_refused(aiohttp_client, tmp_path):
    client = await aiohttp_client(build_app(voice_config(tmp_path / "mesh")))
    alice = await new_user(client)
    status, body = await call(client, "POST", J, alice, json={"janus": "create", **T})
    assert (status, body["code"]) == (404, "not_found")


async def test_an_unreachable_janus_refuses_the_join_and_leaves_no_state(aiohttp_client, tmp_path):
    from tests.conftest import free_port
    from tests.voice.conftest import gateway

    dead = f"http://127.0.0.1:{free_port()}/janus"
    client = await aiohttp_client(build_app(voice_config(tmp_path / "d", mode="sfu", janus_url=dead)))
    space = await make_space(client)
    alice = await space.join()
    g = await gateway(client, alice)
    try:
        await g.op("VOICE_JOIN", {"channel_id": space.voice})
        err = await g.next("VOICE_ERROR", "VOICE_READY")
        assert err["t"] == "VOICE_ERROR" and err["d"]["code"] == "voice_sfu_unavailable"
        status, out = await call(client, "GET", f"/channels/{space.voice}/voice", alice)
        assert status == 200 and out["states"] == []
    finally:
        await g.ws.close()


async def test_a_ban_ends_the_members_janus_sessions_on_the_server(aiohttp_client, tmp_path, janus):  # noqa: F811
    import aiohttp

    from tests.voice.conftest import gateway, ok

    config = voice_config(tmp_path / "data", mode="sfu", janus_url=janus, janus_admin_key=ADMIN_KEY)
    client = await aiohttp_client(build_app(config))
    space = await make_space(client)
    alice = await space.join()
    g = await gateway(client, alice)
    try:
        await g.op("VOICE_JOIN", {"channel_id": space.voice})
        sfu = (await g.next("VOICE_READY"))["d"]["sfu"]
        assert sfu["url"] == "/api/v1/voice/janus" and sfu["room"] > 0 and sfu["token"]
        _, created = await call(client, "POST", J, alice, json={"janus": "create", **T})
        session = created["data"]["id"]
        await ok(client, "PUT", f"/communities/{space.community}/bans/{alice.id}", space.owner, json={})
        await g.next("VOICE_DISCONNECT")
        async with aiohttp.ClientSession() as http:  # straight to Janus, not through the node
            for _ in range(50):
                async with http.post(f"{janus}/{session}", json={"janus": "keepalive", **T}) as resp:
                    answer = await resp.json(content_type=None)
                if answer["janus"] == "error":
                    break
                await asyncio.sleep(0.1)
        assert answer["janus"] == "error" and answer["error"]["code"] == 458  # no such session
    finally:
        await g.ws.close()
