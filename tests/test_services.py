"""The typed service registry: provided in each plugin's setup once the database is open, looked up
by ServiceKey, frozen once the node starts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cryb_node.node import Node
from cryb_node.plugins import Loaded, Plugin
from cryb_node.services import PERMISSIONS, ServiceKey, ServiceMissing, Services
from tests.conftest import make_config

COUNTER: ServiceKey[list[str]] = ServiceKey("test.counter")


class Recorder(Plugin):
    """Provides COUNTER in setup (reading the database to prove it is open) and notes the order."""

    name = "recorder"

    def setup(self, node: Node) -> None:
        seen: list[str] = []
        node.services.provide(COUNTER, seen)
        seen.append("setup")

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        seen = node.services.require(COUNTER)
        seen.append(f"lifespan sees {await node.db.fetchval('SELECT count(*) FROM events')} events")
        yield
        seen.append("stopped")


def test_a_key_is_provided_once_and_required_by_its_type() -> None:
    services = Services()
    services.provide(COUNTER, ["a"])
    assert services.require(COUNTER) == ["a"]
    with pytest.raises(ValueError, match="already provided"):
        services.provide(COUNTER, ["b"])


def test_require_of_a_service_nobody_provides_raises_and_get_says_none() -> None:
    services = Services()
    assert services.get(PERMISSIONS) is None
    with pytest.raises(ServiceMissing, match="permissions"):
        services.require(PERMISSIONS)


async def test_setup_runs_with_the_database_open_before_lifespans_and_freezes_the_registry(tmp_path: Path):
    config = make_config(tmp_path / "data", plugins={"disabled": ["communities"]})
    node = Node(config)
    node.plugins.append(Loaded(Recorder(), None, "tests.test_services:Recorder"))
    async with node.running(background=False):
        seen = node.services.require(COUNTER)
        assert seen == ["setup", "lifespan sees 0 events"]
        with pytest.raises(RuntimeError, match="before the node starts"):
            node.services.provide(ServiceKey[int]("late"), 1)
        # The communities plugin is disabled: nobody provides permissions.
        assert node.services.get(PERMISSIONS) is None
    assert seen[-1] == "stopped"
