"""The analytics plugin's settings and its request/response Structs (validation and OpenAPI)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

# A page or action name: a route template or a dotted action, never free text (no '@', spaces).
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_./:{}][A-Za-z0-9_./:{}\-]*$")]
Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
MAX_BATCH = 50


class AnalyticsSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Raw (per-event) rows older than this are deleted by the cleanup job. Month-to-date figures
    # need the whole current month, hence the floor.
    retention_days: Annotated[int, Meta(ge=35, le=3650)] = 90
    # Days a finished week's / month's salt is kept for late events (federation) before deletion.
    salt_grace_days: Annotated[int, Meta(ge=0, le=14)] = 2
    # Weeks a cohort is followed for retention (its members' hashes are dropped after that).
    cohort_weeks: Annotated[int, Meta(ge=1, le=52)] = 12
    # How often the rollup job refreshes today's and yesterday's figures.
    rollup_interval_s: Annotated[float, Meta(ge=5, le=86_400)] = 600.0
    # Rows of "top" lists (channels, posts, pages) in reports.
    top_n: Annotated[int, Meta(ge=1, le=200)] = 20
    # Accept client events (page views, UI actions) at all.
    client_events: bool = True


class ClientEvent(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: Literal["page_view", "ui_action"]
    name: Name
    community_id: Id | None = None
    channel_id: Id | None = None


class ClientBatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    events: Annotated[list[ClientEvent], Meta(min_length=1, max_length=MAX_BATCH)]


class EventsAccepted(msgspec.Struct, kw_only=True):
    accepted: int  # events stored (0 when you opted out or sent Do-Not-Track / Global Privacy Control)


class OptOutState(msgspec.Struct, kw_only=True):
    opted_out: bool


class AnalyticsRange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, rename={"since": "from"}):
    """Days are UTC dates; both ends are included. Default: the 30 days up to today."""

    since: dt.date | None = None
    to: dt.date | None = None


Table = Literal["daily", "channels", "posts", "hours", "moderation", "retention", "pages"]


class AnalyticsExport(AnalyticsRange, forbid_unknown_fields=True, kw_only=True, rename={"since": "from"}):
    table: Table = "daily"


class DayFigures(msgspec.Struct, kw_only=True):
    day: dt.date
    dau: int
    wau: int  # distinct actives in the ISO week (Monday..Sunday) up to this day
    mau: int  # distinct actives in the calendar month up to this day
    new_members: int
    left_members: int
    messages: int
    posts: int
    comments: int
    reactions: int
    votes: int
    moderation: int


class PeriodActives(msgspec.Struct, kw_only=True):
    start: dt.date  # Monday of the week, or the 1st of the month
    actives: int  # distinct actives in the period (up to the last day rolled up in the range)


class TopChannel(msgspec.Struct, kw_only=True):
    community_id: str
    channel_id: str
    messages: int
    posts: int
    comments: int
    reactions: int
    votes: int
    total: int


class TopPost(msgspec.Struct, kw_only=True):
    community_id: str
    post_id: str
    channel_id: str
    comments: int
    reactions: int
    votes: int
    total: int


class ModerationCount(msgspec.Struct, kw_only=True):
    action: str
    count: int


class PageCount(msgspec.Struct, kw_only=True):
    kind: str
    name: str
    count: int


class RetentionCohort(msgspec.Struct, kw_only=True):
    week: dt.date  # Monday of the cohort's week
    size: int  # node: accounts created that week; community: members who joined
    active: list[int]  # active[k]: cohort members active in week + k (k = 0, 1, ...)


class AnalyticsReport(msgspec.Struct, kw_only=True):
    scope: str  # "node" or the community id
    since: dt.date = msgspec.field(name="from")
    to: dt.date
    days: list[DayFigures]
    weeks: list[PeriodActives]
    months: list[PeriodActives]
    top_channels: list[TopChannel]
    top_posts: list[TopPost]
    # heatmap[weekday][hour]: activity events, Monday = 0, hours in UTC
    heatmap: list[list[int]]
    moderation: list[ModerationCount]
    pages: list[PageCount]
    retention: list[RetentionCohort]
