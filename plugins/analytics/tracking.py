"""Tracking: committed events (a durable, exactly-once bus consumer) and client batches become raw
analytics rows: kind, UTC day and hour, community/channel/post ids and salted actor hashes, never a
user id, username, email or address. Opted-out users are skipped; erasure and opt-out delete rows.

Everything here runs in the writer thread, inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from cryb_node.clock import wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event

from .privacy import Hasher, monday, month_period, week_period
from .schemas import ClientEvent

# Kinds that make a user "active" for DAU/WAU/MAU, retention and the hours heatmap.
ACTIVITY = ("message", "post", "comment", "reaction", "vote", "page_view", "ui_action")
CONTENT = {
    "message.create": "message",
    "post.create": "post",
    "comment.create": "comment",
    "reaction.add": "reaction",
    "vote.set": "vote",
}
LEAVES = {"member.leave", "member.kick", "member.ban"}
_MOD_FLAGS = {"hidden": "hide", "pinned": "pin", "locked": "lock", "sticky": "sticky"}
KINDS = frozenset(
    {
        *CONTENT,
        *LEAVES,
        "user.created",
        "user.erased",
        "member.join",
        "community.create",
        "member.unban",
        "member.timeout",
        "automod.action",
        "content.moderate",
    }
)

INSERT = (
    "INSERT INTO analytics_events (day, hour, source, kind, community_id, channel_id, post_id, name,"
    " actor_w, actor_m, cohort_node, cohort_comm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


class Recorder:
    """One transaction's view: salts, opt-outs and cohorts looked up once per batch."""

    def __init__(self, conn: Connection, hasher: Hasher) -> None:
        self.conn = conn
        self.h = hasher
        self._salts: dict[str, bytes | None] = {}
        self._optout: dict[str, bool] = {}
        self._cohorts: dict[tuple[str, str], str | None] = {}

    def salt(self, period: str) -> bytes | None:
        if period not in self._salts:
            self._salts[period] = self.h.salt(self.conn, period)
        return self._salts[period]

    def opted_out(self, user_id: str) -> bool:
        if user_id not in self._optout:
            self._optout[user_id] = (
                self.conn.execute(
                    "SELECT 1 FROM analytics_optout WHERE user_key = ?", (self.h.optout(user_id),)
                ).fetchone()
                is not None
            )
        return self._optout[user_id]

    def cohort(self, scope: str, user_id: str) -> str | None:
        # A batch of sends is mostly the same few authors in the same community: look each up once.
        key = (scope, user_id)
        if key not in self._cohorts:
            row = self.conn.execute(
                "SELECT week FROM analytics_cohort_members WHERE scope = ? AND member = ?",
                (scope, self.h.member(scope, user_id)),
            ).fetchone()
            self._cohorts[key] = row["week"] if row else None
        return self._cohorts[key]

    def enter_cohort(self, scope: str, user_id: str, day: dt.date) -> None:
        self._cohorts.pop((scope, user_id), None)
        self.conn.execute(
            "INSERT OR IGNORE INTO analytics_cohort_members (scope, member, week) VALUES (?, ?, ?)",
            (scope, self.h.member(scope, user_id), monday(day).isoformat()),
        )

    def leave_cohort(self, scope: str, user_id: str) -> None:
        self._cohorts.pop((scope, user_id), None)
        self.conn.execute(
            "DELETE FROM analytics_cohort_members WHERE scope = ? AND member = ?",
            (scope, self.h.member(scope, user_id)),
        )

    def row(
        self,
        when: dt.datetime,
        source: str,
        kind: str,
        *,
        user_id: str | None = None,
        community: str = "",
        channel: str = "",
        post: str = "",
        name: str = "",
    ) -> None:
        day = when.date()
        actor_w = actor_m = cohort_node = cohort_comm = None
        if user_id is not None:
            salt_w, salt_m = self.salt(week_period(day)), self.salt(month_period(day))
            actor_w = self.h.actor(salt_w, user_id) if salt_w else None
            actor_m = self.h.actor(salt_m, user_id) if salt_m else None
            cohort_node = self.cohort("", user_id)
            cohort_comm = self.cohort(community, user_id) if community else None
        self.conn.execute(
            INSERT,
            (day.isoformat(), when.hour, source, kind, community, channel, post, name,
             actor_w, actor_m, cohort_node, cohort_comm),
        )  # fmt: skip

    def forget(self, user_id: str) -> int:
        """Delete the user's rows (under every salt still kept) and cohort memberships."""
        hashes = self.h.all_actor_hashes(self.conn, user_id)
        deleted = 0
        for h in hashes:
            deleted += self.conn.execute(
                "DELETE FROM analytics_events WHERE actor_w = ? OR actor_m = ?", (h, h)
            ).rowcount
        scopes = [
            r["scope"] for r in self.conn.execute("SELECT DISTINCT scope FROM analytics_cohort_members")
        ]
        for scope in scopes:
            self.leave_cohort(scope, user_id)
        return deleted


