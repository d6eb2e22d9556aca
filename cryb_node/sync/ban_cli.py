"""`cryb ban user|node|list|remove`: node bans (bans.py), the same functions the admin API calls,
run against the node's database. Safe beside a serving node: it stops calling a banned peer within
seconds and brings its search index up to date by itself (bans.reindex_pending)."""

from __future__ import annotations

import time
from typing import Any, cast

import click

from cryb_node.command import emit, run_with_node
from cryb_node.node import Node
from cryb_node.problems import Problem

from . import bans


def _run(settings: Any, fn: Any) -> Any:
    cfg = settings.config()
    try:
        return run_with_node(cfg, settings.plugins(cfg), fn)
    except Problem as problem:
        click.echo(f"cryb: {problem.detail} ({problem.code})", err=True)
        raise SystemExit(1) from None


def _emit(data: Any, as_json: bool, text: str) -> None:
    emit(data, as_json, lambda _: text)


def _line(b: bans.NodeBan) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(b.created_at))
    return f"{b.id}  {b.kind:<4}  {b.label:<40} hidden={b.hidden:<5} {when}  {b.reason}"


reason_option = click.option("--reason", default="", help="Why (kept with the ban and in the audit log).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("ban")
def ban_group() -> None:
    """Node bans: refuse what a remote user or a whole peer node writes, and hide it here."""


def _add(settings: Any, kind: str, target: str, reason: str, as_json: bool) -> None:
    body = bans.NodeBanIn(
        kind=cast(bans.BanKind, kind), target=target, reason=reason
    )  # click.Choice checked it
    ban = _run(settings, lambda node: bans.add(node, body))
    text = f"banned {ban.label} ({ban.id}): hid {ban.hidden} events here"
    if ban.removed:
        text += f", {ban.removed} removals in communities homed here"
    _emit(ban, as_json, text)


@ban_group.command("user")
@click.argument("name")
@reason_option
@json_option
@click.pass_obj
def ban_user(settings: Any, name: str, reason: str, as_json: bool) -> None:
    """Ban a user of another node, named NAME@HOME (or by id): their events are refused here from
    now on and what they wrote is hidden (for everyone in communities homed here)."""
    _add(settings, "user", name, reason, as_json)


@ban_group.command("node")
@click.argument("ref")
@reason_option
@json_option
@click.pass_obj
def ban_node(settings: Any, ref: str, reason: str, as_json: bool) -> None:
    """Ban a node by its KEY (hex) or a pinned peer's URL or name: it is unpinned and cannot call
    us, and everything its users write is refused and hidden here."""
    _add(settings, "node", ref, reason, as_json)


@ban_group.command("list")
@json_option
@click.pass_obj
def ban_list(settings: Any, as_json: bool) -> None:
    """This node's bans, newest first, with how many of their events are hidden here."""
    rows = _run(settings, lambda node: bans.listing(node.db))
    _emit(rows, as_json, "\n".join(_line(b) for b in rows) or "no bans")


@ban_group.command("remove")
@click.argument("ban_id")
@json_option
@click.pass_obj
def ban_remove(settings: Any, ban_id: str, as_json: bool) -> None:
    """Lift a ban (its ID from `cryb ban list`): their events are accepted again and what was hidden
    here is shown again. Removals in communities homed here stay; a node stays unpinned."""

    async def go(node: Node) -> bans.Unbanned:
        return await bans.remove(node, ban_id)

    out = _run(settings, go)
    _emit(out, as_json, f"removed ban {out.id}: {out.restored} events shown again")
