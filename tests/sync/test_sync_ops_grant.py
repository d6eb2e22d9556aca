"""Granting a member homed on a peer access to a private channel sends the channel's history to
that peer within seconds (not at the next periodic reconciliation), by an overwrite or a role."""

from __future__ import annotations

from cryb_node.services import Perm
from tests.support.waiting import eventually
from tests.sync.conftest import Fed, make_community

VIEW = int(Perm.VIEW_CHANNEL)
PROMPT_S = 5.0  # "within a few seconds"; the periodic reconciliation runs every 300 s


async def history_on(fed: Fed, channel: str) -> int:
    return await fed.count("SELECT count(*) FROM content_messages WHERE channel_id = ?", channel)


async def private_channel(fed: Fed, owner, cid: str, name: str, history: int) -> str:
    ch = await fed.ok("POST", f"/communities/{cid}/channels", owner, json={"name": name, "kind": "text"})
    await fed.ok("PUT", f"/channels/{ch['id']}/overwrites/role/{cid}", owner, json={"deny": VIEW})
    for i in range(history):
        await fed.ok("POST", f"/channels/{ch['id']}/messages", owner, json={"content": f"{name} {i}"})
    return ch["id"]


async def test_history_reaches_the_peer_within_seconds_of_a_grant(federation) -> None:
    # background workers as in `cryb serve`, with the default intervals
    a, b = await federation(2, auto=True)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    bob = await b.user()

    async def bob_joined() -> bool:  # once b has the community
        return (await b.call("PUT", f"/communities/{cid}/members/@me", bob, json={}))[0] < 300

    async def a_knows_bob() -> bool:
        sql = "SELECT count(*) FROM community_members WHERE community_id = ? AND user_id = ?"
        return await a.count(sql, cid, bob.id) == 1

    await eventually(bob_joined, 15)
    await eventually(a_knows_bob, 15)
    staff = await private_channel(a, owner, cid, "staff", 4)
    mods = await private_channel(a, owner, cid, "mods", 3)
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "for everyone"})

    async def public_arrived() -> bool:
        return await b.count("SELECT count(*) FROM content_messages WHERE channel_id = ?", text) == 1

    await eventually(public_arrived, 15)
    assert await history_on(b, staff) == await history_on(b, mods) == 0

    # an overwrite for bob
    await a.ok("PUT", f"/channels/{staff}/overwrites/member/{bob.id}", owner, json={"allow": VIEW})
    await eventually(lambda: _has(b, staff, 4), PROMPT_S, what="#staff history on b after the grant")
    assert await history_on(b, mods) == 0

    async def bob_reads_it_on_b() -> bool:  # b's permission cache follows its bus
        status, body = await b.call("GET", f"/channels/{staff}/messages", bob)
        return status == 200 and len(body["messages"]) == 4

    await eventually(bob_reads_it_on_b, PROMPT_S)

    # a role that may view #mods, given to bob
    role = await a.ok("POST", f"/communities/{cid}/roles", owner, json={"name": "mods", "perms": 0})
    await a.ok("PUT", f"/channels/{mods}/overwrites/role/{role['id']}", owner, json={"allow": VIEW})
    assert await history_on(b, mods) == 0
    await a.ok("PUT", f"/communities/{cid}/members/{bob.id}/roles/{role['id']}", owner)
    await eventually(lambda: _has(b, mods, 3), PROMPT_S, what="#mods history on b after the role was given")


async def _has(fed: Fed, channel: str, n: int) -> bool:
    return await history_on(fed, channel) == n
