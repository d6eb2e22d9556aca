"""Preferences: stored per user, community and channel; the rule deciding what reaches a user and
how (inbox, push, mail), with quiet hours in the user's own time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import UNSET

from cryb_node.db import Connection, Database
from cryb_node.problems import Problem

from . import queries
from .schemas import KindSwitch, QuietHours, ScopePrefs, UserPrefs, UserPrefsPatch

_enc = msgspec.json.Encoder()


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a 400 naming ``time_zone``."""
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Problem(
            "invalid_field", 400, f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)", field="time_zone"
        ) from None


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def quiet_until(prefs: UserPrefs, now_ms: int) -> int | None:
    """If ``now_ms`` falls in the user's quiet hours (local time), when they end (ms); else None.

    A window whose end is before its start spans midnight (22:00-07:00). Local times come from the
    user's zone, so daylight-saving changes move the window with the user's clock.
    """
    q: QuietHours | None = prefs.quiet_hours
    if q is None or q.start == q.end:
        return None
    try:
        tz = ZoneInfo(prefs.time_zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        tz = ZoneInfo("UTC")  # a zone the system's tzdata no longer has: never fail delivery over it
    local = dt.datetime.fromtimestamp(now_ms / 1000, tz)
    minute = local.hour * 60 + local.minute
    start, end = _minutes(q.start), _minutes(q.end)
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    end_day = local.date() if minute < end else local.date() + dt.timedelta(days=1)
    end_local = dt.datetime.combine(end_day, dt.time(end // 60, end % 60), tzinfo=tz)
    return int(end_local.timestamp() * 1000)


@dataclass(frozen=True)
class Decision:
    """What one notification does for one user (None from decide(): nothing at all)."""

    push: bool
    email: bool
    hold_until: int | None  # quiet hours: push skipped, mail held until this time (ms)


def decide(
    user: UserPrefs,
    community: ScopePrefs | None,
    channel: ScopePrefs | None,
    kind: str,
    now_ms: int,
) -> Decision | None:
    for scope in (user, community, channel):
        if scope is not None and scope.muted_until is not None and scope.muted_until > now_ms:
            return None
    level = user.level
    for scope in (community, channel):  # the most specific scope that says something wins
        if scope is not None and scope.level is not None:
            level = scope.level
    if level == "nothing" or (level == "mentions" and kind == "announcement"):
        return None
    switch: KindSwitch = getattr(user.kinds, kind)
    if not switch.inbox:
        return None
    hold = quiet_until(user, now_ms)
    return Decision(push=switch.push and hold is None, email=switch.email and user.email, hold_until=hold)


class Prefs:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def user(self, user_id: str) -> UserPrefs:
        return await queries.user_prefs(self.db, user_id)

    async def patch_user(self, user_id: str, patch: UserPrefsPatch) -> UserPrefs:
        if patch.time_zone is not UNSET:
            zone(patch.time_zone)  # validated before anything is written

        def write(conn: Connection) -> UserPrefs:
            current = queries.load_user(conn, user_id)
            changes = {f: v for f in patch.__struct_fields__ if (v := getattr(patch, f)) is not UNSET}
            updated = msgspec.structs.replace(current, **changes)
            queries.save_prefs(conn, user_id, "user", "", _enc.encode(updated))
            return updated

        return await self.db.write(write)

    async def scope(self, user_id: str, scope: str, scope_id: str) -> ScopePrefs:
        return await queries.scope_prefs(self.db, user_id, scope, scope_id)

    async def set_scope(self, user_id: str, scope: str, scope_id: str, prefs: ScopePrefs) -> ScopePrefs:
        await self.db.write(
            lambda conn: queries.save_prefs(conn, user_id, scope, scope_id, _enc.encode(prefs))
        )
        return prefs

    async def clear_scope(self, user_id: str, scope: str, scope_id: str) -> None:
        await self.db.write(lambda conn: queries.clear_prefs(conn, user_id, scope, scope_id))

    async def unsubscribe_email(self, user_id: str) -> None:
        """One-click unsubscribe: no more mail of any kind (the user can turn it back on)."""

        def write(conn: Connection) -> None:
            current = queries.load_user(conn, user_id)
            off = msgspec.structs.replace(current, email=False)
            queries.save_prefs(conn, user_id, "user", "", _enc.encode(off))

        await self.db.write(write)
