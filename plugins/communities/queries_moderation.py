"""The communities plugin's SQL for moderation: bans, the reports queue (node-local), the mod log and
automod rules; rows are read by column name."""

from __future__ import annotations

from typing import Any

import msgspec

from cryb_node.db import Connection, Database, Row
from cryb_node.problems import Problem

from . import schemas as s

# -- bans ---------------------------------------------------------------------------------------

_BAN = "SELECT user_id, actor_id, reason, delete_message_seconds, created_at FROM community_bans"


def _ban(r: Row) -> s.BanOut:
    return s.BanOut(
        user_id=r["user_id"], actor_id=r["actor_id"], reason=r["reason"],
        delete_message_seconds=r["delete_message_seconds"], created_at=r["created_at"],
    )  # fmt: skip


async def bans(db: Database, community_id: str) -> list[s.BanOut]:
    """The community's bans, newest first (in the log's order)."""
    rows = await db.fetchall(f"{_BAN} WHERE community_id = ? ORDER BY hlc DESC", (community_id,))
    return [_ban(r) for r in rows]


async def ban(db: Database, community_id: str, user_id: str) -> s.BanOut | None:
    row = await db.fetchone(f"{_BAN} WHERE community_id = ? AND user_id = ?", (community_id, user_id))
    return None if row is None else _ban(row)


# -- reports ------------------------------------------------------------------------------------

_REPORT = (
    "SELECT id, community_id, reporter_id, target_type, target_id, target_user, reason, excerpt, rule_id,"
    " status, action_taken, resolved_by, resolved_at, created_at FROM community_reports"
)


def _report(r: Row) -> s.ReportOut:
    return s.ReportOut(
        id=r["id"], community_id=r["community_id"], reporter_id=r["reporter_id"],
        target_type=r["target_type"], target_id=r["target_id"], target_user=r["target_user"],
        reason=r["reason"], excerpt=r["excerpt"], rule_id=r["rule_id"], status=r["status"],
        action_taken=r["action_taken"], resolved_by=r["resolved_by"], resolved_at=r["resolved_at"],
        created_at=r["created_at"],
    )  # fmt: skip


def insert_report(
    conn: Connection, rid: str, community_id: str, reporter: str | None, target_type: str,
    target_id: str, target_user: str | None, reason: str, excerpt: str, rule_id: str | None, now: int,
) -> None:  # fmt: skip
    # One open report per reporter and target: a repeat would only lengthen the queue. Checked in
    # the same write, so two quick clicks cannot both get in.
    if (
        reporter is not None
        and conn.execute(
            "SELECT 1 FROM community_reports WHERE community_id = ? AND reporter_id = ? AND"
            " target_type = ? AND target_id = ? AND status = 'open'",
            (community_id, reporter, target_type, target_id),
        ).fetchone()
    ):
        raise Problem(
            "already_reported", 409, "you already reported this; the moderators have it", field="target_id"
        )
    conn.execute(
        "INSERT INTO community_reports (id, community_id, reporter_id, target_type, target_id,"
        " target_user, reason, excerpt, rule_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (rid, community_id, reporter, target_type, target_id, target_user, reason, excerpt, rule_id, now),
    )


async def reports_page(
    db: Database, community_id: str, after: str, limit: int, status: str | None
) -> list[s.ReportOut]:
    """Reports by id after ``after`` (``limit`` of them), of one status or all."""
    where, args = "community_id = ? AND id > ?", [community_id, after]
    if status is not None:
        where += " AND status = ?"
        args.append(status)
    rows = await db.fetchall(f"{_REPORT} WHERE {where} ORDER BY id LIMIT ?", (*args, limit))
    return [_report(r) for r in rows]


async def report(db: Database, community_id: str, report_id: str) -> s.ReportOut | None:
    row = await db.fetchone(f"{_REPORT} WHERE community_id = ? AND id = ?", (community_id, report_id))
    return None if row is None else _report(row)


def resolve_report(
    conn: Connection, community_id: str, report_id: str, status: str, action_taken: str,
    resolved_by: str | None, at: int | None,
) -> str | None:  # fmt: skip
    """Set the report's outcome; returns who filed it (None: automod)."""
    conn.execute(
        "UPDATE community_reports SET status = ?, action_taken = ?, resolved_by = ?, resolved_at = ?"
        " WHERE id = ? AND community_id = ?",
        (status, action_taken, resolved_by, at, report_id, community_id),
    )
    row = conn.execute("SELECT reporter_id FROM community_reports WHERE id = ?", (report_id,)).fetchone()
    return None if row is None else row["reporter_id"]


# -- the mod log --------------------------------------------------------------------------------


async def modlog_place(db: Database, event_id: bytes) -> int | None:
    """The hlc of a mod log entry (the page cursor), None if there is no such entry."""
    return await db.fetchval("SELECT hlc FROM community_modlog WHERE event_id = ?", (event_id,))


async def modlog_page(
    db: Database,
    community_id: str,
    limit: int,
    *,
    before: tuple[int, bytes] | None = None,
    action: str | None = None,
) -> list[Row]:
    """event_id, created_at, actor_id, action, target_id, reason and details (JSON) of entries,
    newest first, before the (hlc, event id) ``before``."""
    where = "community_id = ?"
    args: list[Any] = [community_id]
    if before is not None:
        where += " AND (hlc, event_id) < (?, ?)"
        args += before
    if action:
        where += " AND action = ?"
        args.append(action)
    return await db.fetchall(
        "SELECT event_id, created_at, actor_id, action, target_id, reason, details FROM community_modlog"
        f" WHERE {where} ORDER BY hlc DESC, event_id DESC LIMIT ?",
        (*args, limit),
    )


# -- automod rules ------------------------------------------------------------------------------

_RULE = (
    "SELECT id, name, kind, config, action, timeout_s, enabled FROM community_automod_rules"
    " WHERE community_id = ?"
)


def _rule(r: Row) -> s.AutomodRuleOut:
    config = msgspec.convert(msgspec.json.decode(r["config"]), s.AutomodConfigIn)
    return s.AutomodRuleOut(
        id=r["id"], name=r["name"], kind=r["kind"], config=config, action=r["action"],
        timeout_s=r["timeout_s"], enabled=bool(r["enabled"]),
    )  # fmt: skip


async def enabled_rules(db: Database, community_id: str) -> list[Row]:
    """id, name, kind, config (JSON), action and timeout_s of the enabled rules, in order."""
    return await db.fetchall(f"{_RULE} AND enabled = 1 ORDER BY position, id", (community_id,))


async def automod_rules(db: Database, community_id: str) -> list[s.AutomodRuleOut]:
    rows = await db.fetchall(f"{_RULE} ORDER BY position, id", (community_id,))
    return [_rule(r) for r in rows]


async def automod_rule(db: Database, community_id: str, rule_id: str) -> s.AutomodRuleOut | None:
    row = await db.fetchone(f"{_RULE} AND id = ?", (community_id, rule_id))
    return None if row is None else _rule(row)


async def rule_sizes(db: Database, community_id: str) -> list[Row]:
    """id, kind and config (JSON) of every rule: what the caps count."""
    return await db.fetchall(
        "SELECT id, kind, config FROM community_automod_rules WHERE community_id = ?", (community_id,)
    )
