"""Outgoing event webhooks (issue 26, acceptance 3): a loopback receiver checks each delivery's
signature the way docs/integrations.md tells receivers to; a delivery is retried after the
receiver's outage and the subscription shows its last status; private targets are refused unless
the admin's allow-list names them; only community managers and node admins subscribe."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from pathlib import Path

from aiohttp import web

from cryb_node.app import build_app
from tests.integrations.conftest import call, hooks_config, make_space, ok, serve


class Receiver:
    """A loopback web hook receiver; ``down`` makes it answer 503 (an outage)."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.attempts = 0
        self.down = False
        self.app = web.Application()
        self.app.router.add_post("/hook", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.down:
            return web.Response(status=503)
        self.got.append((dict(request.headers), await request.read()))
        return web.Response(status=204)


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """What docs/integrations.md asks of a receiver (the same code, in Python)."""
    ts = headers["X-Cryb-Timestamp"]
    if abs((now or time.time()) - int(ts)) > 300:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Cryb-Signature"])


async def until(check, timeout: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return result


async def subscribe(space, url, kinds=("message.create",), user=None):
    return await ok(space.client, "POST", "/event-webhooks", user or space.owner,
                    json={"community_id": space.community, "url": url, "kinds": list(kinds)})  # fmt: skip


async def test_the_receiver_verifies_each_deliverys_signature(space):
    rx = Receiver()
    runner, base = await serve(rx.app)
    try:
        sub = await subscribe(space, f"{base}/hook")
        assert len(sub["secret"]) >= 40
        sent = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.member,
                        json={"content": "hello hooks"})  # fmt: skip
        await until(lambda: asyncio.sleep(0, bool(rx.got)))
        headers, body = rx.got[0]
        assert verify(sub["secret"], headers, body)
        assert not verify("wrong-secret", headers, body)
        assert not verify(sub["secret"], headers, body + b" ")  # a changed body fails
        event = json.loads(body)
        assert event["kind"] == "message.create" == headers["X-Cryb-Event"]
        assert event["target_id"] == sent["id"] and event["data"]["content"] == "hello hooks"
        assert event["community_id"] == space.community and event["author_id"] == space.member.id

        async def recorded():
            listed = await ok(space.client, "GET", "/event-webhooks", space.owner,
                              params={"community_id": space.community})  # fmt: skip
            (row,) = listed["subscriptions"]
            return row if row["last_status"] is not None else None

        row = await until(recorded)  # the node records the answer just after the receiver sent it
        assert row["last_status"] == 204 and row["last_error"] is None and row["secret"] is None
    finally:
        await runner.cleanup()


async def test_a_delivery_is_retried_after_the_receivers_outage(space):
    rx = Receiver()
    rx.down = True
    runner, base = await serve(rx.app)
    try:
        sub = await subscribe(space, f"{base}/hook")
        await ok(
            space.client, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "x"}
        )
        await until(lambda: asyncio.sleep(0, rx.attempts >= 2))  # tried, backed off, tried again
        listed = await ok(space.client, "GET", "/event-webhooks", space.owner,
                          params={"community_id": space.community})  # fmt: skip
        row = listed["subscriptions"][0]
        assert row["last_status"] == 503 and "503" in row["last_error"] and row["pending"] == 1
        rx.down = False
        await until(lambda: asyncio.sleep(0, bool(rx.got)))
        assert verify(sub["secret"], *rx.got[0])

        async def sent():
            got = await ok(space.client, "GET", f"/event-webhooks/{sub['id']}/deliveries", space.owner)
            return got["deliveries"] if got["deliveries"][0]["sent_at"] else None

        (d,) = await until(sent)
        assert d["attempts"] >= 3 and d["sent_at"] and d["last_status"] == 204 and d["next_at"] is None
        assert len(rx.got) == 1  # delivered once, not once per attempt
    finally:
        await runner.cleanup()


