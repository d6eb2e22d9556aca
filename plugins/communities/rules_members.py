"""Governance rules for communities themselves and their membership (join, leave, kick, ban, timeout)."""

from __future__ import annotations

import json

from cryb_node.services import Perm

from . import events as ev_types
from .authority import (
    MAX_DELETE_MESSAGE_SECONDS,
    MAX_TIMEOUT_MS,
    Change,
    Ctx,
    Denied,
    fields_of,
    handles,
    update_sql,
)
from .perms import DEFAULT_EVERYONE

# -- communities ----------------------------------------------------------------------------------


@handles("community.create")
def community_create(c: Ctx) -> Change:
    p: ev_types.CommunityCreate = c.p
    if c.actor is None or c.target != c.cid:
        raise Denied("invalid_event", 400, "a community is created by a user, targeting itself")
    if c.conn.execute("SELECT 1 FROM communities WHERE id = ?", (c.cid,)).fetchone():
        raise Denied("exists", 409, "that community already exists")

    def change() -> None:
        c.sql(
            "INSERT INTO communities (id, name, description, icon, public, rules, modlog_public, owner_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            c.cid, p.name, p.description, p.icon, int(p.public), json.dumps(p.rules),
            int(p.modlog_public), c.actor, c.now,
        )  # fmt: skip
        c.sql(
            "INSERT INTO community_roles (id, community_id, name, perms, position) VALUES (?, ?, ?, ?, 0)",
            c.cid, c.cid, "@everyone", DEFAULT_EVERYONE,
        )  # fmt: skip
        c.sql(
            "INSERT INTO community_members (community_id, user_id, joined_at) VALUES (?, ?, ?)",
            c.cid, c.actor, c.now,
        )  # fmt: skip

    return change


@handles("community.update")
def community_update(c: Ctx) -> Change:
    c.require(Perm.MANAGE_COMMUNITY)
    values = fields_of(c.p, ("name", "description", "icon", "public", "rules", "modlog_public"))
    if "rules" in values:
        values["rules"] = json.dumps(values["rules"])
    for k in ("public", "modlog_public"):
        if k in values:
            values[k] = int(values[k])

    def change() -> None:
        if values:
            sql, args = update_sql("communities", values, "id = ?")
            c.conn.execute(sql, [*args, c.cid])
        c.modlog("community_update", c.cid, fields=sorted(values))

    return change


@handles("community.delete")
def community_delete(c: Ctx) -> Change:
    c.require_owner()

    def change() -> None:
        for table in ev_types.PROJECTION_TABLES:
            c.sql(f"DELETE FROM {table} WHERE community_id = ?", c.cid)
        c.sql("UPDATE communities SET deleted = 1 WHERE id = ?", c.cid)

    return change


@handles("community.transfer")
def community_transfer(c: Ctx) -> Change:
    c.require_owner()
    new_owner = c.require_target_member()
    if new_owner == c.state.owner_id:
        raise Denied("already_owner", 409, "that member already owns the community", "user_id")

    def change() -> None:
        c.sql("UPDATE communities SET owner_id = ? WHERE id = ?", new_owner, c.cid)
        c.modlog("transfer", new_owner, previous_owner=c.state.owner_id)

    return change


# -- membership -----------------------------------------------------------------------------------


@handles("member.join")
def member_join(c: Ctx) -> Change:
    p: ev_types.MemberJoin = c.p
    if c.actor is None or c.actor != c.target:
        raise Denied("invalid_event", 400, "members join themselves")
    me = c.member(c.actor)
    if me.banned:
        raise Denied("banned", 403, "you are banned from this community")
    if me.member:
        raise Denied("already_member", 409, "you are already a member")
    grant = None if c.state.public else _invite_grant(c, p.invite)
    if grant is None and p.invite:
        # A public community needs no invite, but one used to join still counts a use (so its use
        # limit holds: the service refuses a used-up invite before the join is written).
        known = ev_types.invite_id(p.invite)
        if c.conn.execute(
            "SELECT 1 FROM community_invite_grants WHERE id = ? AND community_id = ?", (known, c.cid)
        ).fetchone():
            grant = known

    def change() -> None:
        c.sql(
            "INSERT INTO community_members (community_id, user_id, joined_at) VALUES (?, ?, ?)",
            c.cid, c.actor, c.now,
        )  # fmt: skip
        if grant is not None:
            c.sql("UPDATE community_invite_grants SET uses = uses + 1 WHERE id = ?", grant)

    return change


def _remove_member(c: Ctx, user_id: str) -> None:
    c.sql("DELETE FROM community_members WHERE community_id = ? AND user_id = ?", c.cid, user_id)
    c.sql("DELETE FROM community_member_roles WHERE community_id = ? AND user_id = ?", c.cid, user_id)


@handles("member.leave")
def member_leave(c: Ctx) -> Change:
    if c.actor is None or c.actor != c.target or not c.member(c.actor).member:
        raise Denied("not_member", 404, "you are not a member of this community")
    if c.actor == c.state.owner_id:
        raise Denied("owner_cannot_leave", 409, "transfer ownership or delete the community first")
    return lambda: _remove_member(c, c.actor or "")


