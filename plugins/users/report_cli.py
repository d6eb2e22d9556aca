"""`cryb report list|resolve`: the node admins' reports queue from the shell, through the same
functions as GET/PATCH /api/v1/admin/reports (actions are audited with the CLI as the actor)."""

from __future__ import annotations

import time
from typing import Any, Literal, cast

import click
import msgspec

from cryb_node.command import emit

from . import reports as r
from .cli import json_option, with_users
from .service import CLI, Users


@click.group("report")
def report_group() -> None:
    """The node admins' reports queue (what members reported)."""


def _line(x: r.NodeReport) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(x.created_at / 1000))
    about = x.label + (f": {x.excerpt[:80]!r}" if x.excerpt else "")
    by = f"@{x.reporter_name}" if x.reporter_name else x.reporter_id
    done = f"  [{x.status}{': ' + x.note if x.note else ''}]" if x.status != "open" else ""
    return f"{x.id}  {when}  {x.target_type:<10} {about}\n    by {by}: {x.reason}{done}"


@report_group.command("list")
@click.option(
    "--status", type=click.Choice(["open", "resolved", "dismissed", "all"]), default="open", show_default=True
)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 200))
@json_option
@click.pass_obj
def list_cmd(settings: Any, status: str, limit: int, as_json: bool) -> None:
    """List reports, oldest first."""
    q = r.NodeReportQuery(
        status=cast(r.Status | Literal["all"], status), limit=limit
    )  # click.Choice checked it
    page = with_users(settings, lambda users: r.list_reports(users, q))
    emit(page.reports, as_json, lambda rs: "\n".join(_line(x) for x in rs) or f"no {status} reports")


@report_group.command("resolve")
@click.argument("report_id")
@click.option("--dismiss", is_flag=True, help="Dismiss it (nothing to act on) instead of resolving it.")
@click.option(
    "--note", default="", help="What was done, for the other admins (the reporter is not shown it)."
)
@json_option
@click.pass_obj
def resolve_cmd(settings: Any, report_id: str, dismiss: bool, note: str, as_json: bool) -> None:
    """Resolve (or --dismiss) an open report; its reporter is told the outcome."""
    try:  # converted, not constructed, so the note's limit is checked as the API checks it
        decision = msgspec.convert(
            {"status": "dismissed" if dismiss else "resolved", "note": note}, r.NodeReportDecision
        )
    except msgspec.ValidationError as err:
        raise click.BadParameter(str(err), param_hint="--note") from None

    async def go(users: Users) -> r.NodeReport:
        return await r.decide(users, report_id, decision, CLI, actor_id=None)

    emit(with_users(settings, go), as_json, lambda x: f"{x.id}: {x.status}")