async def test_private_targets_are_refused_without_the_allow_list(aiohttp_client, tmp_path: Path):
    c = await aiohttp_client(build_app(hooks_config(tmp_path / "data", {"allow_networks": []})))
    space = await make_space(c)
    refused = ("http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://10.1.2.3/hook",
               "http://169.254.169.254/latest/meta-data", "http://[::1]/hook",
               "http://[::ffff:127.0.0.1]/x")  # fmt: skip
    for url in refused:
        body = {"community_id": space.community, "url": url, "kinds": ["message.create"]}
        status, got = await call(c, "POST", "/event-webhooks", space.owner, json=body)
        assert (status, got["code"], got["field"]) == (400, "address_refused", "url"), url


async def test_the_allow_list_admits_only_the_networks_it_names(space):
    body = {"community_id": space.community, "url": "http://10.0.0.7/h", "kinds": ["post.create"]}
    status, body = await call(space.client, "POST", "/event-webhooks", space.owner, json=body)
    assert (status, body["code"]) == (400, "address_refused")


async def test_only_community_managers_and_node_admins_subscribe(space):
    c = space.client
    body = {"community_id": space.community, "url": "http://127.0.0.1:9/h", "kinds": ["message.create"]}
    assert (await call(c, "POST", "/event-webhooks", space.member, json=body))[0] == 403
    assert (await call(c, "POST", "/event-webhooks", space.owner, json={**body, "community_id": None}))[
        0
    ] == 403
    status, got = await call(c, "POST", "/event-webhooks", space.owner, json={**body, "kinds": ["no.such"]})
    assert (status, got["field"]) == (400, "kinds[0]")
    sub = await ok(c, "POST", "/event-webhooks", space.owner, json=body)
    assert (await call(c, "GET", f"/event-webhooks/{sub['id']}/deliveries", space.member))[0] == 403
    assert (await call(c, "DELETE", f"/event-webhooks/{sub['id']}", space.member))[0] == 403
    await ok(c, "DELETE", f"/event-webhooks/{sub['id']}", space.owner)


async def test_a_node_admin_subscribes_to_every_community(space):
    from tests.test_admin_reports import new_admin

    c = space.client
    admin = await new_admin(c)
    rx = Receiver()
    runner, base = await serve(rx.app)
    try:
        body = {"url": f"{base}/hook", "kinds": ["community.create", "message.create"]}
        sub = await ok(c, "POST", "/event-webhooks", admin, json=body)
        assert sub["community_id"] is None
        other = await ok(c, "POST", "/communities", space.member, json={"name": "elsewhere", "public": False})
        chans = await ok(c, "GET", f"/communities/{other['id']}/channels", space.member)
        text = next(ch["id"] for ch in chans["channels"] if ch["kind"] == "text")
        await ok(c, "POST", f"/channels/{text}/messages", space.member, json={"content": "private hello"})
        await until(lambda: asyncio.sleep(0, len(rx.got) >= 2))
        kinds = [json.loads(b)["kind"] for _, b in rx.got]
        assert kinds == ["community.create", "message.create"]
        assert all(verify(sub["secret"], h, b) for h, b in rx.got)
        listed = await ok(c, "GET", "/event-webhooks", admin)
        assert [s["id"] for s in listed["subscriptions"]] == [sub["id"]]
        # a community's owner does not see (or remove) the node admin's subscription
        assert (await call(c, "GET", "/event-webhooks", space.owner))[0] == 403
        assert (await call(c, "DELETE", f"/event-webhooks/{sub['id']}", space.owner))[0] == 403
    finally:
        await runner.cleanup()


async def test_direct_messages_are_never_sent_even_to_a_node_admin(space):
    from tests.test_admin_reports import new_admin

    c = space.client
    admin = await new_admin(c)
    rx = Receiver()
    runner, base = await serve(rx.app)
    try:
        await ok(
            c, "POST", "/event-webhooks", admin, json={"url": f"{base}/hook", "kinds": ["message.create"]}
        )
        dm = await ok(c, "POST", "/dms", space.member, json={"recipients": [space.owner.id]})
        await ok(c, "POST", f"/channels/{dm['id']}/messages", space.member, json={"content": "just us"})
        await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "in public"})
        await until(lambda: asyncio.sleep(0, bool(rx.got)))
        await asyncio.sleep(0.3)  # a DM delivery, had one been queued, would have gone out first
        assert [json.loads(b)["data"]["content"] for _, b in rx.got] == ["in public"]
    finally:
        await runner.cleanup()
