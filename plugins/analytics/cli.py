"""`cryb analytics rebuild|cleanup|show`: the same service calls the scheduled jobs and the API make."""

from __future__ import annotations

import datetime as dt
from typing import cast

import click

from cryb_node.command import Settings, emit, run_with_node
from cryb_node.node import Node

from . import report
from .schemas import Table
from .service import ANALYTICS


@click.group("analytics")
def analytics_group() -> None:
    """Engagement analytics: rebuild rollups, apply retention, show figures."""


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected a date YYYY-MM-DD") from None


@analytics_group.command("rebuild")
@click.option("--since", required=True, callback=_date, help="First day to recompute (YYYY-MM-DD).")
@click.option("--until", callback=_date, help="Last day (default: today, UTC).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def rebuild(settings: Settings, since: dt.date, until: dt.date | None, as_json: bool) -> None:
    """Recompute the daily rollups from the raw rows (idempotent; a running node may keep serving)."""
    cfg = settings.config()

    async def go(node: Node) -> dict[str, object]:
        svc = node.services.require(ANALYTICS)
        first, last, days = await svc.rollup(since, until)
        return {"from": first.isoformat(), "to": last.isoformat(), "days": days,
                "clamped": first > since}  # fmt: skip

    out = run_with_node(cfg, settings.plugins(cfg), go)
    note = " (earlier days are past the raw-row retention window: left as they were)"
    emit(out, as_json, lambda o: f"rebuilt {o['days']} days ({o['from']} .. {o['to']})" + note * o["clamped"])


@analytics_group.command("cleanup")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cleanup(settings: Settings, as_json: bool) -> None:
    """Delete raw rows past the retention window and expired salts now (the daily job does this)."""
    cfg = settings.config()
    out = run_with_node(cfg, settings.plugins(cfg), lambda node: node.services.require(ANALYTICS).cleanup())
    emit(out, as_json, lambda o: ", ".join(f"{k}: {v} deleted" for k, v in o.items()))


@analytics_group.command("show")
@click.option("--community", default="", help="A community id (default: the whole node).")
@click.option("--since", callback=_date, help="First day (default: 29 days before --until).")
@click.option("--until", callback=_date, help="Last day (default: today, UTC).")
@click.option("--csv", "table", type=click.Choice(["daily", "channels", "posts", "hours", "moderation",
              "retention", "pages"]), help="Print one table as CSV instead of the JSON report.")  # fmt: skip
@click.pass_obj
def show(
    settings: Settings, community: str, since: dt.date | None, until: dt.date | None, table: str | None
) -> None:
    """The figures the API serves, read from the rollups."""
    cfg = settings.config()

    async def go(node: Node) -> report.AnalyticsReport:
        svc = node.services.require(ANALYTICS)
        lo, hi = svc.range(since, until)
        return await report.build(node.db, community, lo, hi, svc.settings.top_n, svc.settings.cohort_weeks)

    rep = run_with_node(cfg, settings.plugins(cfg), go)
    if table:
        click.echo(report.to_csv(rep, cast(Table, table)), nl=False)  # click.Choice checked it
    else:
        emit(rep, True, str)
