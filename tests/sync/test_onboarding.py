"""Rules screening across nodes: a member from another node accepts the rules with a signed event; a
post before acceptance, and a forged acceptance, are refused the same way by every node."""

from __future__ import annotations

from cryb_plugins.communities.onboarding_events import MemberOnboard
from cryb_plugins.content.events import MessageCreate

from cryb_node.clock import new_id
from tests.sync.conftest import make_community, mesh
from tests.sync.rogue import Rogue


async def refusal(fed, event_id: str) -> str | None:
    row = await fed.node.db.fetchone(
        "SELECT code FROM event_refusals WHERE event_id = ?", (bytes.fromhex(event_id),)
    )
    return None if row is None else row[0]


async def onboarded(fed, cid: str, user_id: str) -> int:
    sql = "SELECT count(*) FROM community_onboarded WHERE community_id = ? AND user_id = ?"
    return await fed.count(sql, cid, user_id)


async def test_rules_acceptance_and_pre_acceptance_posts_judged_alike(federation) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, general = await make_community(a, owner)
    ob = await a.ok("PUT", f"/communities/{cid}/onboarding", owner,
                    json={"rules": "Be kind.", "require_rules": True})  # fmt: skip
    await mesh([a, b, c], rounds=1)
    member = await b.user()  # homed on b
    await b.ok("PUT", f"/communities/{cid}/members/@me", member, json={})
    # b's own API refuses a post before acceptance, by the same rule
    status, body = await b.call("POST", f"/channels/{general}/messages", member, json={"content": "early"})
    assert (status, body["code"]) == (403, "rules_not_accepted"), body

    # b's operator writes a post and an acceptance of made-up rules straight into b's log anyway
    rogue = Rogue(b.node.data_dir)
    early = rogue.forge("message.create", MessageCreate(channel_id=general, content="forged early"),
                        community=cid, author=member.id, target=new_id())  # fmt: skip
    fake = rogue.forge("member.onboard", MemberOnboard(rules_hash="0" * 32), community=cid,
                       author=member.id, target=member.id)  # fmt: skip
    # and an acceptance signed for someone else: members accept for themselves only
    other = await a.user()
    await a.ok("PUT", f"/communities/{cid}/members/@me", other, json={})
    await mesh([a, b, c], rounds=1)
    proxy = rogue.forge("member.onboard", MemberOnboard(rules_hash=ob["rules_hash"]), community=cid,
                        author=member.id, target=other.id)  # fmt: skip
    await a.session(b)
    await c.session(b)
    for fed in (a, c):
        assert await refusal(fed, early) == "rules_not_accepted", fed.name
        assert await refusal(fed, fake) == "rules_changed", fed.name
        assert await refusal(fed, proxy) == "invalid_event", fed.name
        assert await fed.count("SELECT count(*) FROM content_messages WHERE content = 'forged early'") == 0
        assert await onboarded(fed, cid, other.id) == 0, fed.name

    # the real acceptance, from b's API, is a signed event every node applies; then posting works
    accepted = await b.ok("POST", f"/communities/{cid}/onboarding/accept", member,
                          json={"rules_hash": ob["rules_hash"]})  # fmt: skip
    assert accepted["me"]["can_post"]
    sent = await b.ok("POST", f"/channels/{general}/messages", member, json={"content": "hi all"})
    await mesh([a, b, c], rounds=1)
    for fed in (a, b, c):
        assert await fed.count("SELECT count(*) FROM content_messages WHERE id = ?", sent["id"]) == 1
        assert await onboarded(fed, cid, member.id) == 1, fed.name
    assert await a.state(cid) == await b.state(cid) == await c.state(cid)
