"""Helpers for any plugin's tests that need signed-in users: register over HTTP, get a token.

    from tests.users_fixtures import register_user, auth

    user_id, token = await register_user(client)            # a fresh random user
    resp = await client.get("/api/v1/users/@me", headers=auth(token))

The ``registered_user`` fixture does the same on the shared ``client`` fixture.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

PASSWORD = "correct horse battery staple"
# argon2id at libsodium's minimum cost (1 pass, 8 KiB): the same code path, fast enough for tests.
FAST_HASHING = {"argon2_opslimit": 1, "argon2_memlimit": 8192}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register_user(
    client: Any,
    username: str | None = None,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    **extra: Any,
) -> tuple[str, str]:
    """Register a user over HTTP; returns (user_id, access_token). Fails the test on any error."""
    username = username or f"u_{secrets.token_hex(4)}"
    resp = await client.post(
        "/api/v1/auth/register",
        json={
            "username": username,
            "email": email or f"{username}@example.test",
            "password": password,
            **extra,
        },
    )
    body = await resp.json()
    assert resp.status == 201, body
    return body["user"]["id"], body["access_token"]


def renewed(client: Any, token: str) -> str:
    """A fresh access token for the session ``token`` belongs to, as its client would get by
    refreshing: for a test that moves the node's clock (SteppedClock) past an access token's life,
    since access tokens expire by the node's clock."""
    import jwt
    from cryb_plugins.users.service import USERS

    from cryb_node.appkeys import NODE

    claims = jwt.decode(token, options={"verify_signature": False})
    tokens = client.app[NODE].services.require(USERS).tokens
    return tokens.issue(claims["sub"], claims["sid"], bool(claims.get("adm")))


@pytest.fixture
async def registered_user(client: Any) -> tuple[str, str]:
    """(user_id, access_token) of a fresh user on the ``client`` app."""
    return await register_user(client)
