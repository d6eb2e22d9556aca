"""Reading the rollups (queries.py): one community's (or the whole node's, scope '') figures over a
date range, as the AnalyticsReport Struct or as CSV rows of one table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from cryb_node.db import Database

from . import queries
from .privacy import monday, month_start
from .schemas import (
    AnalyticsReport,
    DayFigures,
    PeriodActives,
    RetentionCohort,
    Table,
    TopChannel,
    TopPost,
)


async def build(
    db: Database, scope: str, since: dt.date, to: dt.date, top_n: int, cohort_weeks: int
) -> AnalyticsReport:
    p = {"scope": scope, "lo": since.isoformat(), "hi": to.isoformat(), "n": top_n}
    content = await queries.daily_content(db, p)
    moderation_by_day = await queries.daily_moderation(db, p)
    quiet = dict.fromkeys(("messages", "posts", "comments", "reactions", "votes"), 0)
    days = []
    for a in await queries.daily_actives(db, p):
        day = a["day"]
        c = content.get(day, quiet)
        days.append(
            DayFigures(day=dt.date.fromisoformat(day), dau=a["dau"], wau=a["wau"], mau=a["mau"],
                new_members=a["new_members"], left_members=a["left_members"], messages=c["messages"],
                posts=c["posts"], comments=c["comments"], reactions=c["reactions"], votes=c["votes"],
                moderation=moderation_by_day.get(day, 0))
        )  # fmt: skip
    # A week's (month's) figure is the week-to-date value of its last day rolled up in the range.
    weeks: dict[dt.date, int] = {}
    months: dict[dt.date, int] = {}
    for d in days:
        weeks[monday(d.day)] = d.wau
        months[month_start(d.day)] = d.mau
    heatmap = [[0] * 24 for _ in range(7)]
    for h in await queries.hours(db, p):
        heatmap[dt.date.fromisoformat(h["day"]).weekday()][h["hour"]] += h["events"]
    return AnalyticsReport(
        scope=scope or "node",
        since=since,
        to=to,
        days=days,
        weeks=[PeriodActives(start=k, actives=v) for k, v in weeks.items()],
        months=[PeriodActives(start=k, actives=v) for k, v in months.items()],
        top_channels=await queries.top_channels(db, p),
        top_posts=await queries.top_posts(db, p),
        heatmap=heatmap,
        moderation=await queries.moderation(db, p),
        pages=await queries.pages(db, p),
        retention=await retention(db, scope, since, to, cohort_weeks),
    )


async def retention(
    db: Database, scope: str, since: dt.date, to: dt.date, cohort_weeks: int
) -> list[RetentionCohort]:
    """Cohorts of the weeks in the range, each with its actives in the weeks after (to ``to``)."""
    p = {"scope": scope, "lo": monday(since).isoformat(), "hi": to.isoformat()}
    sizes = await queries.cohort_sizes(db, p)
    active = await queries.retention(db, p)
    out = []
    last = monday(to)
    for cohort in sizes:
        week = cohort["week"]
        start = dt.date.fromisoformat(week)
        span = min(cohort_weeks, (last - start).days // 7)
        weeks = [(start + dt.timedelta(weeks=k)).isoformat() for k in range(span + 1)]
        out.append(
            RetentionCohort(week=start, size=cohort["size"], active=[active.get((week, w), 0) for w in weeks])
        )
    return out


def to_csv(report: AnalyticsReport, table: Table) -> str:
    rows: list[list[Any]]
    if table == "daily":
        rows = [list(DayFigures.__struct_fields__)]
        rows += [[getattr(d, f) for f in DayFigures.__struct_fields__] for d in report.days]
    elif table == "channels":
        rows = [list(TopChannel.__struct_fields__)]
        rows += [[getattr(c, f) for f in TopChannel.__struct_fields__] for c in report.top_channels]
    elif table == "posts":
        rows = [list(TopPost.__struct_fields__)]
        rows += [[getattr(c, f) for f in TopPost.__struct_fields__] for c in report.top_posts]
    elif table == "hours":
        rows = [["weekday", *range(24)]]
        rows += [[name, *hours] for name, hours in zip(_WEEKDAYS, report.heatmap, strict=True)]
    elif table == "moderation":
        rows = [["action", "count"], *([m.action, m.count] for m in report.moderation)]
    elif table == "pages":
        rows = [["kind", "name", "count"], *([p.kind, p.name, p.count] for p in report.pages)]
    else:
        width = max((len(c.active) for c in report.retention), default=1)
        rows = [["cohort", "size", *(f"week_{k}" for k in range(width))]]
        rows += [[c.week, c.size, *c.active] for c in report.retention]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
