"""Governance rules for a community's structure: roles, channels, overwrites and automod rules."""

from __future__ import annotations

import msgspec

from cryb_node.services import Perm

from . import events as ev_types
from .authority import (
    AUTOMOD_ACTIONS,
    AUTOMOD_KINDS,
    CHANNEL_KINDS,
    TARGET_TYPES,
    Change,
    Ctx,
    Denied,
    fields_of,
    handles,
    update_sql,
)

# -- roles ----------------------------------------------------------------------------------------


@handles("role.create")
def role_create(c: Ctx) -> Change:
    p: ev_types.RoleCreate = c.p
    c.require(Perm.MANAGE_ROLES)
    role_id = c.target or ""
    if not role_id or c.conn.execute("SELECT 1 FROM community_roles WHERE id = ?", (role_id,)).fetchone():
        raise Denied("exists", 409, "that role id is taken", "role_id")
    c.require_bits(p.perms, "perms")
    if p.position < 1:
        raise Denied("out_of_range", 400, "positions start at 1 (0 is @everyone)", "position")
    c.require_below(p.position)

    def change() -> None:
        c.sql(
            "INSERT INTO community_roles (id, community_id, name, perms, position, color, hoist, mentionable)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            role_id, c.cid, p.name, p.perms, p.position, p.color, int(p.hoist), int(p.mentionable),
        )  # fmt: skip
        c.modlog("role_create", role_id, name=p.name, perms=p.perms, position=p.position)

    return change


@handles("role.update")
def role_update(c: Ctx) -> Change:
    p: ev_types.RoleUpdate = c.p
    c.require(Perm.MANAGE_ROLES)
    role = c.role(c.target)
    everyone = role.id == c.cid
    values = fields_of(p, ("name", "perms", "position", "color", "hoist", "mentionable"))
    if everyone and {"name", "position"} & set(values):
        raise Denied("everyone_fixed", 400, "@everyone keeps its name and position", "position")
    if not everyone:
        c.require_below(role.position, "role_id")
    if "position" in values:
        if values["position"] < 1:
            raise Denied("out_of_range", 400, "positions start at 1 (0 is @everyone)", "position")
        c.require_below(values["position"])
    if "perms" in values:
        # Only the bits being added must be held; keeping what a role already has is fine.
        c.require_bits(values["perms"] & ~role.perms, "perms")
    for k in ("hoist", "mentionable"):
        if k in values:
            values[k] = int(values[k])

    def change() -> None:
        if values:
            sql, args = update_sql("community_roles", values, "id = ?")
            c.conn.execute(sql, [*args, role.id])
        c.modlog("role_update", role.id, **{k: v for k, v in values.items() if k in ("perms", "position")})

    return change


@handles("role.delete")
def role_delete(c: Ctx) -> Change:
    c.require(Perm.MANAGE_ROLES)
    role = c.role(c.target)
    if role.id == c.cid:
        raise Denied("everyone_fixed", 400, "@everyone cannot be deleted", "role_id")
    c.require_below(role.position, "role_id")

    def change() -> None:
        c.sql("DELETE FROM community_roles WHERE id = ?", role.id)
        c.sql("DELETE FROM community_member_roles WHERE role_id = ?", role.id)
        c.sql("DELETE FROM community_overwrites WHERE target_type = 'role' AND target_id = ?", role.id)
        c.modlog("role_delete", role.id)

    return change


def _role_member(c: Ctx) -> tuple[str, str]:
    c.require(Perm.MANAGE_ROLES)
    role = c.role(c.p.role_id)
    if role.id == c.cid:
        raise Denied("everyone_fixed", 400, "everyone has @everyone", "role_id")
    c.require_below(role.position, "role_id")
    return c.require_target_member(), role.id


@handles("role.assign")
def role_assign(c: Ctx) -> Change:
    user, role_id = _role_member(c)

    def change() -> None:
        c.sql(
            "INSERT OR IGNORE INTO community_member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)",
            c.cid, user, role_id,
        )  # fmt: skip
        c.modlog("role_assign", user, role_id=role_id)

    return change


@handles("role.unassign")
def role_unassign(c: Ctx) -> Change:
    user, role_id = _role_member(c)

    def change() -> None:
        c.sql(
            "DELETE FROM community_member_roles WHERE community_id = ? AND user_id = ? AND role_id = ?",
            c.cid, user, role_id,
        )  # fmt: skip
        c.modlog("role_unassign", user, role_id=role_id)

    return change


# -- channels -------------------------------------------------------------------------------------


def _check_parent(c: Ctx, kind: str, parent_id: str | None) -> None:
    if parent_id is None:
        return
    parent = c.state.channels.get(parent_id)
    if parent is None or parent.kind != "category" or kind == "category":
        raise Denied("invalid_parent", 400, "a parent must be a category of this community", "parent_id")


