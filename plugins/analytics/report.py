"""Reading the rollups: one community's (or the whole node's, scope '') figures over a date range,
as the AnalyticsReport Struct or as CSV rows of one table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from typing import Any

from cryb_node.db import Database

from .privacy import monday, month_start
from .schemas import (
    AnalyticsReport,
    DayFigures,
    ModerationCount,
    PageCount,
    PeriodActives,
    RetentionCohort,
    Table,
    TopChannel,
    TopPost,
)

# Node scope ('') sums every community's rows; a community reads its own.
_SCOPE = "(:scope = '' OR community_id = :scope)"


async def build(
    db: Database, scope: str, since: dt.date, to: dt.date, top_n: int, cohort_weeks: int
) -> AnalyticsReport:
    p = {"scope": scope, "lo": since.isoformat(), "hi": to.isoformat(), "n": top_n}
    actives = await db.fetchall(
        "SELECT day, dau, wau, mau, new_members, left_members FROM analytics_daily_actives"
        " WHERE community_id = :scope AND day BETWEEN :lo AND :hi ORDER BY day",
        p,
    )
    content = {
        r[0]: tuple(r[1:])
        for r in await db.fetchall(
            "SELECT day, sum(messages), sum(posts), sum(comments), sum(reactions), sum(votes)"
            f" FROM analytics_daily_content WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY day",
            p,
        )
    }
    moderation_by_day = dict(
        await db.fetchall(
            "SELECT day, sum(count) FROM analytics_daily_moderation"
            f" WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY day",
            p,
        )
    )
    days = []
    for day, dau, wau, mau, joined, left in actives:
        m, po, c, re, v = content.get(day, (0, 0, 0, 0, 0))
        days.append(
            DayFigures(day=dt.date.fromisoformat(day), dau=dau, wau=wau, mau=mau, new_members=joined,
                left_members=left, messages=m, posts=po, comments=c, reactions=re, votes=v,
                moderation=moderation_by_day.get(day, 0))
        )  # fmt: skip
    # A week's (month's) figure is the week-to-date value of its last day rolled up in the range.
    weeks: dict[dt.date, int] = {}
    months: dict[dt.date, int] = {}
    for d in days:
        weeks[monday(d.day)] = d.wau
        months[month_start(d.day)] = d.mau
    channels = [
        TopChannel(community_id=r[0], channel_id=r[1], messages=r[2], posts=r[3], comments=r[4],
                   reactions=r[5], votes=r[6], total=r[7])
        for r in await db.fetchall(
            "SELECT community_id, channel_id, sum(messages), sum(posts), sum(comments), sum(reactions),"
            " sum(votes), sum(messages + posts + comments + reactions + votes) AS total"
            f" FROM analytics_daily_content WHERE {_SCOPE} AND channel_id != '' AND day BETWEEN :lo AND :hi"
            " GROUP BY community_id, channel_id ORDER BY total DESC, channel_id LIMIT :n",
            p,
        )
    ]  # fmt: skip
    posts = [
        TopPost(community_id=r[0], post_id=r[1], channel_id=r[2], comments=r[3], reactions=r[4],
                votes=r[5], total=r[6])
        for r in await db.fetchall(
            "SELECT community_id, post_id, max(channel_id), sum(comments), sum(reactions), sum(votes),"
            " sum(comments + reactions + votes) AS total FROM analytics_daily_posts"
            f" WHERE {_SCOPE} AND day BETWEEN :lo AND :hi"
            " GROUP BY community_id, post_id ORDER BY total DESC, post_id LIMIT :n",
            p,
        )
    ]  # fmt: skip
    heatmap = [[0] * 24 for _ in range(7)]
    for day, hour, events in await db.fetchall(
        "SELECT day, hour, events FROM analytics_daily_hours"
        " WHERE community_id = :scope AND day BETWEEN :lo AND :hi",
        p,
    ):
        heatmap[dt.date.fromisoformat(day).weekday()][hour] += events
    moderation = [
        ModerationCount(action=r[0], count=r[1])
        for r in await db.fetchall(
            "SELECT action, sum(count) AS n FROM analytics_daily_moderation"
            f" WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY action ORDER BY n DESC, action",
            p,
        )
    ]
    pages = [
        PageCount(kind=r[0], name=r[1], count=r[2])
        for r in await db.fetchall(
            "SELECT kind, name, sum(count) AS n FROM analytics_daily_pages"
            f" WHERE {_SCOPE} AND day BETWEEN :lo AND :hi GROUP BY kind, name ORDER BY n DESC, name LIMIT :n",
            p,
        )
    ]
    return AnalyticsReport(
        scope=scope or "node",
        since=since,
        to=to,
        days=days,
        weeks=[PeriodActives(start=k, actives=v) for k, v in weeks.items()],
        months=[PeriodActives(start=k, actives=v) for k, v in months.items()],
        top_channels=channels,
        top_posts=posts,
        heatmap=heatmap,
        moderation=moderation,
        pages=pages,
        retention=await retention(db, scope, since, to, cohort_weeks),
    )


async def retention(
    db: Database, scope: str, since: dt.date, to: dt.date, cohort_weeks: int
) -> list[RetentionCohort]:
    """Cohorts of the weeks in the range, each with its actives in the weeks after (to ``to``)."""
    p = {"scope": scope, "lo": monday(since).isoformat(), "hi": to.isoformat()}
    sizes = await db.fetchall(
        "SELECT week, size FROM analytics_cohorts WHERE community_id = :scope AND week BETWEEN :lo AND :hi"
        " ORDER BY week",
        p,
    )
    active: dict[tuple[str, str], int] = defaultdict(int)
    for cohort, week, n in await db.fetchall(
        "SELECT cohort, week, active FROM analytics_retention WHERE community_id = :scope"
        " AND cohort BETWEEN :lo AND :hi",
        p,
    ):
        active[(cohort, week)] = n
    out = []
    last = monday(to)
    for week, size in sizes:
        start = dt.date.fromisoformat(week)
        span = min(cohort_weeks, (last - start).days // 7)
        weeks = [(start + dt.timedelta(weeks=k)).isoformat() for k in range(span + 1)]
        out.append(RetentionCohort(week=start, size=size, active=[active[(week, w)] for w in weeks]))
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
