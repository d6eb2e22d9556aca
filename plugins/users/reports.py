"""The node admins' reports queue: members report a direct message, a profile, a whole community, or
a community's message, post or comment past its moderators; admins resolve or dismiss each report.
The HTTP routes (report_routes.py) and `cryb report` (report_cli.py) call these functions.

A target is checked before anything is stored: it must exist and the reporter must be able to see it
(a DM only by its participants); anything else is one 404 on ``target_id``, so a report cannot be used
to learn what exists. Content and communities are found through the core's typed services, never by
reading another plugin's tables. A reporter learns nothing about anyone else's reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta

from cryb_node.clock import new_id
from cryb_node.db import Connection
from cryb_node.problems import Problem, not_found
from cryb_node.services import (
    COMMUNITY_DIRECTORY,
    CONTENT_TARGETS,
    NOTIFIER,
    PERMISSIONS,
    Notice,
    Perm,
)

from . import queries_admin

if TYPE_CHECKING:
    from .schemas import Profile
    from .service import Client, Users

TargetType = Literal["dm_message", "user", "community", "message", "post", "comment"]
Status = Literal["open", "resolved", "dismissed"]
CONTENT = ("message", "post", "comment")


class NodeReportIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    target_type: TargetType
    target_id: Annotated[str, Meta(min_length=1, max_length=64)]
    reason: Annotated[str, Meta(min_length=1, max_length=1000)]


class NodeReportFiled(msgspec.Struct, kw_only=True):
    """What the reporter gets back: their own report, nothing about anyone else's."""

    id: str
    target_type: str
    target_id: str
    status: str
    created_at: int


class NodeReportQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: Status | Literal["all"] = "open"
    after: Annotated[str, Meta(max_length=64)] | None = None
    limit: Annotated[int, Meta(ge=1, le=200)] = 50


