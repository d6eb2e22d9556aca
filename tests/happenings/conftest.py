"""Fixtures for the scheduled events tests: a real node on loopback with a node clock the test moves,
a public community with a text channel, its owner and a member (tests/content's Space)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryb_node.app import build_app
from tests.content.conftest import Space, User, call, content_config, make_space, new_user, ok
from tests.support.clock import SteppedClock

__all__ = ["Space", "User", "call", "event_body", "make_space", "new_user", "ok"]


@pytest.fixture
async def hc(aiohttp_client, tmp_path: Path, clock: SteppedClock):
    return await aiohttp_client(build_app(content_config(tmp_path / "data"), clock=clock))


@pytest.fixture
async def space(hc) -> Space:
    return await make_space(hc)


def event_body(**over: object) -> dict:
    body = {
        "title": "Game night",
        "description": "Bring snacks",
        "start": "2031-12-24T18:00",
        "end": "2031-12-24T21:30",
        "time_zone": "Europe/Berlin",
        "location_text": "Room 4",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}
