"""Moderation as library calls: kick, ban, unban, timeout, the reports queue and the mod log."""

from __future__ import annotations

import json
from typing import Any

from cryb_node.clock import new_id, now_ms
from cryb_node.db import Connection, Database
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import CONTENT_TARGETS, NOTIFIER, ContentRef, Notice, Perm

from . import events as ev
from . import modlog_content
from . import schemas as s
from .perms import MODERATOR
from .service import Actor, Communities, Step


class Moderation:
    def __init__(self, communities: Communities) -> None:
        self.c = communities

    @property
    def db(self) -> Database:
        return self.c.node.db

    async def kick(self, actor: Actor, community_id: str, user_id: str, reason: str = "") -> None:
        await self.c.community_row(community_id, actor)
        await self.c.write(actor, Step("member.kick", community_id, user_id, ev.Reasoned(reason=reason)))

    async def ban(
        self, actor: Actor, community_id: str, user_id: str, reason: str = "", delete_message_seconds: int = 0
    ) -> s.BanOut:
        await self.c.community_row(community_id, actor)
        payload = ev.MemberBan(reason=reason, delete_message_seconds=delete_message_seconds)
        await self.c.write(actor, Step("member.ban", community_id, user_id, payload))
        return await self.ban_of(community_id, user_id)

    async def unban(self, actor: Actor, community_id: str, user_id: str, reason: str = "") -> None:
        await self.c.community_row(community_id, actor)
        await self.c.write(actor, Step("member.unban", community_id, user_id, ev.Reasoned(reason=reason)))

    async def timeout(
        self, actor: Actor, community_id: str, user_id: str, until: int | None, reason: str = ""
    ) -> None:
        await self.c.community_row(community_id, actor)
        payload = ev.MemberTimeout(until=until, reason=reason)
        await self.c.write(actor, Step("member.timeout", community_id, user_id, payload))

    async def bans(self, actor: Actor, community_id: str) -> s.BanList:
        await self.c.require(actor, community_id, Perm.BAN_MEMBERS, "the ban list")
        rows = await self.db.fetchall(f"{_BAN_SQL} WHERE community_id = ? ORDER BY hlc DESC", (community_id,))
        return s.BanList([_ban(r) for r in rows])

    async def ban_of(self, community_id: str, user_id: str) -> s.BanOut:
        row = await self.db.fetchone(
            f"{_BAN_SQL} WHERE community_id = ? AND user_id = ?", (community_id, user_id)
        )
        if row is None:
            raise not_found("ban")
        return _ban(row)

    # -- reports (node-local) ---------------------------------------------------------------------

    async def report(self, actor: Actor, community_id: str, body: s.ReportIn) -> s.ReportOut:
        await self.c.community_row(community_id, actor)
        m = await self.c.perms.member(community_id, actor.user_id)
        if not m.member and not actor.admin:
            raise forbidden("only members can report in this community")
        # Who it is about and what it said come from the target itself; the client's target_user
        # is not believed (it could name anyone).
        excerpt = ""
        if body.target_type == "member":
            target_user = body.target_id
            if not (await self.c.perms.member(community_id, target_user)).member:
                raise Problem(
                    "not_member", 404, "that user is not a member of this community", field="target_id"
                )
        else:
            ref = await self._content_target(actor, community_id, body.target_type, body.target_id)
            target_user, excerpt = ref.author_id, ref.excerpt
        rid = await self.file_report(
            community_id, actor.user_id, body.target_type, body.target_id, target_user, body.reason, excerpt
        )
        return await self.report_of(community_id, rid)

    async def _content_target(
        self, actor: Actor, community_id: str, target_type: str, target_id: str
    ) -> ContentRef:
        """A message, post or comment of this community that the reporter can see. Anything else (no
        such id, a DM, another community's, a channel hidden from them) is the same 404, so a report
        cannot be used to learn what exists elsewhere."""
        targets = self.c.node.services.get(CONTENT_TARGETS)
        ref = await targets.find(target_type, target_id) if targets is not None else None
        if ref is not None and ref.community_id == community_id and not actor.admin:
            access = await self.c.perms.channel(actor.user_id, ref.channel_id)
            if access is None or not access.has(Perm.VIEW_CHANNEL):
                ref = None
        if ref is None or ref.community_id != community_id:
            raise Problem("not_found", 404, f"no such {target_type} in this community", field="target_id")
        return ref

    async def file_report(
        self,
        community_id: str,
        reporter: str | None,
        target_type: str,
        target_id: str,
        target_user: str | None,
        reason: str,
        excerpt: str = "",
        rule_id: str | None = None,
    ) -> str:
        rid = new_id()

        def write(conn: Connection) -> None:
            # One open report per reporter and target: a repeat would only lengthen the queue.
            # Checked in the same write, so two quick clicks cannot both get in.
            if (
                reporter is not None
                and conn.execute(
                    "SELECT 1 FROM community_reports WHERE community_id = ? AND reporter_id = ? AND"
                    " target_type = ? AND target_id = ? AND status = 'open'",
                    (community_id, reporter, target_type, target_id),
                ).fetchone()
            ):
                raise Problem(
                    "already_reported", 409, "you already reported this; the moderators have it",
                    field="target_id",
                )  # fmt: skip
            conn.execute(
                "INSERT INTO community_reports (id, community_id, reporter_id, target_type, target_id,"
                " target_user, reason, excerpt, rule_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rid, community_id, reporter, target_type, target_id, target_user, reason, excerpt,
                 rule_id, now_ms()),
            )  # fmt: skip

        await self.db.write(write)
        return rid

    async def reports(self, actor: Actor, community_id: str, q: s.ReportQuery) -> s.ReportList:
        await self.c.require(actor, community_id, MODERATOR, "the reports queue")
        where, args = "community_id = ? AND id > ?", [community_id, q.after or ""]
        if q.status is not None:
            where += " AND status = ?"
            args.append(q.status)
        rows = await self.db.fetchall(
            f"{_REPORT_SQL} WHERE {where} ORDER BY id LIMIT ?", (*args, q.limit + 1)
        )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        reports = [_report(r) for r in rows]
        targets = self.c.node.services.get(CONTENT_TARGETS)
        for r in reports if targets is not None else []:
            if r.target_type != "member" and targets is not None:
                ref = await targets.find(r.target_type, r.target_id)
                if ref is not None and ref.community_id == community_id:
                    r.channel_id, r.post_id = ref.channel_id, ref.post_id
        return s.ReportList(reports, rows[-1][0] if more else None)

    async def report_of(self, community_id: str, report_id: str) -> s.ReportOut:
        row = await self.db.fetchone(
            f"{_REPORT_SQL} WHERE community_id = ? AND id = ?", (community_id, report_id)
        )
        if row is None:
            raise not_found("report")
        return _report(row)

    async def resolve(
        self, actor: Actor, community_id: str, report_id: str, body: s.ReportPatch
    ) -> s.ReportOut:
        await self.c.require(actor, community_id, MODERATOR, "handling reports")
        await self.report_of(community_id, report_id)
        done = body.status != "open"
        notifier = self.c.node.services.get(NOTIFIER)

        def write(conn: Connection) -> None:
            at = now_ms() if done else None
            conn.execute(
                "UPDATE community_reports SET status = ?, action_taken = ?, resolved_by = ?, resolved_at = ?"
                " WHERE id = ? AND community_id = ?",
                (body.status, body.action_taken, actor.label if done else None, at, report_id, community_id),
            )
            reporter = conn.execute(
                "SELECT reporter_id FROM community_reports WHERE id = ?", (report_id,)
            ).fetchone()
            if done and notifier is not None and reporter and reporter[0]:
                # The reporter is told in the same transaction, so the outcome is never lost.
                notifier.record(conn, Notice(
                    kind="report_resolved", user_id=reporter[0], community_id=community_id,
                    key=f"report:{report_id}:{at}",
                    text=f"{body.status}: {body.action_taken}" if body.action_taken else body.status,
                ))  # fmt: skip

        await self.db.write(write)
        return await self.report_of(community_id, report_id)

    # -- the mod log ------------------------------------------------------------------------------

    async def modlog(self, actor: Actor, community_id: str, q: s.ModlogQuery) -> s.ModlogList:
        row = await self.c.community_row(community_id, actor)
        if not row[6]:  # modlog_public
            await self.c.require(actor, community_id, Perm.VIEW_AUDIT_LOG, "the mod log")
        perms = await self.c.my_perms(actor, community_id) if actor.user_id or actor.admin else 0
        where = "community_id = ?"
        args: list[Any] = [community_id]
        if q.before:
            try:
                before = bytes.fromhex(q.before)
            except ValueError:
                raise Problem("invalid_query", 400, "before is an entry id", field="before") from None
            pivot = await self.db.fetchval("SELECT hlc FROM community_modlog WHERE event_id = ?", (before,))
            if pivot is None:
                raise Problem("invalid_query", 400, "no such entry", field="before")
            where += " AND (hlc, event_id) < (?, ?)"
            args += [pivot, before]
        if q.action:
            where += " AND action = ?"
            args.append(q.action)
        rows = await self.db.fetchall(
            "SELECT event_id, created_at, actor_id, action, target_id, reason, details FROM community_modlog"
            f" WHERE {where} ORDER BY hlc DESC, event_id DESC LIMIT ?",
            (*args, q.limit + 1),
        )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        entries = [_entry(r) for r in rows]
        targets = self.c.node.services.get(CONTENT_TARGETS)
        await modlog_content.describe(targets, entries, perms)
        return s.ModlogList(entries, entries[-1].id if more else None)


