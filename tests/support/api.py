"""Calling a test node's HTTP API as a registered user: the `User` a test holds and `call`/`ok`,
shared by the plugin test packages (each conftest re-exports them for its tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.users_fixtures import auth, register_user

API = "/api/v1"


@dataclass
class User:
    id: str
    token: str
    name: str = ""

    @property
    def h(self) -> dict[str, str]:
        return auth(self.token)


async def new_user(client: Any) -> User:
    return User(*await register_user(client))


async def call(client: Any, method: str, path: str, user: User | None = None, **kw: Any) -> tuple[int, Any]:
    """(status, JSON body or None) of ``method API+path``, as ``user`` if given."""
    resp = await client.request(method, API + path, headers=user.h if user else {}, **kw)
    body = await resp.json() if resp.status != 204 and resp.content_length != 0 else None
    return resp.status, body


async def ok(client: Any, method: str, path: str, user: User | None = None, **kw: Any) -> Any:
    """The body of a call that must succeed."""
    status, body = await call(client, method, path, user, **kw)
    assert status < 300, (method, path, status, body)
    return body
