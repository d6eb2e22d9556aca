"""`cryb community list|show` and `cryb mod ban|unban|kick|timeout|reports|log` for node operators.

Each command opens the node's database and calls the same service functions as the HTTP routes,
acting as the node itself (an admin). A running node notices the change within a few seconds.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import click

from cryb_node.command import Settings, emit, run_with_node
from cryb_node.node import Node
from cryb_node.problems import Problem

from . import schemas as s
from .parts import PARTS, Parts
from .service import NODE

T = TypeVar("T")


def _run(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    cfg = settings.config()

    async def go(node: Node) -> T:
        return await fn(node.services.require(PARTS))

    try:
        return run_with_node(cfg, settings.plugins(cfg), go)
    except Problem as problem:
        where = f" ({problem.field})" if problem.field else ""
        click.echo(f"cryb: {problem.code}: {problem.detail}{where}", err=True)
        sys.exit(1)


def when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@click.group("community")
def community() -> None:
    """Communities on this node."""


@community.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def community_list(settings: Settings, as_json: bool) -> None:
    """Every community (public and private)."""

    async def go(p: Any) -> list[s.CommunityOut]:
        out, after = [], None
        while True:
            page = await p.communities.list(NODE, s.CommunityQuery(after=after, limit=200))
            out += page.communities
            if page.next is None:
                return out
            after = page.next

    rows = _run(settings, go)
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{c.id}  {'public ' if c.public else 'private'}  {c.member_count:>6} members  {c.name}"
                for c in rs
            )
            or "no communities"
        ),
    )


@community.command("show")
@click.argument("community_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def community_show(settings: Settings, community_id: str, as_json: bool) -> None:
    """One community with its roles and channels."""

    async def go(p: Any) -> dict[str, Any]:
        c = p.communities
        return {
            "community": await c.get(NODE, community_id),
            "roles": (await c.roles(NODE, community_id)).roles,
            "channels": (await c.channels(NODE, community_id)).channels,
        }

    data = _run(settings, go)

    def text(d: dict[str, Any]) -> str:
        c = d["community"]
        lines = [
            f"{c.name} ({c.id})",
            f"  {'public' if c.public else 'private'}, owner {c.owner_id}, {c.member_count} members,"
            f" created {when(c.created_at)}",
            "  roles: " + ", ".join(f"{r.name} [{r.position}] perms={r.perms}" for r in d["roles"]),
            "  channels: " + ", ".join(f"#{ch.name} ({ch.kind})" for ch in d["channels"]),
        ]
        return "\n".join(lines)

    emit(data, as_json, text)


@click.group("mod")
def mod() -> None:
    """Moderate any community on this node (as a node admin)."""


@mod.command("ban")
@click.argument("community_id")
@click.argument("user_id")
@click.option("--reason", default="", help="Why (shown in the mod log).")
@click.option("--delete-seconds", type=click.IntRange(0, 7 * 86400), default=0,
              help="Also remove the user's content of this many last seconds.")  # fmt: skip
@click.pass_obj
def mod_ban(settings: Settings, community_id: str, user_id: str, reason: str, delete_seconds: int) -> None:
    """Ban a user from a community."""
    _run(settings, lambda p: p.moderation.ban(NODE, community_id, user_id, reason, delete_seconds))
    click.echo(f"banned {user_id}")


@mod.command("unban")
@click.argument("community_id")
@click.argument("user_id")
@click.option("--reason", default="")
@click.pass_obj
def mod_unban(settings: Settings, community_id: str, user_id: str, reason: str) -> None:
    """Lift a ban."""
    _run(settings, lambda p: p.moderation.unban(NODE, community_id, user_id, reason))
    click.echo(f"unbanned {user_id}")


@mod.command("kick")
@click.argument("community_id")
@click.argument("user_id")
@click.option("--reason", default="")
@click.pass_obj
def mod_kick(settings: Settings, community_id: str, user_id: str, reason: str) -> None:
    """Remove a member (they may rejoin)."""
    _run(settings, lambda p: p.moderation.kick(NODE, community_id, user_id, reason))
    click.echo(f"kicked {user_id}")


@mod.command("timeout")
@click.argument("community_id")
@click.argument("user_id")
@click.option("--minutes", type=click.IntRange(0, 28 * 24 * 60), required=True, help="0 lifts the timeout.")
@click.option("--reason", default="")
@click.pass_obj
def mod_timeout(settings: Settings, community_id: str, user_id: str, minutes: int, reason: str) -> None:
    """Time a member out (read-only) for some minutes."""

    async def go(p: Parts) -> int | None:
        until = p.communities.node.clock.time_ms() + minutes * 60_000 if minutes else None
        await p.moderation.timeout(NODE, community_id, user_id, until, reason)
        return until

    until = _run(settings, go)
    click.echo(f"timed out {user_id} until {when(until)}" if until else f"lifted timeout of {user_id}")


@mod.command("reports")
@click.argument("community_id")
@click.option("--status", type=click.Choice(["open", "resolved", "dismissed", "all"]), default="open")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def mod_reports(settings: Settings, community_id: str, status: str, as_json: bool) -> None:
    """The reports queue."""
    q = s.ReportQuery(status=None if status == "all" else cast(s.ReportStatus, status), limit=200)
    page = _run(settings, lambda p: p.moderation.reports(NODE, community_id, q))
    emit(
        page.reports,
        as_json,
        lambda rs: (
            "\n".join(
                f"{when(r.created_at)}  {r.id}  {r.status:<9} {r.target_type} {r.target_id}"
                f"  by {r.reporter_id or 'automod'}: {r.reason}"
                + (f"  -> {r.action_taken}" if r.action_taken else "")
                for r in rs
            )
            or "no reports"
        ),
    )


@mod.command("log")
@click.argument("community_id")
@click.option("--limit", type=click.IntRange(1, 200), default=50)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def mod_log(settings: Settings, community_id: str, limit: int, as_json: bool) -> None:
    """The mod log, newest first: time, actor, action, target, reason."""
    page = _run(settings, lambda p: p.moderation.modlog(NODE, community_id, s.ModlogQuery(limit=limit)))
    emit(page.entries, as_json, format_log)


def format_log(entries: list[s.ModlogEntry]) -> str:
    return (
        "\n".join(
            f"{when(e.time)}  {e.actor}  {e.action}  {e.target or '-'}  {e.reason or '-'}" for e in entries
        )
        or "the mod log is empty"
    )
