"""Helpers for the sign-up control tests: a node in a registration mode, sign-ups over HTTP, node
admins made the way `cryb user create --admin` makes them, and the audited refusals."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from cryb_plugins.users.registration import REGISTRATION, Registration
from cryb_plugins.users.service import CLI, USERS

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.clock import Clock
from tests.users.conftest import users_config
from tests.users_fixtures import PASSWORD, auth


def reg_config(data_dir: Path, mode: str = "open", users: dict[str, Any] | None = None, **sections: Any):
    """Rate limits are off unless a test turns them on (the sign-up limits follow the switch)."""
    sections.setdefault("rate_limits", {"enabled": False})
    return users_config(data_dir, {"registration": mode, **(users or {})}, **sections)


async def reg_client(
    aiohttp_client: Any, tmp_path: Path, mode: str = "open", clock: Clock | None = None, **kw: Any
) -> Any:
    """A node in ``mode``; with ``clock`` (the SteppedClock fixture) a test moves its time forward."""
    return await aiohttp_client(build_app(reg_config(tmp_path / "data", mode, **kw), clock=clock))


def registration(client: Any) -> Registration:
    found = client.app[NODE].services.require(REGISTRATION)
    assert found is not None
    return found


def body(username: str | None = None, **extra: Any) -> dict[str, Any]:
    username = username or f"u_{secrets.token_hex(4)}"
    return {"username": username, "email": f"{username}@example.test", "password": PASSWORD, **extra}


async def signup(
    client: Any, username: str | None = None, headers: dict[str, str] | None = None, **extra: Any
):
    """POST a sign-up; returns (status, JSON body)."""
    resp = await client.post("/api/v1/auth/register", json=body(username, **extra), headers=headers or {})
    return resp.status, await resp.json()


async def node_admin(client: Any) -> tuple[str, dict[str, str]]:
    """(user id, auth headers) of a node admin, made with the library call the CLI makes."""
    users = client.app[NODE].services.require(USERS)
    name = f"admin_{secrets.token_hex(3)}"
    user_id, pair = await users.create_account(name, f"{name}@example.test", PASSWORD, client=CLI, admin=True)
    assert pair is not None
    return user_id, auth(pair.access_token)


async def member(client: Any) -> tuple[str, dict[str, str]]:
    """A plain member, made by the library whatever the mode (an admin-made account)."""
    users = client.app[NODE].services.require(USERS)
    name = f"m_{secrets.token_hex(3)}"
    user_id, pair = await users.create_account(name, f"{name}@example.test", PASSWORD, client=CLI)
    assert pair is not None
    return user_id, auth(pair.access_token)


async def refusals(client: Any) -> list[str]:
    """The reasons of the audited sign-up refusals, oldest first."""
    rows = await client.app[NODE].db.fetchall(
        "SELECT json_extract(detail, '$.reason') FROM users_audit"
        " WHERE action = 'registration.refused' ORDER BY id"
    )
    return [r[0] for r in rows]


async def accounts_named(client: Any, *names: str) -> int:
    marks = ",".join("?" * len(names))
    return await client.app[NODE].db.fetchval(
        f"SELECT count(*) FROM users_accounts WHERE username_key IN ({marks})",
        tuple(n.lower() for n in names),
    )


async def login(client: Any, username: str, password: str = PASSWORD) -> tuple[int, Any]:
    resp = await client.post("/api/v1/auth/login", json={"login": username, "password": password})
    return resp.status, await resp.json()
