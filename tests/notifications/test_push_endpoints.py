"""The node POSTs to Web Push endpoints: a browser may not point it at the node's own network."""

from __future__ import annotations

import pytest

from cryb_node.app import build_app
from tests.conftest import make_config
from tests.users_fixtures import FAST_HASHING, auth, register_user

KEYS = {"p256dh": "BOr" + "A" * 84, "auth": "A" * 22}


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1/push",
        "https://localhost:8443/p",
        "https://10.1.2.3/p",
        "https://169.254.169.254/latest",
        "https://[::1]/p",
        "http://push.example.com/p",
    ],
)
async def test_internal_or_plain_http_push_endpoints_are_refused(aiohttp_client, tmp_path, endpoint):
    client = await aiohttp_client(build_app(make_config(tmp_path / "data", plugin={"users": FAST_HASHING})))
    _, token = await register_user(client)
    resp = await client.post(
        "/api/v1/notifications/push/subscriptions",
        headers=auth(token),
        json={"endpoint": endpoint, "keys": KEYS},
    )
    body = await resp.json()
    assert resp.status == 400 and body["field"] == "endpoint", body
