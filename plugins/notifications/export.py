"""The notifications plugin's part of a member's data export: their notification settings, for the
whole account and per community or channel."""

from __future__ import annotations

import msgspec

from cryb_node.db import Database
from cryb_node.export import ExportSink

from . import queries
from .schemas import ScopePrefs, UserPrefs


class ScopeSetting(msgspec.Struct):
    scope: str  # community | channel
    scope_id: str
    settings: ScopePrefs


class NotificationSettings(msgspec.Struct):
    account: UserPrefs
    overrides: list[ScopeSetting]


async def export_member(db: Database, user_id: str, sink: ExportSink) -> None:
    account, overrides = UserPrefs(), []
    rows = await queries.all_prefs(db, user_id)
    for r in rows:
        if r["scope"] == "user":
            account = msgspec.json.decode(r["data"], type=UserPrefs)
        else:
            settings = msgspec.json.decode(r["data"], type=ScopePrefs)
            overrides.append(ScopeSetting(r["scope"], r["scope_id"], settings))
    await sink.write_json("notification_settings.json", NotificationSettings(account, overrides))
    await sink.advance(len(rows) or 1)
    sink.describe(
        "notification_settings.json",
        "How you asked to be notified: for your account (levels, quiet hours, email), and the"
        " communities and channels you set apart.",
    )
