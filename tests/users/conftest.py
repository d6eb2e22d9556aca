"""Fixtures for the users plugin's tests: a node with fast password hashing, and helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryb_plugins.users.service import USERS, Users

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.support.waiting import eventually
from tests.users_fixtures import FAST_HASHING


def users_config(data_dir: Path, users: dict[str, Any] | None = None, **sections: Any):
    return make_config(data_dir, plugin={"users": {**FAST_HASHING, **(users or {})}}, **sections)


@pytest.fixture
def ucfg(tmp_path: Path):
    return users_config(tmp_path / "data")


@pytest.fixture
async def uclient(aiohttp_client, ucfg):
    return await aiohttp_client(build_app(ucfg))


def users_service(client: Any) -> Users:
    users = client.app[NODE].services.require(USERS)
    assert users is not None
    return users


async def count(client: Any, sql: str, params: tuple = ()) -> int:
    return await client.app[NODE].db.fetchval(sql, params)


class Inbox:
    """Mails received by a real SMTP server (aiosmtpd) on loopback."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def wait(self, count: int = 1, timeout: float = 5.0) -> list[Any]:
        await eventually(lambda: len(self.messages) >= count, timeout, what=f"{count} mail(s)")
        return self.messages


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
async def mail_client(aiohttp_client, tmp_path, smtp_server):
    inbox, port = smtp_server
    cfg = users_config(
        tmp_path / "data", mail={"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none"}
    )
    return await aiohttp_client(build_app(cfg)), inbox
