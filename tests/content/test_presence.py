"""Presence over the gateway: members hear each other come and go; a burst of connections is
coalesced into one PRESENCE_UPDATE per community per flush; outsiders hear nothing."""

from __future__ import annotations

import asyncio
import json

from tests.content.conftest import new_user
from tests.content.test_realtime import connect


async def presence_frames(ws, until: float) -> list[dict]:
    """Every PRESENCE_UPDATE dispatch received within ``until`` seconds."""
    frames = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + until
    while (left := deadline - loop.time()) > 0:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if frame["op"] == "DISPATCH" and frame["t"] == "PRESENCE_UPDATE":
            frames.append(frame["d"])
    return frames


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
    frames = await presence_frames(owner_ws, 1.5)
    assert statuses(frames) == {space.member.id: "online", space.owner.id: "online"}
    assert all(d["community_id"] == space.community for d in frames)

    await member_ws.send(json.dumps({"op": "PRESENCE_UPDATE", "d": {"status": "dnd"}}))
    assert statuses(await presence_frames(owner_ws, 1.5)) == {space.member.id: "dnd"}
    await member_ws.send(json.dumps({"op": "PRESENCE_UPDATE", "d": {"status": "invisible"}}))
    assert statuses(await presence_frames(owner_ws, 1.5)) == {space.member.id: "offline"}
    await member_ws.send(json.dumps({"op": "PRESENCE_UPDATE", "d": {"status": "online"}}))
    assert statuses(await presence_frames(owner_ws, 1.5)) == {space.member.id: "online"}
    await member_ws.close()
    assert statuses(await presence_frames(owner_ws, 1.5)) == {space.member.id: "offline"}

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
