"""`cryb media gc` and `cryb media stats`: the same functions the scheduled job and the API use."""

from __future__ import annotations

from typing import Any

import click
import msgspec

from cryb_node.node import Node

from . import gc
from .service import MediaService


def _run(settings: Any, fn: Any) -> Any:
    from cryb_node.cli import run_with_node

    cfg = settings.config()

    async def go(node: Node) -> Any:
        media = node.services.get(MediaService)
        if media is None:
            raise click.ClickException("the media plugin is not enabled")
        return await fn(media)

    return run_with_node(cfg, settings.plugins(cfg), go)


def _print(value: msgspec.Struct, as_json: bool) -> None:
    data = msgspec.to_builtins(value)
    if as_json:
        click.echo(msgspec.json.encode(data).decode())
        return
    for key, item in data.items():
        if isinstance(item, dict):
            item = ", ".join(f"{k}={v}" for k, v in item.items()) or "-"
        click.echo(f"{key:<20} {item}")


def media_group() -> click.Group:
    @click.group("media")
    def group() -> None:
        """Uploaded media: cleanup and figures."""

    @group.command("gc")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def gc_cmd(settings: Any, as_json: bool) -> None:
        """Delete orphaned uploads, unreferenced stored files and stale temp files now."""
        _print(_run(settings, gc.collect), as_json)

    @group.command("stats")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def stats_cmd(settings: Any, as_json: bool) -> None:
        """Uploads, stored bytes (each distinct file once) and orphans, by kind."""
        _print(_run(settings, gc.stats), as_json)

    return group
