"""SCHEDULED_EVENT_UPDATE over the gateway: members' open sockets get each change with their own
answer (my_rsvp); someone who is not a member receives nothing, even of a public community."""

from __future__ import annotations

import contextlib

from tests.content.test_realtime import connect, next_dispatch

from .conftest import event_body, new_user, ok

NAME = "SCHEDULED_EVENT_UPDATE"


async def test_members_get_live_updates_with_their_own_answer(space) -> None:
    c = space.client
    outsider = await new_user(c)
    owner_ws, _ = await connect(c, space.owner.token)
    member_ws, _ = await connect(c, space.member.token)
    outsider_ws, _ = await connect(c, outsider.token)
    try:
        ev = await ok(c, "POST", f"/communities/{space.community}/events", space.owner, json=event_body())
        for ws in (owner_ws, member_ws):
            frame = await next_dispatch(ws, NAME)
            assert frame["d"]["id"] == ev["id"] and frame["d"]["title"] == "Game night"
        await ok(c, "PUT", f"/scheduled-events/{ev['id']}/rsvp", space.member, json={"status": "going"})
        mine = (await next_dispatch(member_ws, NAME))["d"]
        theirs = (await next_dispatch(owner_ws, NAME))["d"]
        assert (mine["my_rsvp"], mine["going_count"]) == ("going", 1)
        assert (theirs["my_rsvp"], theirs["going_count"], theirs["going"]) == ("none", 1, [space.member.id])
        with contextlib.suppress(TimeoutError):
            frame = await next_dispatch(outsider_ws, timeout=0.5)
            raise AssertionError(f"a non-member received {frame}")
    finally:
        for ws in (owner_ws, member_ws, outsider_ws):
            await ws.close()
