"""Presence over the gateway: members hear each other come and go; a burst of connections is
coalesced into one PRESENCE_UPDATE per community per flush; outsiders hear nothing."""

from __future__ import annotations

import asyncio
import json

from cryb_node.app import build_app
from cryb_node.clock import Clock
from cryb_node.config import RealtimeSection
from cryb_node.realtime.hub import Hub
from tests.content.conftest import content_config, make_space, new_user, ok
from tests.content.test_realtime import connect


async def presence_frames(ws, until: float, want: dict[str, str] | None = None) -> list[dict]:
    """Every PRESENCE_UPDATE dispatch received within ``until`` seconds or, given ``want``, only
    until together they say exactly that (each user's latest status): an extra frame or user then
    makes the next comparison fail."""
    frames: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + until
    while (want is None or statuses(frames) != want) and (left := deadline - loop.time()) > 0:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if frame["op"] == "DISPATCH" and frame["t"] == "PRESENCE_UPDATE":
            frames.append(frame["d"])
    return frames


async def presence_until(ws, want: dict[str, str], timeout: float = 10.0) -> list[dict]:
    return await presence_frames(ws, timeout, want)


def statuses(frames: list[dict]) -> dict[str, str]:
    latest: dict[str, str] = {}
    for d in frames:
        for p in d["presences"]:
            latest[p["user_id"]] = p["status"]
    return latest


async def test_members_hear_presence_changes_and_outsiders_do_not(space):
    owner_ws, _ = await connect(space.client, space.owner.token)
    outsider = await new_user(space.client)
    outsider_ws, _ = await connect(space.client, outsider.token)
    member_ws, _ = await connect(space.client, space.member.token)
    frames = await presence_until(owner_ws, {space.member.id: "online", space.owner.id: "online"})
    assert statuses(frames) == {space.member.id: "online", space.owner.id: "online"}
    assert all(d["community_id"] == space.community for d in frames)

    for status, shown in (("dnd", "dnd"), ("invisible", "offline"), ("online", "online")):
        await member_ws.send(json.dumps({"op": "PRESENCE_UPDATE", "d": {"status": status}}))
        assert statuses(await presence_until(owner_ws, {space.member.id: shown})) == {space.member.id: shown}
    await member_ws.close()
    assert statuses(await presence_until(owner_ws, {space.member.id: "offline"})) == {
        space.member.id: "offline"
    }

    assert await presence_frames(outsider_ws, 0.2) == []  # shares no community: heard nothing at all
    await owner_ws.close()
    await outsider_ws.close()


async def test_a_burst_of_connections_is_one_frame_per_flush_not_one_per_member(space):
    owner_ws, _ = await connect(space.client, space.owner.token)
    await presence_frames(owner_ws, 1.0)  # the owner's own arrival
    joined = [await space.join() for _ in range(20)]
    sockets = [(await connect(space.client, u.token))[0] for u in joined]
    frames = await presence_frames(owner_ws, 2.0)
    assert statuses(frames) == {u.id: "online" for u in joined}
    assert len(frames) <= 3, f"{len(frames)} frames for 20 arrivals"
    # A second tab of someone already online changes nothing, so nobody is told anything.
    extra, _ = await connect(space.client, joined[0].token)
    assert await presence_frames(owner_ws, 1.5) == []
    for ws in [*sockets, extra, owner_ws]:
        await ws.close()


async def test_a_large_community_is_left_out_of_ready_and_its_member_list_says_who_is_online(
    aiohttp_client, tmp_path
):
    # READY of a community with more sessions than ready_presences_max would list every online member
    # to every arrival (quadratic in a connect storm): it names the community instead, and the member
    # list carries each member's status.
    config = content_config(tmp_path / "data", realtime={"ready_presences_max": 2})
    space = await make_space(await aiohttp_client(build_app(config)))
    members = [await space.join() for _ in range(4)]
    sockets = [(await connect(space.client, u.token))[0] for u in members[:3]]
    first_ws, first_ready = await connect(space.client, space.owner.token)
    assert first_ready["presences_partial"] == [space.community]
    assert first_ready["presences"] == []
    statuses = {
        m["user_id"]: m["status"]
        for m in (await ok(space.client, "GET", f"/communities/{space.community}/members", space.owner))[
            "members"
        ]
    }
    assert statuses == {
        space.owner.id: "online",
        space.member.id: "offline",
        members[0].id: "online",
        members[1].id: "online",
        members[2].id: "online",
        members[3].id: "offline",
    }
    for ws in sockets:
        await ws.close()
    await first_ws.close()


async def test_a_small_community_is_in_ready(space):
    other = await space.join()
    other_ws, _ = await connect(space.client, other.token)
    owner_ws, ready = await connect(space.client, space.owner.token)
    assert ready["presences"] == [{"user_id": other.id, "status": "online"}]
    assert ready["presences_partial"] == []
    await other_ws.close()
    await owner_ws.close()


def test_a_large_community_hears_presence_less_often_the_larger_it_is():
    # Each PRESENCE_UPDATE goes to every member: at a fixed rate a storm of N arrivals costs N frames
    # per flush. Past ready_presences_max sessions a community's flushes are spaced in proportion.
    hub = Hub(RealtimeSection(presence_flush_s=0.5, ready_presences_max=2), clock=Clock())
    big = [hub.create(f"u{i}") for i in range(4)]
    small = hub.create("v")
    for session, place in [*((s, "big") for s in big), (small, "small")]:
        session.ws = object()  # type: ignore[assignment]  # attached: counts as online
        hub.share(session, {place})
        hub.presence_changed(session.user_id, {place})

    def flushed(now: float) -> dict[str, dict[str, str]]:
        hub.flush_presence(now)
        out = {}
        while not hub._queue.empty():
            d = hub._queue.get_nowait().data
            out[d["community_id"]] = {p["user_id"]: p["status"] for p in d["presences"]}
        return out

    assert flushed(100.0) == {"big": {f"u{i}": "online" for i in range(4)}, "small": {"v": "online"}}
    big[0].status = small.status = "dnd"
    hub.presence_changed("u0", {"big"})
    hub.presence_changed("v", {"small"})
    assert flushed(100.5) == {"small": {"v": "dnd"}}  # 4 sessions, cap 2: the big one waits 1 s
    assert flushed(100.9) == {}
    assert flushed(101.0) == {"big": {"u0": "dnd"}}
