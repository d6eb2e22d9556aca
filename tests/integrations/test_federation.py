"""A webhook message is a signed event like any other: it replicates to a peer, which shows it with
the integration's name and reaches the same state hash."""

from __future__ import annotations

from tests.sync.conftest import federation as federation
from tests.sync.conftest import make_community, mesh


async def test_a_webhook_message_replicates_with_its_integration(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    hook = await a.ok("POST", f"/channels/{text}/webhooks", owner, json={"name": "Monitor"})
    resp = await a.client.post(f"/api/webhooks/{hook['id']}/{hook['token']}", json={"text": "db1 is down"})
    assert resp.status == 200
    await b.session(a)
    reader = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", reader, json={})
    (msg,) = (await b.ok("GET", f"/channels/{text}/messages", reader))["messages"]
    assert msg["content"] == "db1 is down" and msg["integration"]["name"] == "Monitor"
    assert msg["author_id"] == owner.id
    await mesh([a, b])  # b's new member's join goes back to a
    assert await a.state(cid) == await b.state(cid)
    # the secret URL works only on the node that holds the webhook
    resp = await b.client.post(f"/api/webhooks/{hook['id']}/{hook['token']}", json={"content": "x"})
    assert resp.status == 404