@handles("member.kick")
def member_kick(c: Ctx) -> Change:
    c.require(Perm.KICK_MEMBERS)
    target = c.require_target_member()
    c.require_outranks(target)

    def change() -> None:
        _remove_member(c, target)
        c.modlog("kick", target, c.p.reason)

    return change


@handles("member.ban")
def member_ban(c: Ctx) -> Change:
    p: ev_types.MemberBan = c.p
    c.require(Perm.BAN_MEMBERS)
    target = c.target
    if not target:
        raise Denied("invalid_event", 400, "a ban names its target", "user_id")
    if c.member(target).member or target == c.state.owner_id:
        c.require_outranks(target)
    if c.member(target).banned:
        raise Denied("already_banned", 409, "that user is already banned", "user_id")
    if not 0 <= p.delete_message_seconds <= MAX_DELETE_MESSAGE_SECONDS:
        raise Denied("out_of_range", 400, "at most 7 days of content", "delete_message_seconds")

    def change() -> None:
        _remove_member(c, target)
        c.sql(
            "INSERT INTO community_bans (community_id, user_id, actor_id, reason, delete_message_seconds,"
            " hlc, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            c.cid, target, c.actor, p.reason, p.delete_message_seconds, c.hlc, c.now,
        )  # fmt: skip
        c.modlog("ban", target, p.reason, delete_message_seconds=p.delete_message_seconds or None)

    return change


@handles("member.unban")
def member_unban(c: Ctx) -> Change:
    c.require(Perm.BAN_MEMBERS)
    target = c.target or ""
    if not c.member(target).banned:
        raise Denied("not_banned", 404, "that user is not banned", "user_id")

    def change() -> None:
        c.sql("DELETE FROM community_bans WHERE community_id = ? AND user_id = ?", c.cid, target)
        c.modlog("unban", target, c.p.reason)

    return change


@handles("member.timeout")
def member_timeout(c: Ctx) -> Change:
    p: ev_types.MemberTimeout = c.p
    c.require(Perm.MODERATE_MEMBERS)
    target = c.require_target_member()
    c.require_outranks(target)
    if c.perms(target) & Perm.ADMINISTRATOR:
        raise Denied("target_is_admin", 403, "administrators cannot be timed out", "user_id")
    if p.until is not None and not c.now < p.until <= c.now + MAX_TIMEOUT_MS:
        raise Denied("out_of_range", 400, "a timeout ends in the future, at most 28 days away", "until")

    def change() -> None:
        c.sql(
            "UPDATE community_members SET timeout_until = ? WHERE community_id = ? AND user_id = ?",
            p.until, c.cid, target,
        )  # fmt: skip
        c.modlog("timeout" if p.until else "timeout_remove", target, p.reason, until=p.until)

    return change


def _invite_grant(c: Ctx, code: str | None) -> str:
    """A private community's join proves its right: the code of an invite made by an invite.create
    event, unrevoked, unexpired and with uses left at the join's place. Returns the grant's id."""
    if not code:
        raise Denied("invite_required", 403, "this community is private: an invite is needed")
    grant = ev_types.invite_id(code)
    row = c.conn.execute(
        "SELECT expires_at, max_uses, uses, revoked FROM community_invite_grants"
        " WHERE id = ? AND community_id = ?",
        (grant, c.cid),
    ).fetchone()
    if row is None:
        raise Denied("invite_not_found", 403, "no such invite for this community", "invite")
    expires_at, max_uses, uses = row["expires_at"], row["max_uses"], row["uses"]
    if row["revoked"]:
        raise Denied("invite_revoked", 410, "this invite was revoked", "invite")
    if expires_at is not None and expires_at <= c.now:
        raise Denied("invite_expired", 410, "this invite has expired", "invite")
    if max_uses is not None and uses >= max_uses:
        raise Denied("invite_used_up", 410, "this invite has no uses left", "invite")
    return grant


# -- invites --------------------------------------------------------------------------------------


@handles("invite.create")
def invite_create(c: Ctx) -> Change:
    p: ev_types.InviteCreate = c.p
    if c.actor is None or c.target is None or len(c.target) != 32:
        raise Denied("invalid_event", 400, "an invite is made by a user and named by its code's hash")
    if not c.member(c.actor).member and not c.admin:
        raise Denied("not_member", 403, "only members make invites")
    c.require(Perm.CREATE_INVITES)
    if p.max_uses is not None and p.max_uses < 1:
        raise Denied("out_of_range", 400, "max_uses is at least 1", "max_uses")
    target = c.target

    def change() -> None:
        c.sql(
            "INSERT OR IGNORE INTO community_invite_grants (id, community_id, creator_id, created_at,"
            " expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?)",
            target, c.cid, c.actor, c.now, p.expires_at, p.max_uses,
        )  # fmt: skip

    return change


@handles("invite.revoke")
def invite_revoke(c: Ctx) -> Change:
    row = c.conn.execute(
        "SELECT creator_id FROM community_invite_grants WHERE id = ? AND community_id = ?",
        (c.target, c.cid),
    ).fetchone()
    if row is None:
        raise Denied("invite_not_found", 404, "no such invite", "code")
    if row["creator_id"] != c.actor:
        c.require(Perm.MANAGE_COMMUNITY)
    target = c.target

    def change() -> None:
        c.sql("UPDATE community_invite_grants SET revoked = 1 WHERE id = ?", target)
        c.modlog("invite_revoke", target)

    return change
