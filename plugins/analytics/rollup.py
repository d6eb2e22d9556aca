"""Daily rollups: each day's figures are recomputed from the raw rows with delete + insert in one
transaction, so running a day twice (the job, then `cryb analytics rebuild`) gives the same rows.

A day's rollup reads only raw rows of that day, its ISO week to date and its month to date, so it
can be rebuilt as long as the raw rows of its month are retained.
"""

from __future__ import annotations

import datetime as dt

from cryb_node.db import Connection

from .privacy import monday, month_start
from .tracking import ACTIVITY

ACT = f"kind IN ({', '.join(repr(k) for k in ACTIVITY)})"

# Rollup tables keyed by day (the retention tables are keyed by week, below).
DAILY_TABLES = (
    "analytics_daily_actives",
    "analytics_daily_content",
    "analytics_daily_posts",
    "analytics_daily_hours",
    "analytics_daily_moderation",
    "analytics_daily_pages",
)
ALL_TABLES = (*DAILY_TABLES, "analytics_cohorts", "analytics_retention")

# Distinct actors per community (and, with the UNION, for the whole node as community '').
_DISTINCT = """
SELECT community_id, COUNT(DISTINCT {col}) AS actors FROM analytics_events
 WHERE day BETWEEN :lo AND :hi AND {act} AND {col} IS NOT NULL AND community_id != ''
 GROUP BY community_id
UNION ALL
SELECT '', COUNT(DISTINCT {col}) FROM analytics_events
 WHERE day BETWEEN :lo AND :hi AND {act} AND {col} IS NOT NULL
"""

_MEMBERS = """
SELECT community_id, COUNT(DISTINCT actor_w) FILTER (WHERE kind IN ('join', 'signup')) AS joined,
       COUNT(*) FILTER (WHERE kind = 'leave') AS departed
  FROM analytics_events WHERE day = :day AND kind IN ('join', 'signup', 'leave')
 GROUP BY community_id
"""

_CONTENT = """
INSERT INTO analytics_daily_content
SELECT :day, community_id, channel_id,
       COUNT(*) FILTER (WHERE kind = 'message'), COUNT(*) FILTER (WHERE kind = 'post'),
       COUNT(*) FILTER (WHERE kind = 'comment'), COUNT(*) FILTER (WHERE kind = 'reaction'),
       COUNT(*) FILTER (WHERE kind = 'vote')
  FROM analytics_events
 WHERE day = :day AND source = 'server' AND kind IN ('message', 'post', 'comment', 'reaction', 'vote')
 GROUP BY community_id, channel_id
"""

_POSTS = """
INSERT INTO analytics_daily_posts
SELECT :day, community_id, post_id, max(channel_id),
       COUNT(*) FILTER (WHERE kind = 'comment'), COUNT(*) FILTER (WHERE kind = 'reaction'),
       COUNT(*) FILTER (WHERE kind = 'vote')
  FROM analytics_events
 WHERE day = :day AND post_id != '' AND kind IN ('comment', 'reaction', 'vote')
 GROUP BY community_id, post_id
"""

_HOURS = f"""
INSERT INTO analytics_daily_hours
SELECT :day, community_id, hour, COUNT(*) FROM analytics_events
 WHERE day = :day AND {ACT} AND community_id != '' GROUP BY community_id, hour
UNION ALL
SELECT :day, '', hour, COUNT(*) FROM analytics_events WHERE day = :day AND {ACT} GROUP BY hour
"""

_MODERATION = """
INSERT INTO analytics_daily_moderation
SELECT :day, community_id, name, COUNT(*) FROM analytics_events
 WHERE day = :day AND kind = 'moderation' GROUP BY community_id, name
"""

_PAGES = """
INSERT INTO analytics_daily_pages
SELECT :day, community_id, kind, name, COUNT(*) FROM analytics_events
 WHERE day = :day AND source = 'client' GROUP BY community_id, kind, name
"""

# Cohort sizes of this week (every row of the week held so far, so rolling any day of the week
# gives the same figure): node = accounts created, community = distinct joiners.
_COHORTS = """
INSERT INTO analytics_cohorts
SELECT CASE kind WHEN 'signup' THEN '' ELSE community_id END, :week, COUNT(DISTINCT actor_w)
  FROM analytics_events
 WHERE day BETWEEN :week AND :week_end AND kind IN ('signup', 'join') AND actor_w IS NOT NULL
 GROUP BY 1
"""

# How many of each cohort were active this week (as above); one week is one salt, so exact.
_RETENTION = f"""
INSERT INTO analytics_retention
SELECT '', cohort_node, :week, COUNT(DISTINCT actor_w) FROM analytics_events
 WHERE day BETWEEN :week AND :week_end AND {ACT} AND actor_w IS NOT NULL
   AND cohort_node BETWEEN :first_cohort AND :week
 GROUP BY cohort_node
UNION ALL
SELECT community_id, cohort_comm, :week, COUNT(DISTINCT actor_w) FROM analytics_events
 WHERE day BETWEEN :week AND :week_end AND {ACT} AND actor_w IS NOT NULL AND community_id != ''
   AND cohort_comm BETWEEN :first_cohort AND :week
 GROUP BY community_id, cohort_comm
"""


def rollup_day(conn: Connection, day: dt.date, cohort_weeks: int) -> None:
    """Replace every rollup row of ``day`` (and of its week, to date). One transaction."""
    d, week = day.isoformat(), monday(day).isoformat()
    for table in DAILY_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE day = ?", (d,))

    def actives(col: str, since: str) -> dict[str, int]:
        rows = conn.execute(_DISTINCT.format(col=col, act=ACT), {"lo": since, "hi": d})
        return {r["community_id"]: r["actors"] for r in rows}

    dau = actives("actor_w", d)
    wau = actives("actor_w", week)
    mau = actives("actor_m", month_start(day).isoformat())
    members = {r["community_id"]: (r["joined"], r["departed"]) for r in conn.execute(_MEMBERS, {"day": d})}
    joined_node = members.pop("", (0, 0))[0]
    scopes = {c for c in (*dau, *wau, *mau, *members) if c}
    conn.execute(
        "INSERT INTO analytics_daily_actives VALUES (?, '', ?, ?, ?, ?, 0)",
        (d, dau.get("", 0), wau.get("", 0), mau.get("", 0), joined_node),
    )
    conn.executemany(
        "INSERT INTO analytics_daily_actives VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (d, c, dau.get(c, 0), wau.get(c, 0), mau.get(c, 0), *members.get(c, (0, 0)))
            for c in sorted(scopes)
        ],
    )
    for sql in (_CONTENT, _POSTS, _HOURS, _MODERATION, _PAGES):
        conn.execute(sql, {"day": d})
    conn.execute("DELETE FROM analytics_cohorts WHERE week = ?", (week,))
    conn.execute("DELETE FROM analytics_retention WHERE week = ?", (week,))
    first_cohort = (monday(day) - dt.timedelta(weeks=cohort_weeks)).isoformat()
    week_end = (monday(day) + dt.timedelta(days=6)).isoformat()
    conn.execute(_COHORTS, {"week": week, "week_end": week_end})
    conn.execute(_RETENTION, {"week": week, "week_end": week_end, "first_cohort": first_cohort})


def dump(conn: Connection) -> dict[str, list[tuple]]:
    """Every rollup row, sorted (tests compare a rebuild with the original)."""
    return {t: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}")) for t in ALL_TABLES}
