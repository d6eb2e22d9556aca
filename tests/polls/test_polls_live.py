"""POLL_UPDATE over the gateway: members who may read the channel receive every vote's new counts
(with the voter unless the poll is anonymous); a member the channel is hidden from receives nothing."""

from __future__ import annotations

import asyncio
import json

from cryb_node.services import Perm
from tests.content.conftest import make_space
from tests.content.test_realtime import connect, next_dispatch
from tests.polls.test_polls_api import poll_message
from tests.support.api import ok


async def test_votes_are_live_for_viewers_only_and_anonymous_ones_name_nobody(cc) -> None:
    space = await make_space(cc)
    c, owner, alice = cc, space.owner, space.member
    carol = await space.join()
    role = await ok(c, "POST", f"/communities/{space.community}/roles", owner, json={"name": "in"})
    await ok(c, "PUT", f"/communities/{space.community}/members/{alice.id}/roles/{role['id']}", owner)
    await ok(c, "PUT", f"/channels/{space.text}/overwrites/role/{space.community}", owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    await ok(c, "PUT", f"/channels/{space.text}/overwrites/role/{role['id']}", owner,
             json={"allow": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    open_poll = await poll_message(space)
    secret_poll = await poll_message(space, anonymous=True)
    ws_owner, _ = await connect(c, owner.token)
    ws_carol, _ = await connect(c, carol.token)
    try:
        await ok(c, "PUT", f"/polls/{open_poll['id']}/vote", alice, json={"choices": [2]})
        got = (await next_dispatch(ws_owner, "POLL_UPDATE"))["d"]
        assert got["id"] == open_poll["id"] and got["counts"] == [0, 0, 1] and got["voters"] == 1
        assert (got["user_id"], got["choices"]) == (alice.id, [2])
        await ok(c, "PUT", f"/polls/{secret_poll['id']}/vote", alice, json={"choices": [0]})
        got = (await next_dispatch(ws_owner, "POLL_UPDATE"))["d"]
        assert got["id"] == secret_poll["id"] and got["counts"] == [1, 0, 0]
        assert "user_id" not in got and alice.id not in json.dumps(got)
        await ok(c, "POST", f"/polls/{open_poll['id']}/end", owner)
        got = (await next_dispatch(ws_owner, "POLL_UPDATE"))["d"]
        assert got["id"] == open_poll["id"] and got["ended_at"] is not None
        # carol cannot see the channel: none of it reached her
        try:
            frame = await next_dispatch(ws_carol, timeout=0.5)
        except TimeoutError:
            frame = None
        assert frame is None
    finally:
        await ws_owner.close()
        await ws_carol.close()
        await asyncio.sleep(0)
