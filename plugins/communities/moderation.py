"""Moderation as library calls: kick, ban, unban, timeout, the reports queue and the mod log."""

from __future__ import annotations

import json

from cryb_node.clock import new_id
from cryb_node.db import Connection, Database, Row
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import CONTENT_TARGETS, NOTIFIER, ContentRef, Notice, Perm

from . import events as ev
from . import modlog_content, queries_moderation
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
        return s.BanList(await queries_moderation.bans(self.db, community_id))

    async def ban_of(self, community_id: str, user_id: str) -> s.BanOut:
        found = await queries_moderation.ban(self.db, community_id, user_id)
        if found is None:
            raise not_found("ban")
        return found

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
        clock = self.c.node.clock

        def write(conn: Connection) -> None:
            queries_moderation.insert_report(
                conn, rid, community_id, reporter, target_type, target_id, target_user, reason, excerpt,
                rule_id, clock.time_ms(),
            )  # fmt: skip

        await self.db.write(write)
        return rid

    async def reports(self, actor: Actor, community_id: str, q: s.ReportQuery) -> s.ReportList:
        await self.c.require(actor, community_id, MODERATOR, "the reports queue")
        reports = await queries_moderation.reports_page(
            self.db, community_id, q.after or "", q.limit + 1, q.status
        )
        more = len(reports) > q.limit
        reports = reports[: q.limit]
        targets = self.c.node.services.get(CONTENT_TARGETS)
        for r in reports if targets is not None else []:
            if r.target_type != "member" and targets is not None:
                ref = await targets.find(r.target_type, r.target_id)
                if ref is not None and ref.community_id == community_id:
                    r.channel_id, r.post_id = ref.channel_id, ref.post_id
        return s.ReportList(reports, reports[-1].id if more else None)

    async def report_of(self, community_id: str, report_id: str) -> s.ReportOut:
        found = await queries_moderation.report(self.db, community_id, report_id)
        if found is None:
            raise not_found("report")
        return found

    async def resolve(
        self, actor: Actor, community_id: str, report_id: str, body: s.ReportPatch
    ) -> s.ReportOut:
        await self.c.require(actor, community_id, MODERATOR, "handling reports")
        await self.report_of(community_id, report_id)
        done = body.status != "open"
        notifier = self.c.node.services.get(NOTIFIER)
        clock = self.c.node.clock

        def write(conn: Connection) -> None:
            at = clock.time_ms() if done else None
            reporter = queries_moderation.resolve_report(
                conn, community_id, report_id, body.status, body.action_taken,
                actor.label if done else None, at,
            )  # fmt: skip
            if done and notifier is not None and reporter:
                # The reporter is told in the same transaction, so the outcome is never lost.
                notifier.record(conn, Notice(
                    kind="report_resolved", user_id=reporter, community_id=community_id,
                    key=f"report:{report_id}:{at}",
                    text=f"{body.status}: {body.action_taken}" if body.action_taken else body.status,
                ))  # fmt: skip

        await self.db.write(write)
        return await self.report_of(community_id, report_id)

    # -- the mod log ------------------------------------------------------------------------------

    async def modlog(self, actor: Actor, community_id: str, q: s.ModlogQuery) -> s.ModlogList:
        row = await self.c.community_row(community_id, actor)
        if not row["modlog_public"]:
            await self.c.require(actor, community_id, Perm.VIEW_AUDIT_LOG, "the mod log")
        perms = await self.c.my_perms(actor, community_id) if actor.user_id or actor.admin else 0
        place = None
        if q.before:
            try:
                before = bytes.fromhex(q.before)
            except ValueError:
                raise Problem("invalid_query", 400, "before is an entry id", field="before") from None
            pivot = await queries_moderation.modlog_place(self.db, before)
            if pivot is None:
                raise Problem("invalid_query", 400, "no such entry", field="before")
            place = (pivot, before)
        rows = await queries_moderation.modlog_page(
            self.db, community_id, q.limit + 1, before=place, action=q.action
        )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        entries = [_entry(r) for r in rows]
        targets = self.c.node.services.get(CONTENT_TARGETS)
        await modlog_content.describe(targets, entries, perms)
        return s.ModlogList(entries, entries[-1].id if more else None)


AUTOMOD_ENTRIES = ("automod_block", "automod_flag", "automod_timeout")


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


def _entry(r: Row) -> s.ModlogEntry:
    action, target = r["action"], r["target_id"]
    actor = r["actor_id"] or ("automod" if action in AUTOMOD_ENTRIES else "node")
    return s.ModlogEntry(
        id=r["event_id"].hex(), time=r["created_at"], actor=actor, action=action, target=target,
        target_type=_target_type(action) if target else None, reason=r["reason"],
        details=json.loads(r["details"]),
    )  # fmt: skip