AUTOMOD_ENTRIES = ("automod_block", "automod_flag", "automod_timeout")
_BAN_SQL = "SELECT user_id, actor_id, reason, delete_message_seconds, created_at FROM community_bans"
_REPORT_SQL = (
    "SELECT id, community_id, reporter_id, target_type, target_id, target_user, reason, excerpt, rule_id,"
    " status, action_taken, resolved_by, resolved_at, created_at FROM community_reports"
)


def _ban(r: Any) -> s.BanOut:
    return s.BanOut(user_id=r[0], actor_id=r[1], reason=r[2], delete_message_seconds=r[3], created_at=r[4])


def _report(r: Any) -> s.ReportOut:
    return s.ReportOut(
        id=r[0],
        community_id=r[1],
        reporter_id=r[2],
        target_type=r[3],
        target_id=r[4],
        target_user=r[5],
        reason=r[6],
        excerpt=r[7],
        rule_id=r[8],
        status=r[9],
        action_taken=r[10],
        resolved_by=r[11],
        resolved_at=r[12],
        created_at=r[13],
    )


# What an entry's target is, by its action: the rest name a member (or none).
_TARGET_TYPES = {
    "channel": "channel", "overwrite": "channel", "role": "role", "automod": "rule",
    "community": "community", "invite": "invite",
    "message": "message", "post": "post", "comment": "comment",  # removed or restored (modlog_content)
}  # fmt: skip


def _target_type(action: str) -> str:
    if action in ("role_assign", "role_unassign", *AUTOMOD_ENTRIES):
        return "user"  # the member given the role, or whose message automod acted on
    return _TARGET_TYPES.get(action.split("_", 1)[0], "user")


def _entry(r: Any) -> s.ModlogEntry:
    details = json.loads(r[6])
    actor = r[2] or ("automod" if r[3] in AUTOMOD_ENTRIES else "node")
    return s.ModlogEntry(
        id=r[0].hex(), time=r[1], actor=actor, action=r[3], target=r[4],
        target_type=_target_type(r[3]) if r[4] else None, reason=r[5], details=details,
    )  # fmt: skip
