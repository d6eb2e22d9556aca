"""What every `cryb` command shares: the top-level options (Settings), opening the node for one
command (run_with_node) and printing a result as text or JSON (emit). The core's commands and the
plugins' import these from here, so none of them imports the `cryb` group itself (cli.py)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click
import msgspec

from cryb_node import config as configmod
from cryb_node.node import Node
from cryb_node.plugins import Loaded
from cryb_node.plugins import load as load_plugins

T = TypeVar("T")


class Settings:
    """What the top-level options resolve to; commands load config lazily through it."""

    def __init__(self, config_path: str | None, data_dir: str | None) -> None:
        self.config_path = config_path
        self.data_dir = data_dir
        self._config: configmod.Config | None = None
        self._plugins: list[Loaded] | None = None

    def config(self, **overrides: dict[str, Any]) -> configmod.Config:
        try:
            cfg = configmod.load(self.config_path)
            node = {"data_dir": self.data_dir} if self.data_dir else {}
            return configmod.with_overrides(cfg, node=node, **overrides)
        except configmod.ConfigError as err:
            fail_config(err)

    def plugins(self, cfg: configmod.Config) -> list[Loaded]:
        try:
            return load_plugins(cfg)
        except configmod.ConfigError as err:
            fail_config(err)


def fail_config(err: Exception) -> NoReturn:
    click.echo(f"cryb: configuration error: {err}", err=True)
    sys.exit(2)


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2))
    else:
        click.echo(text(data))


def run_with_node(cfg: configmod.Config, plugins: list[Loaded], fn: Callable[[Node], Awaitable[T]]) -> T:
    """Open the node (no HTTP, no background consumers) for a CLI command, run ``fn``, close it."""

    async def main() -> T:
        node = Node(configmod.with_served_url(cfg), plugins)
        async with node.running(background=False):
            return await fn(node)

    return asyncio.run(main())