def _moderation(ev: Event) -> str | None:
    p: Any = ev.payload
    if ev.kind == "content.moderate":
        if p is None:
            return "moderate"
        verb = _MOD_FLAGS.get(p.field, p.field)
        return verb if p.value else f"un{verb}"
    if ev.kind == "automod.action":
        return f"automod_{p.action}" if p is not None else "automod"
    if ev.kind == "member.timeout":
        return "timeout" if p is None or p.until is not None else "timeout_lift"
    if ev.kind in ("member.kick", "member.ban", "member.unban"):
        return ev.kind.split(".", 1)[1]
    return None


def record_events(rec: Recorder, events: Iterable[Event]) -> None:
    for ev in events:
        b = ev.body
        when = utc(wall_ms(b.hlc))
        community = b.community or ""
        mod = _moderation(ev)
        if mod is not None and community:
            rec.row(when, "server", "moderation", community=community, name=mod)
        if ev.kind == "user.erased":
            if b.target:
                rec.forget(b.target)
            continue
        if ev.kind == "user.created":
            if b.target and b.author == b.target and not rec.opted_out(b.target):
                rec.enter_cohort("", b.target, when.date())
                rec.row(when, "server", "signup", user_id=b.target)
            continue
        if ev.kind in ("member.join", "community.create") or ev.kind in LEAVES:
            # The owner is the first member of a community they create (no member.join of theirs).
            user = b.author if ev.kind == "community.create" else b.target
            if not user or not community or rec.opted_out(user):
                continue
            if ev.kind not in LEAVES:
                rec.enter_cohort(community, user, when.date())
                rec.row(when, "server", "join", user_id=user, community=community)
            else:
                rec.row(when, "server", "leave", user_id=user, community=community)
                rec.leave_cohort(community, user)
            continue
        kind = CONTENT.get(ev.kind)
        if kind is None or b.author is None or rec.opted_out(b.author):
            continue
        p: Any = ev.payload
        channel = (getattr(p, "channel_id", "") or "") if community else ""  # DMs are never named
        post = ""
        if kind == "post":
            post = b.target or ""
        elif kind == "comment":
            post = getattr(p, "post_id", "") or ""
        elif getattr(p, "target_type", None) == "post":
            post = b.target or ""
        rec.row(when, "server", kind, user_id=b.author, community=community, channel=channel, post=post)


def record_client(
    rec: Recorder, user_id: str | None, events: list[ClientEvent], now: Callable[[], float]
) -> int:
    if user_id is not None and rec.opted_out(user_id):
        return 0
    when = dt.datetime.fromtimestamp(now(), dt.UTC)
    for e in events:
        rec.row(
            when,
            "client",
            e.type,
            user_id=user_id,
            community=e.community_id or "",
            channel=e.channel_id or "",
            name=e.name,
        )
    return len(events)


def set_optout(rec: Recorder, user_id: str, opted_out: bool, now: int) -> None:
    key = rec.h.optout(user_id)
    if opted_out:
        rec.conn.execute(
            "INSERT OR IGNORE INTO analytics_optout (user_key, created_at) VALUES (?, ?)", (key, now)
        )
        rec.forget(user_id)
    else:
        rec.conn.execute("DELETE FROM analytics_optout WHERE user_key = ?", (key,))
