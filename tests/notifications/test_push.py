"""Issue 8, acceptance 3: Web Push against a push service on loopback (an aiohttp server) that checks
the VAPID token and decrypts the payload with the subscription's private key (http_ece, as a browser
would; the node encrypts with http_ece too, so test_webpush_rfc8291.py checks it against the RFC's own
example); expired subscriptions (404/410) are pruned."""

from __future__ import annotations

import asyncio
import json
import os

import http_ece
import jwt
from aiohttp import web
from cryb_plugins.notifications.webpush import b64url, unb64url
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cryb_node.appkeys import NODE
from tests.content.conftest import call, make_space, ok
from tests.notifications.conftest import settle
from tests.support.waiting import eventually


class Browser:
    """A browser's push subscription keys (what PushManager.subscribe() creates)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def subscription(self, endpoint: str) -> dict:
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(self.public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(
            http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        )


async def push_service(aiohttp_server):
    received: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append((request.match_info["name"], dict(request.headers), await request.read()))
        return web.Response(status=410 if request.match_info["name"] == "gone" else 201)

    app = web.Application()
    app.router.add_post("/push/{name}", handle)
    server = await aiohttp_server(app)
    return server, received


async def test_push_payload_decrypts_with_the_subscription_keys_and_carries_a_valid_vapid_token(
    nc, aiohttp_server
):
    server, received = await push_service(aiohttp_server)
    space = await make_space(nc)
    alice, browser = space.member, Browser()
    endpoint = f"http://127.0.0.1:{server.port}/push/alice"
    sub = await ok(
        nc, "POST", "/notifications/push/subscriptions", alice, json=browser.subscription(endpoint)
    )
    assert sub["endpoint"] == endpoint
    await ok(
        nc, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": f"<@{alice.id}> ping"}
    )
    await eventually(lambda: received, 10, what="a push")
    name, headers, body = received[0]
    assert name == "alice" and headers["Content-Encoding"] == "aes128gcm" and int(headers["TTL"]) > 0
    payload = browser.decrypt(body)
    # The mention reads as a name (issue 21, part 3), resolved as the push is sent.
    username = await nc.app[NODE].db.fetchval("SELECT username FROM users_accounts WHERE id = ?", (alice.id,))
    assert payload["kind"] == "mention" and payload["body"] == f"@{username} ping"
    assert payload["title"] == "You were mentioned"
    # VAPID (RFC 8292): an ES256 JWT for this push service's origin, signed by the node's key.
    scheme, _, params = headers["Authorization"].partition(" ")
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    vapid_key = (await ok(nc, "GET", "/notifications/push/vapid-key"))["public_key"]
    assert scheme == "vapid" and fields["k"] == vapid_key
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(vapid_key))
    claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=f"http://127.0.0.1:{server.port}")
    assert claims["sub"].startswith("mailto:")
    # The push switch off for mentions: nothing more is pushed, the inbox still gets it.
    await ok(nc, "PATCH", "/notifications/preferences", alice, json={"kinds": {"mention": {"push": False}}})
    await ok(
        nc, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": f"<@{alice.id}> 2"}
    )
    await settle(nc)
    await asyncio.sleep(0.4)
    assert len(received) == 1
    assert len((await ok(nc, "GET", "/notifications", alice))["notifications"]) == 2


async def test_a_subscription_the_push_service_says_is_gone_is_pruned(nc, aiohttp_server):
    server, received = await push_service(aiohttp_server)
    space = await make_space(nc)
    alice = space.member
    gone = await ok(nc, "POST", "/notifications/push/subscriptions", alice,
                    json=Browser().subscription(f"http://127.0.0.1:{server.port}/push/gone"))  # fmt: skip
    live_browser = Browser()
    await ok(nc, "POST", "/notifications/push/subscriptions", alice,
             json=live_browser.subscription(f"http://127.0.0.1:{server.port}/push/live"))  # fmt: skip
    for i in range(2):
        await ok(
            nc,
            "POST",
            f"/channels/{space.text}/messages",
            space.owner,
            json={"content": f"<@{alice.id}> {i}"},
        )
        await eventually(lambda i=i: len([r for r in received if r[0] == "live"]) > i, 10)
    # The first message reached both; after the 410 the gone subscription was forgotten.
    assert [r[0] for r in received].count("gone") == 1
    name = await nc.app[NODE].db.fetchval("SELECT username FROM users_accounts WHERE id = ?", (alice.id,))
    assert [live_browser.decrypt(r[2])["body"] for r in received if r[0] == "live"] == [
        f"@{name} 0", f"@{name} 1"
    ]  # fmt: skip
    status, _ = await call(nc, "DELETE", f"/notifications/push/subscriptions/{gone['id']}", alice)
    assert status == 404