@handles("channel.create")
def channel_create(c: Ctx) -> Change:
    p: ev_types.ChannelCreate = c.p
    c.require(Perm.MANAGE_CHANNELS)
    channel_id = c.target or ""
    if p.kind not in CHANNEL_KINDS:
        raise Denied("invalid_kind", 400, f"kind is one of {', '.join(CHANNEL_KINDS)}", "kind")
    if (
        not channel_id
        or c.conn.execute("SELECT 1 FROM community_channels WHERE id = ?", (channel_id,)).fetchone()
    ):
        raise Denied("exists", 409, "that channel id is taken", "channel_id")
    _check_parent(c, p.kind, p.parent_id)

    def change() -> None:
        c.sql(
            "INSERT INTO community_channels (id, community_id, kind, name, topic, parent_id, position, nsfw,"
            " slowmode_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            channel_id, c.cid, p.kind, p.name, p.topic, p.parent_id, p.position, int(p.nsfw),
            p.slowmode_s, c.now,
        )  # fmt: skip
        c.modlog("channel_create", channel_id, name=p.name, kind=p.kind)

    return change


@handles("channel.update")
def channel_update(c: Ctx) -> Change:
    p: ev_types.ChannelUpdate = c.p
    channel_id = c.target or ""
    c.require(Perm.MANAGE_CHANNELS, c.channel_perms(c.actor, channel_id))
    values = fields_of(p, ("name", "topic", "parent_id", "position", "nsfw", "slowmode_s"))
    if "parent_id" in values:
        _check_parent(c, c.state.channels[channel_id].kind, values["parent_id"])
    if "nsfw" in values:
        values["nsfw"] = int(values["nsfw"])

    def change() -> None:
        if values:
            sql, args = update_sql("community_channels", values, "id = ?")
            c.conn.execute(sql, [*args, channel_id])
        c.modlog("channel_update", channel_id, fields=sorted(values))

    return change


@handles("channel.delete")
def channel_delete(c: Ctx) -> Change:
    channel_id = c.target or ""
    c.require(Perm.MANAGE_CHANNELS, c.channel_perms(c.actor, channel_id))

    def change() -> None:
        c.sql("DELETE FROM community_channels WHERE id = ?", channel_id)
        c.sql("DELETE FROM community_overwrites WHERE channel_id = ?", channel_id)
        c.sql("UPDATE community_channels SET parent_id = NULL WHERE parent_id = ?", channel_id)
        c.modlog("channel_delete", channel_id, name=c.state.channels[channel_id].name)

    return change


@handles("channel.reorder")
def channel_reorder(c: Ctx) -> Change:
    p: ev_types.ChannelReorder = c.p
    c.require(Perm.MANAGE_CHANNELS)
    for i, pos in enumerate(p.positions):
        if pos.channel_id not in c.state.channels:
            raise Denied("not_found", 404, f"channel {pos.channel_id} not found", f"positions[{i}]")

    def change() -> None:
        c.conn.executemany(
            "UPDATE community_channels SET position = ? WHERE id = ?",
            [(pos.position, pos.channel_id) for pos in p.positions],
        )
        c.modlog("channel_reorder", c.cid, count=len(p.positions))

    return change


# -- overwrites -----------------------------------------------------------------------------------


def _overwrite_target(c: Ctx, target_type: str, target_id: str) -> int:
    """Checks common to setting and deleting an overwrite; returns the actor's channel perms."""
    have = c.channel_perms(c.actor, c.target or "")
    c.require(Perm.MANAGE_ROLES, have)
    if target_type not in TARGET_TYPES:
        raise Denied("invalid_target_type", 400, "target_type is role or member", "target_type")
    if target_type == "role" and target_id not in c.state.roles:
        raise Denied("not_found", 404, "role not found", "target_id")
    # The same hierarchy as assigning roles: an overwrite can lock a senior out of a channel (or
    # hand a senior's standing to a junior), so only what ranks below the actor may be touched.
    if target_type == "role" and target_id != c.cid:
        c.require_below(c.state.roles[target_id].position, "target_id")
    if target_type == "member" and target_id != c.actor and not c.is_actor_admin(c.actor):
        outranked = c.actor is None or c.rank(c.actor) <= c.rank(target_id)
        if target_id == c.state.owner_id or outranked:
            raise Denied(
                "role_hierarchy", 403, "that member's highest role is at or above yours", "target_id"
            )
    return have