class NodeReportDecision(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: Literal["resolved", "dismissed"]
    note: Annotated[str, Meta(max_length=1000)] = ""


class NodeReport(msgspec.Struct, kw_only=True):
    """A report as node admins see it: the target by name and excerpt, with what links to it."""

    id: str
    reporter_id: str
    reporter_name: str
    target_type: str
    target_id: str
    target_user: str | None
    target_user_name: str | None
    community_id: str | None
    channel_id: str | None
    post_id: str | None
    label: str
    excerpt: str
    reason: str
    status: str
    note: str
    resolved_by: str | None  # an admin's id, or "node" (the CLI)
    resolved_by_name: str | None = None
    resolved_at: int | None
    created_at: int


class NodeReportPage(msgspec.Struct):
    reports: list[NodeReport]
    next: str | None = None


@dataclass(frozen=True)
class _Target:
    target_user: str | None
    label: str
    excerpt: str = ""
    community_id: str | None = None
    channel_id: str | None = None
    post_id: str | None = None


def _no_target(what: str) -> Problem:
    return Problem("not_found", 404, f"no such {what} that you can report", field="target_id")


async def _profile(users: Users, user_id: str) -> Profile | None:
    try:
        return await users.profile(user_id)
    except Problem:
        return None


def _handle(p: Profile | None) -> str:
    """@name (@name@home for another node's user), or '' for nobody known."""
    if p is None:
        return ""
    return f"@{p.username}@{p.home}" if p.home else f"@{p.username}"


async def _target(users: Users, reporter_id: str, body: NodeReportIn) -> _Target:
    services = users.node.services
    kind, tid = body.target_type, body.target_id
    if kind == "user":
        p = await _profile(users, tid)
        if p is None:
            raise _no_target("user")
        if tid == reporter_id:
            raise Problem("invalid_target", 400, "you cannot report yourself", field="target_id")
        name = _handle(p)
        # the bio as it was: what a profile report is often about
        return _Target(tid, f"{p.display_name} ({name})" if p.display_name else name, p.bio[:300])
    if kind == "community":
        directory = services.get(COMMUNITY_DIRECTORY)
        community = await directory.visible(reporter_id, tid) if directory is not None else None
        if community is None:
            raise _no_target("community")
        return _Target(community.owner_id, community.name, community_id=community.id)
    targets = services.get(CONTENT_TARGETS)
    ref = await targets.find("message" if kind == "dm_message" else kind, tid) if targets else None
    if ref is None:
        raise _no_target(kind.replace("_", " "))
    if kind == "dm_message":
        # Only someone in the conversation can see it, so only they can show it to the admins.
        if ref.community_id is not None or reporter_id not in ref.participants:
            raise _no_target("direct message")
    else:
        perms = services.get(PERMISSIONS)
        access = await perms.channel(reporter_id, ref.channel_id) if perms and ref.community_id else None
        if access is None or not access.has(Perm.VIEW_CHANNEL):
            raise _no_target(kind)
    if ref.author_id == reporter_id:
        raise Problem("invalid_target", 400, "you cannot report what you wrote", field="target_id")
    author = _handle(await _profile(users, ref.author_id))
    return _Target(ref.author_id, author, ref.excerpt, ref.community_id, ref.channel_id, ref.post_id)


async def file_report(users: Users, reporter_id: str, body: NodeReportIn) -> NodeReportFiled:
    reason = body.reason.strip()
    if not reason:
        raise Problem("invalid_field", 400, "say why you are reporting this", field="reason")
    t = await _target(users, reporter_id, body)
    rid, now = new_id(), users.node.clock.time_ms()

    values = {
        "id": rid, "reporter_id": reporter_id, "target_type": body.target_type, "target_id": body.target_id,
        "target_user": t.target_user, "community_id": t.community_id, "channel_id": t.channel_id,
        "post_id": t.post_id, "label": t.label, "excerpt": t.excerpt, "reason": reason, "created_at": now,
    }  # fmt: skip
    if not await users.node.db.write(lambda conn: queries_admin.insert_report(conn, values)):
        raise Problem(
            "already_reported", 409, "you already reported this; the admins have it", field="target_id"
        )
    return NodeReportFiled(id=rid, target_type=body.target_type, target_id=body.target_id, status="open",
                       created_at=now)  # fmt: skip


def _admin_report(r: Any) -> NodeReport:
    """From a queries_admin.REPORT row: its columns are named as NodeReport's fields."""
    return NodeReport(**{f: r[f] for f in NodeReport.__struct_fields__})


async def list_reports(users: Users, q: NodeReportQuery) -> NodeReportPage:
    """Oldest first (a queue), paged by id."""
    status = None if q.status == "all" else q.status
    rows = await queries_admin.reports(users.node.db, status=status, after=q.after or "", limit=q.limit + 1)
    more = len(rows) > q.limit
    page = [_admin_report(r) for r in rows[: q.limit]]
    return NodeReportPage(page, page[-1].id if more else None)


async def get_report(users: Users, report_id: str) -> NodeReport:
    row = await queries_admin.report(users.node.db, report_id)
    if row is None:
        raise not_found("report")
    return _admin_report(row)


async def decide(
    users: Users, report_id: str, decision: NodeReportDecision, client: Client, *, actor_id: str | None
) -> NodeReport:
    """Resolve or dismiss an open report (audited); its reporter is told the outcome, not the note."""
    notifier = users.node.services.get(NOTIFIER)
    now = users.node.clock.time_ms()

    def write(conn: Connection) -> None:
        row = queries_admin.report_to_decide(conn, report_id)
        if row is None:
            raise not_found("report")
        if row["status"] != "open":
            raise Problem("report_closed", 409, f"this report is already {row['status']}")
        queries_admin.close_report(
            conn, report_id, status=decision.status, note=decision.note.strip(),
            resolved_by=actor_id or "node", now_ms=now,
        )  # fmt: skip
        users.audit(conn, f"report.{decision.status}", client, user_id=row["target_user"], actor_id=actor_id,
                     report_id=report_id, target_type=row["target_type"])  # fmt: skip
        if notifier is not None:
            # Told in the same transaction, so the outcome is never lost; the admin's note stays
            # with the admins (it may name other people).
            notice = Notice(kind="report_resolved", user_id=row["reporter_id"],
                            key=f"node-report:{report_id}",
                            text=f"The node admins {decision.status} your report.")  # fmt: skip
            notifier.record(conn, notice)

    await users.node.db.write(write)
    return await get_report(users, report_id)
