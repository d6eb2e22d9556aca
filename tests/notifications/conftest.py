"""Fixtures for the notifications tests: a real node (users, communities, content, notifications) on
loopback with fast outbox timings, an SMTP server (aiosmtpd) when a test needs mail, and helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config

FAST = {
    "poll_s": 0.1,
    "retry_base_s": 0.2,
    "retry_max_s": 0.4,
    "breaker_threshold": 2,
    "breaker_cooldown_s": 0.3,
    "push_allow_http": True,
    "push_timeout_s": 5.0,
}


def notif_config(data_dir: Path, smtp_port: int | None = None, **settings: Any):
    from tests.users_fixtures import FAST_HASHING

    sections: dict[str, Any] = {
        "plugin": {"users": dict(FAST_HASHING), "notifications": {**FAST, **settings}}
    }
    if smtp_port is not None:
        sections["mail"] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "security": "none",
            "timeout_s": 2,
        }
    return make_config(data_dir, rate_limits={"enabled": False}, **sections)


@pytest.fixture
async def nc(aiohttp_client, tmp_path: Path):
    return await aiohttp_client(build_app(notif_config(tmp_path / "data")))


def parts(client: Any):
    from cryb_plugins.notifications.parts import PARTS

    return client.app[NODE].services.require(PARTS)


async def settle(client: Any) -> None:
    """Wait until the notifications consumer has handled everything committed so far."""
    await client.app[NODE].bus.consumers["notifications"].caught_up()


async def verify_email(client: Any, user_id: str) -> None:
    # Arrange only: the users plugin's own tests cover the verification link itself.
    await client.app[NODE].db.write(
        lambda conn: conn.execute("UPDATE users_accounts SET email_verified = 1 WHERE id = ?", (user_id,))
    )