@handles("overwrite.set")
def overwrite_set(c: Ctx) -> Change:
    p: ev_types.OverwriteSet = c.p
    have = _overwrite_target(c, p.target_type, p.target_id)
    c.require_bits(p.allow, "allow", have)
    c.require_bits(p.deny, "deny", have)
    if p.allow & p.deny:
        raise Denied("allow_deny_overlap", 400, "a bit cannot be both allowed and denied", "deny")

    def change() -> None:
        c.sql(
            "INSERT OR REPLACE INTO community_overwrites (channel_id, target_type, target_id, community_id,"
            " allow, deny) VALUES (?, ?, ?, ?, ?, ?)",
            c.target, p.target_type, p.target_id, c.cid, p.allow, p.deny,
        )  # fmt: skip
        c.modlog(
            "overwrite_set", c.target, target_type=p.target_type, target_id=p.target_id,
            allow=p.allow, deny=p.deny,
        )  # fmt: skip

    return change


@handles("overwrite.delete")
def overwrite_delete(c: Ctx) -> Change:
    p: ev_types.OverwriteDelete = c.p
    _overwrite_target(c, p.target_type, p.target_id)
    ch = c.state.channels[c.target or ""]
    if (p.target_type, p.target_id) not in ch.overwrites:
        raise Denied("not_found", 404, "no such overwrite", "target_id")

    def change() -> None:
        c.sql(
            "DELETE FROM community_overwrites WHERE channel_id = ? AND target_type = ? AND target_id = ?",
            c.target, p.target_type, p.target_id,
        )  # fmt: skip
        c.modlog("overwrite_delete", c.target, target_type=p.target_type, target_id=p.target_id)

    return change


# -- automod --------------------------------------------------------------------------------------


@handles("automod.set")
def automod_set(c: Ctx) -> Change:
    p: ev_types.AutomodSet = c.p
    c.require(Perm.MANAGE_COMMUNITY)
    if p.kind not in AUTOMOD_KINDS:
        raise Denied("invalid_kind", 400, f"kind is one of {', '.join(AUTOMOD_KINDS)}", "kind")
    if p.action not in AUTOMOD_ACTIONS:
        raise Denied("invalid_action", 400, f"action is one of {', '.join(AUTOMOD_ACTIONS)}", "action")
    rule_id = c.target or ""
    row = c.conn.execute(
        "SELECT community_id, position FROM community_automod_rules WHERE id = ?", (rule_id,)
    ).fetchone()
    if row is not None and row["community_id"] != c.cid:
        raise Denied("exists", 409, "that rule id is taken", "rule_id")
    position = row["position"] if row is not None else c.hlc

    def change() -> None:
        c.sql(
            "INSERT OR REPLACE INTO community_automod_rules (id, community_id, name, kind, config, action,"
            " timeout_s, enabled, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rule_id, c.cid, p.name, p.kind, msgspec.json.encode(p.config).decode(), p.action,
            p.timeout_s, int(p.enabled), position,
        )  # fmt: skip
        c.modlog("automod_set", rule_id, name=p.name, kind=p.kind, rule_action=p.action)

    return change


@handles("automod.delete")
def automod_delete(c: Ctx) -> Change:
    c.require(Perm.MANAGE_COMMUNITY)
    rule_id = c.target or ""
    if not c.conn.execute(
        "SELECT 1 FROM community_automod_rules WHERE id = ? AND community_id = ?", (rule_id, c.cid)
    ).fetchone():
        raise Denied("not_found", 404, "automod rule not found", "rule_id")

    def change() -> None:
        c.sql("DELETE FROM community_automod_rules WHERE id = ?", rule_id)
        c.modlog("automod_delete", rule_id)

    return change


@handles("automod.action")
def automod_action(c: Ctx) -> Change:
    """Automod's own entries: only valid for an enabled rule with that action, authored by the node."""
    p: ev_types.AutomodAction = c.p
    row = c.conn.execute(
        "SELECT action, timeout_s FROM community_automod_rules WHERE id = ? AND community_id = ?"
        " AND enabled = 1",
        (p.rule_id, c.cid),
    ).fetchone()
    if c.actor is not None or row is None or row["action"] != p.action:
        raise Denied("invalid_event", 400, "automod acts only through an enabled rule")
    target = c.target or ""
    timeout = None
    if p.action == "timeout":
        timeout = p.until
        if timeout is None or not c.now < timeout <= c.now + row["timeout_s"] * 1000 + 60_000:
            raise Denied("out_of_range", 400, "timeout outside the rule's length", "until")
        if not c.member(target).member or c.perms(target) & Perm.ADMINISTRATOR:
            timeout = None  # not a member (or an admin): logged, nothing to time out

    def change() -> None:
        if timeout is not None:
            c.sql(
                "UPDATE community_members SET timeout_until = ? WHERE community_id = ? AND user_id = ?",
                timeout, c.cid, target,
            )  # fmt: skip
        c.modlog(f"automod_{p.action}", target, p.reason, rule_id=p.rule_id, until=timeout)

    return change
