"""The analytics rules: what is recorded (through tracking.py), when days are rolled up, how long
raw rows and salts live, and who may read which figures. Routes, the job and the CLI all call these.

The clock is injected (``clock``: seconds since the epoch) so tests can fix "today".
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryb_node.bus import Subscription
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.problems import Problem, forbidden, unauthorized
from cryb_node.services import PERMISSIONS, Perm, ServiceKey

from . import rollup, tracking
from .privacy import Hasher, load_or_create_key, monday, month_start, period_end
from .schemas import AnalyticsSettings, ClientEvent

if TYPE_CHECKING:
    from cryb_node.http.api import Principal
    from cryb_node.node import Node

log = logging.getLogger(__name__)
CONSUMER = "analytics"
MAX_RANGE_DAYS = 366


class AnalyticsService:
    def __init__(
        self, node: Node, settings: AnalyticsSettings, clock: Callable[[], float] | None = None
    ) -> None:
        self.node = node
        self.settings = settings
        self.clock = clock or node.clock.time
        self._hasher: Hasher | None = None
        self.client_events = 0  # accepted since start (metrics)
        self.last_rollup_at = 0.0

    @property
    def hasher(self) -> Hasher:
        # The data dir (and its key folder) exists only once the node runs.
        if self._hasher is None:
            key = load_or_create_key(self.node.data_dir / "keys")
            self._hasher = Hasher(key, self.settings.salt_grace_days)
        return self._hasher

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date()

    # -- tracking -----------------------------------------------------------------------------

    def subscription(self) -> Subscription:
        hasher = self.hasher

        def handle(conn: Connection, events: list[Event]) -> None:
            tracking.record_events(tracking.Recorder(conn, hasher), events)

        # Not urgent: a second's batches cost the shared writer one job instead of one per message.
        return Subscription(
            name=CONSUMER, handle_in_tx=handle, kinds=tracking.KINDS, batch_size=512, linger_s=1.0
        )

    async def record_client(self, user_id: str | None, events: list[ClientEvent]) -> int:
        if not self.settings.client_events:
            return 0
        hasher, clock = self.hasher, self.clock
        n = await self.node.db.write(
            lambda conn: tracking.record_client(tracking.Recorder(conn, hasher), user_id, events, clock)
        )
        self.client_events += n
        return n

    async def opted_out(self, user_id: str) -> bool:
        key = self.hasher.optout(user_id)
        return bool(await self.node.db.fetchval("SELECT 1 FROM analytics_optout WHERE user_key = ?", (key,)))

    async def set_optout(self, user_id: str, opted_out: bool) -> None:
        hasher, now = self.hasher, int(self.clock())
        await self.node.db.write(
            lambda conn: tracking.set_optout(tracking.Recorder(conn, hasher), user_id, opted_out, now)
        )

    # -- rollups ------------------------------------------------------------------------------

    def rebuildable_from(self) -> dt.date:
        """The first day whose month's raw rows are all still retained."""
        horizon = self.today() - dt.timedelta(days=self.settings.retention_days)
        first = month_start(horizon)
        return first if first == horizon else month_start(first + dt.timedelta(days=32))

    async def rollup(self, since: dt.date, until: dt.date | None = None) -> tuple[dt.date, dt.date, int]:
        """Recompute the rollups of every day from ``since`` to ``until`` (default today), one
        transaction per day; days whose raw rows are no longer all kept are left as they are.
        Returns the range actually rolled up and its length in days."""
        until = min(until or self.today(), self.today())
        since = max(since, self.rebuildable_from())
        weeks = self.settings.cohort_weeks
        day, n = since, 0
        while day <= until:
            await self.node.db.write(functools.partial(rollup.rollup_day, day=day, cohort_weeks=weeks))
            day += dt.timedelta(days=1)
            n += 1
        return since, until, n

    async def run_job(self) -> None:
        """The scheduled rollup: from the day before the last one rolled up through today (late
        events of yesterday land in yesterday's figures)."""
        today = self.today()
        last = await self.node.db.fetchval("SELECT value FROM analytics_state WHERE key = 'rolled_through'")
        if last is None:
            first = await self.node.db.fetchval("SELECT min(day) FROM analytics_events")
            since = dt.date.fromisoformat(first) if first else today
        else:
            since = dt.date.fromisoformat(last) - dt.timedelta(days=1)
        await self.rollup(since, today)
        await self.node.db.write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO analytics_state (key, value) VALUES ('rolled_through', ?)",
                (today.isoformat(),),
            )
        )
        self.last_rollup_at = self.clock()

    async def cleanup(self) -> dict[str, int]:
        """Delete raw rows past the retention window, salts past their period (+ grace) and cohort
        memberships older than cohort_weeks."""
        today = self.today()
        cutoff = (today - dt.timedelta(days=self.settings.retention_days)).isoformat()
        cohort_cut = (monday(today) - dt.timedelta(weeks=self.settings.cohort_weeks)).isoformat()

        def job(conn: Connection) -> dict[str, int]:
            out = {"events": conn.execute("DELETE FROM analytics_events WHERE day < ?", (cutoff,)).rowcount}
            gone = conn.execute(
                "SELECT period, expires_on FROM analytics_salts WHERE expires_on < ?", (today.isoformat(),)
            ).fetchall()
            if gone:
                newest = max(period_end(g["period"]).isoformat() for g in gone)
                conn.execute(
                    "INSERT INTO analytics_state (key, value) VALUES ('salts_dropped_through', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                    (newest,),
                )
                conn.executemany(
                    "DELETE FROM analytics_salts WHERE period = ?", [(g["period"],) for g in gone]
                )
            out["salts"] = len(gone)
            out["cohort_members"] = conn.execute(
                "DELETE FROM analytics_cohort_members WHERE week < ?", (cohort_cut,)
            ).rowcount
            return out

        return await self.node.db.write(job)

    # -- reading ------------------------------------------------------------------------------

    def range(self, since: dt.date | None, to: dt.date | None) -> tuple[dt.date, dt.date]:
        to = to or self.today()
        since = since or to - dt.timedelta(days=29)
        if since > to:
            raise Problem("invalid_query", 400, "`from` is after `to`", field="from")
        if (to - since).days + 1 > MAX_RANGE_DAYS:
            raise Problem("invalid_query", 400, f"at most {MAX_RANGE_DAYS} days at once", field="from")
        return since, to

    async def authorize(self, principal: Principal | None, community_id: str | None) -> None:
        """Node admins read everything; for one community, whoever may manage it (its owner, members
        with ADMINISTRATOR or MANAGE_COMMUNITY). Members and anonymous callers are refused."""
        if principal is None:
            raise unauthorized("sign in to read analytics")
        if principal.admin:
            return
        if community_id is None:
            raise forbidden("node analytics are for node admins")
        perms = self.node.services.get(PERMISSIONS)
        granted = Perm(await perms.community(principal.user_id, community_id)) if perms else Perm(0)
        if not granted & (Perm.ADMINISTRATOR | Perm.MANAGE_COMMUNITY):
            raise forbidden("only those who manage this community may read its analytics")


ANALYTICS: ServiceKey[AnalyticsService] = ServiceKey("analytics")
