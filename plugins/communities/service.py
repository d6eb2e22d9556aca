"""The community rules as library calls (routes and the CLI both use these): communities, members,
roles, channels and invites. Writes check authority and append the event in one transaction.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from cryb_node.clock import new_id
from cryb_node.events import Event, Tx
from cryb_node.node import Node
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import MEDIA_STORE, InviteStatus, Perm
from cryb_node.sync.homes import remote_homes

from . import events as ev
from . import schemas as s
from .access import PermissionService
from .authority import Denied
from .governance import check
from .perms import ALL, MODERATOR, CommunityState


def screens(state: CommunityState | None) -> bool:
    sc = state.screening if state is not None else None
    return sc is not None and (sc.require_rules or sc.verification != "none")


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (``admin``: a node admin, who may moderate any community), or the node
    itself (user_id None, admin True: the CLI run by the operator)."""

    user_id: str | None
    admin: bool = False

    @property
    def label(self) -> str:
        return self.user_id or "node"


NODE = Actor(None, admin=True)


@dataclass
class Step:
    """One event to check and append inside a write transaction."""

    kind: str
    community_id: str
    target: str | None
    payload: ev.Gov
    actor: Actor | None = None  # default: the write's actor
    extra: list[Callable[[Tx], None]] = field(default_factory=list)


def banned() -> Problem:
    return Problem("banned", 403, "you are banned from this community")


def as_problem(d: Denied) -> Problem:
    return Problem(d.code, d.status, d.detail, field=d.field)


class Communities:
    def __init__(self, node: Node, perms: PermissionService) -> None:
        self.node = node
        self.perms = perms

    # -- writing ----------------------------------------------------------------------------------

    async def write(
        self, actor: Actor, *steps: Step, before: Callable[[Tx], Any] | None = None
    ) -> list[Event]:
        """Check each step against the state left by the previous ones, append it; all or nothing."""

        def fn(tx: Tx) -> list[Event]:
            if before is not None:
                before(tx)
            out = []
            for st in steps:
                who = st.actor or actor
                if who.admin:
                    st.payload.as_admin = True
                try:
                    check(
                        tx.conn,
                        st.kind,
                        st.community_id,
                        who.user_id,
                        st.target,
                        st.payload,
                        self.node.clock.time_ms(),
                    )
                except Denied as d:
                    raise as_problem(d) from None
                out.append(
                    tx.append(
                        st.kind, st.payload, community=st.community_id, author=who.user_id, target=st.target
                    )
                )
                for extra in st.extra:
                    extra(tx)
            return out

        return await self.node.events.transaction(fn)

    async def my_perms(self, actor: Actor, community_id: str) -> int:
        if actor.admin:
            return ALL
        return await self.perms.community(actor.user_id, community_id)

    async def require(self, actor: Actor, community_id: str, perm: int, what: str) -> int:
        """The caller's community permissions, or 404 (cannot see it) / 403 (lacks ``perm``)."""
        await self.community_row(community_id, actor)
        have = await self.my_perms(actor, community_id)
        if not have & perm and not have & Perm.ADMINISTRATOR:
            raise forbidden(f"{what} needs {' or '.join(p.name or '' for p in Perm if p & perm)}")
        return have

    # -- communities ------------------------------------------------------------------------------

    async def community_row(self, community_id: str, actor: Actor) -> Any:
        row = await self.node.db.fetchone(
            "SELECT id, name, description, icon, public, rules, modlog_public, owner_id, created_at,"
            " (SELECT count(*) FROM community_members m WHERE m.community_id = c.id)"
            " FROM communities c WHERE id = ? AND deleted = 0",
            (community_id,),
        )
        if row is None:
            raise not_found("community")
        if not actor.admin:
            m = await self.perms.member(community_id, actor.user_id)
            if m.banned:
                raise banned()
            if not row[4] and not m.member:
                raise not_found("community")  # a private community is invisible to outsiders
        return row

    async def _out(self, row: Any, actor: Actor) -> s.CommunityOut:
        m = await self.perms.member(row[0], actor.user_id)
        return s.CommunityOut(
            id=row[0],
            name=row[1],
            description=row[2],
            icon=row[3],
            public=bool(row[4]),
            rules=json.loads(row[5]),
            modlog_public=bool(row[6]),
            owner_id=row[7],
            created_at=row[8],
            member_count=row[9],
            member=m.member,
            perms=await self.my_perms(actor, row[0]),
            timeout_until=m.timeout_until if m.timed_out(self.node.clock.time_ms()) else None,
            screening=screens(await self.perms.state(row[0])),
        )

    async def get(self, actor: Actor, community_id: str) -> s.CommunityOut:
        return await self._out(await self.community_row(community_id, actor), actor)

    async def list(self, actor: Actor, q: s.CommunityQuery) -> s.CommunityList:
        cols = (
            "SELECT c.id, c.name, c.description, c.icon, c.public, c.rules, c.modlog_public, c.owner_id,"
            " c.created_at, (SELECT count(*) FROM community_members m WHERE m.community_id = c.id)"
            " FROM communities c"
        )
        after = q.after or ""
        if q.mine:
            if actor.user_id is None:
                return s.CommunityList([])
            rows = await self.node.db.fetchall(
                f"{cols} JOIN community_members me ON me.community_id = c.id AND me.user_id = ?"
                " WHERE c.deleted = 0 AND c.id > ? ORDER BY c.id LIMIT ?",
                (actor.user_id, after, q.limit + 1),
            )
        elif actor.admin:
            rows = await self.node.db.fetchall(
                f"{cols} WHERE c.deleted = 0 AND c.id > ? ORDER BY c.id LIMIT ?", (after, q.limit + 1)
            )
        else:
            rows = await self.node.db.fetchall(
                f"{cols} WHERE c.deleted = 0 AND c.public = 1 AND c.id > ? ORDER BY c.id LIMIT ?",
                (after, q.limit + 1),
            )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        return s.CommunityList([await self._out(r, actor) for r in rows], rows[-1][0] if more else None)

    async def create(self, actor: Actor, body: s.CommunityIn) -> s.CommunityOut:
        if actor.user_id is None:
            raise Problem("owner_required", 400, "a community is created by a user (its owner)")
        if body.icon is not None:
            await self.attach_icon(actor, body.icon)
        cid = new_id()
        payload = ev.CommunityCreate(**msgspec.structs.asdict(body))
        general = ev.ChannelCreate(kind="text", name="general")
        await self.write(
            actor,
            Step("community.create", cid, cid, payload, actor=Actor(actor.user_id)),
            Step("channel.create", cid, new_id(), general, actor=Actor(actor.user_id)),
        )
        return await self.get(actor, cid)

    async def update(self, actor: Actor, community_id: str, body: s.CommunityPatch) -> s.CommunityOut:
        await self.community_row(community_id, actor)
        if isinstance(body.icon, str):
            # Checked before the upload is touched: only those who may change settings attach it.
            await self.require(actor, community_id, Perm.MANAGE_COMMUNITY, "changing the icon")
            await self.attach_icon(actor, body.icon)
        payload = ev.CommunityUpdate(**msgspec.structs.asdict(body))
        await self.write(actor, Step("community.update", community_id, community_id, payload))
        return await self.get(actor, community_id)

    async def attach_icon(self, actor: Actor, media_id: str) -> None:
        """An icon is an image its setter uploaded, attached publicly: everyone who sees the community
        sees it, and the cleanup job keeps it."""
        store = self.node.services.get(MEDIA_STORE)
        ref = None
        if store is not None and actor.user_id is not None:
            ref = await store.attach(media_id, actor.user_id, None)
        if ref is None or ref.kind != "image":
            raise Problem("invalid_field", 400, "icon must be an image you uploaded", field="icon")

    async def delete(self, actor: Actor, community_id: str) -> None:
        await self.community_row(community_id, actor)
        await self.write(actor, Step("community.delete", community_id, community_id, ev.Empty()))

    async def transfer(self, actor: Actor, community_id: str, user_id: str) -> s.CommunityOut:
        await self.community_row(community_id, actor)
        await self.write(actor, Step("community.transfer", community_id, user_id, ev.Empty()))
        return await self.get(actor, community_id)

    # -- membership -------------------------------------------------------------------------------

    async def join(self, actor: Actor, community_id: str, invite: str | None = None) -> s.CommunityOut:
        if actor.user_id is None:
            raise Problem("user_required", 400, "only users join communities")
        row = await self.node.db.fetchone(
            "SELECT public FROM communities WHERE id = ? AND deleted = 0", (community_id,)
        )
        if row is None:
            raise not_found("community")
        payload = ev.MemberJoin()
        use: Callable[[Tx], None] | None = None
        if invite is not None or not row[0]:
            if invite is None:
                # Outsiders cannot tell a private community from a missing one.
                raise not_found("community")
            payload.invited_by, use = await self._invite_use(invite, community_id)
            payload.invite = invite
        step = Step("member.join", community_id, actor.user_id, payload, actor=Actor(actor.user_id))
        await self.write(actor, step, before=use)
        return await self.get(actor, community_id)

    async def leave(self, actor: Actor, community_id: str) -> None:
        if actor.user_id is None:
            raise Problem("user_required", 400, "only users leave communities")
        await self.community_row(community_id, actor)
        step = Step("member.leave", community_id, actor.user_id, ev.Empty(), actor=Actor(actor.user_id))
        await self.write(actor, step)

    async def members(self, actor: Actor, community_id: str, q: s.MemberQuery) -> s.MemberList:
        await self.require_member_view(actor, community_id)
        rows = await self.node.db.fetchall(
            "SELECT m.user_id, m.joined_at, m.timeout_until,"
            " (SELECT group_concat(role_id) FROM community_member_roles r"
            "  WHERE r.community_id = m.community_id AND r.user_id = m.user_id)"
            " FROM community_members m WHERE m.community_id = ? AND m.user_id > ?"
            " ORDER BY m.user_id LIMIT ?",
            (community_id, q.after or "", q.limit + 1),
        )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        now = self.node.clock.time_ms()
        homes = await remote_homes(self.node, [r[0] for r in rows])
        out = [
            s.MemberOut(
                user_id=r[0],
                joined_at=r[1],
                roles=sorted(r[3].split(",")) if r[3] else [],
                timeout_until=r[2] if r[2] and r[2] > now else None,
                home=homes[r[0]].node if r[0] in homes else None,
                home_key=homes[r[0]].node_key if r[0] in homes else None,
                status=self.node.realtime.presence_of(r[0]),
            )
            for r in rows
        ]
        return s.MemberList(out, rows[-1][0] if more else None)

    async def member(self, actor: Actor, community_id: str, user_id: str) -> s.MemberOut:
        await self.require_member_view(actor, community_id)
        if user_id == "@me":
            user_id = actor.user_id or ""
        rows = await self.node.db.fetchall(
            "SELECT m.joined_at, m.timeout_until FROM community_members m"
            " WHERE m.community_id = ? AND m.user_id = ?",
            (community_id, user_id),
        )
        if not rows:
            raise not_found("member")
        ms = await self.perms.member(community_id, user_id)
        until = rows[0][1]
        home = (await remote_homes(self.node, [user_id])).get(user_id)
        return s.MemberOut(
            user_id=user_id,
            joined_at=rows[0][0],
            roles=sorted(ms.role_ids),
            timeout_until=until if until and until > self.node.clock.time_ms() else None,
            home=home.node if home else None,
            home_key=home.node_key if home else None,
            status=self.node.realtime.presence_of(user_id),
        )

    async def require_member_view(self, actor: Actor, community_id: str) -> None:
        """Member lists are for members (and node admins)."""
        await self.community_row(community_id, actor)
        if actor.admin:
            return
        m = await self.perms.member(community_id, actor.user_id)
        if not m.member:
            raise forbidden("only members see the member list")

    # -- roles ------------------------------------------------------------------------------------

    async def roles(self, actor: Actor, community_id: str) -> s.RoleList:
        await self.community_row(community_id, actor)
        rows = await self.node.db.fetchall(
            "SELECT id, name, perms, position, color, hoist, mentionable FROM community_roles"
            " WHERE community_id = ? ORDER BY position DESC, id",
            (community_id,),
        )
        return s.RoleList([_role(r) for r in rows])

    async def create_role(self, actor: Actor, community_id: str, body: s.RoleIn) -> s.RoleOut:
        await self.community_row(community_id, actor)
        role_id = new_id()
        await self.write(
            actor, Step("role.create", community_id, role_id, ev.RoleCreate(**msgspec.structs.asdict(body)))
        )
        return await self.role(community_id, role_id)

    async def update_role(
        self, actor: Actor, community_id: str, role_id: str, body: s.RolePatch
    ) -> s.RoleOut:
        await self.community_row(community_id, actor)
        payload = ev.RoleUpdate(**msgspec.structs.asdict(body))
        await self.write(actor, Step("role.update", community_id, role_id, payload))
        return await self.role(community_id, role_id)

    async def delete_role(self, actor: Actor, community_id: str, role_id: str) -> None:
        await self.community_row(community_id, actor)
        await self.write(actor, Step("role.delete", community_id, role_id, ev.Empty()))

    async def assign(self, actor: Actor, community_id: str, user_id: str, role_id: str, on: bool) -> None:
        await self.community_row(community_id, actor)
        kind = "role.assign" if on else "role.unassign"
        await self.write(actor, Step(kind, community_id, user_id, ev.RoleMember(role_id=role_id)))

    async def role(self, community_id: str, role_id: str) -> s.RoleOut:
        row = await self.node.db.fetchone(
            "SELECT id, name, perms, position, color, hoist, mentionable FROM community_roles"
            " WHERE id = ? AND community_id = ?",
            (role_id, community_id),
        )
        if row is None:
            raise not_found("role")
        return _role(row)

    # -- channels ---------------------------------------------------------------------------------

    async def channels(self, actor: Actor, community_id: str) -> s.ChannelList:
        await self.community_row(community_id, actor)
        state = await self.perms.state(community_id)
        assert state is not None
        out = []
        for ch in sorted(state.channels.values(), key=lambda c: (c.position, c.id)):
            chan = await self.channel_out(actor, ch.id, quiet=True)
            if chan is not None:
                out.append(chan)
        return s.ChannelList(out)

    async def channel_perms(self, actor: Actor, channel_id: str) -> tuple[str, int]:
        access = await self.perms.channel(actor.user_id, channel_id)
        if access is None:
            raise not_found("channel")
        if actor.admin:
            return access.community_id, ALL
        if not access.perms and (await self.perms.member(access.community_id, actor.user_id)).banned:
            raise banned()
        return access.community_id, access.perms

    async def channel_out(self, actor: Actor, channel_id: str, quiet: bool = False) -> s.ChannelOut | None:
        cid, perms = await self.channel_perms(actor, channel_id)
        if not perms & Perm.VIEW_CHANNEL:
            if quiet:
                return None
            raise not_found("channel")
        state = await self.perms.state(cid)
        ch = state.channels[channel_id] if state else None
        if ch is None:
            raise not_found("channel")
        overwrites = []
        if perms & (Perm.MANAGE_ROLES | Perm.MANAGE_CHANNELS):
            overwrites = [
                s.OverwriteOut(t, i, o.allow, o.deny) for (t, i), o in sorted(ch.overwrites.items())
            ]
        return s.ChannelOut(
            id=ch.id,
            community_id=cid,
            kind=ch.kind,
            name=ch.name,
            topic=ch.topic,
            parent_id=ch.parent_id,
            position=ch.position,
            nsfw=ch.nsfw,
            slowmode_s=ch.slowmode_s,
            perms=perms,
            overwrites=overwrites,
        )

    async def create_channel(self, actor: Actor, community_id: str, body: s.ChannelIn) -> s.ChannelOut:
        await self.community_row(community_id, actor)
        channel_id = new_id()
        payload = ev.ChannelCreate(**msgspec.structs.asdict(body))
        await self.write(actor, Step("channel.create", community_id, channel_id, payload))
        out = await self.channel_out(actor, channel_id)
        assert out is not None
        return out

    async def _channel_community(self, actor: Actor, channel_id: str) -> str:
        cid, perms = await self.channel_perms(actor, channel_id)
        if not perms & Perm.VIEW_CHANNEL:
            raise not_found("channel")
        return cid

    async def update_channel(self, actor: Actor, channel_id: str, body: s.ChannelPatch) -> s.ChannelOut:
        cid = await self._channel_community(actor, channel_id)
        payload = ev.ChannelUpdate(**msgspec.structs.asdict(body))
        await self.write(actor, Step("channel.update", cid, channel_id, payload))
        out = await self.channel_out(actor, channel_id)
        assert out is not None
        return out

    async def delete_channel(self, actor: Actor, channel_id: str) -> None:
        cid = await self._channel_community(actor, channel_id)
        await self.write(actor, Step("channel.delete", cid, channel_id, ev.Empty()))

    async def reorder(self, actor: Actor, community_id: str, body: s.ReorderIn) -> s.ChannelList:
        await self.community_row(community_id, actor)
        positions = [ev.Position(p.channel_id, p.position) for p in body.positions]
        await self.write(
            actor, Step("channel.reorder", community_id, community_id, ev.ChannelReorder(positions=positions))
        )
        return await self.channels(actor, community_id)

    async def set_overwrite(
        self, actor: Actor, channel_id: str, target_type: str, target_id: str, body: s.OverwriteIn | None
    ) -> None:
        cid = await self._channel_community(actor, channel_id)
        if body is None:
            payload: ev.Gov = ev.OverwriteDelete(target_type=target_type, target_id=target_id)
            await self.write(actor, Step("overwrite.delete", cid, channel_id, payload))
        else:
            payload = ev.OverwriteSet(
                target_type=target_type, target_id=target_id, allow=body.allow, deny=body.deny
            )
            await self.write(actor, Step("overwrite.set", cid, channel_id, payload))

    async def effective(self, actor: Actor, channel_id: str, user_id: str | None) -> s.EffectiveOut:
        """A user's permissions in a channel: one's own, or anyone's for those who manage roles there."""
        _, mine = await self.channel_perms(actor, channel_id)
        if not mine & Perm.VIEW_CHANNEL:
            raise not_found("channel")
        who = user_id or actor.user_id
        if who != actor.user_id and not mine & (Perm.MANAGE_ROLES | Perm.ADMINISTRATOR):
            raise forbidden("looking up others' permissions needs MANAGE_ROLES here")
        access = await self.perms.channel(who, channel_id)
        assert access is not None
        return s.EffectiveOut(
            user_id=who,
            channel_id=channel_id,
            perms=access.perms,
            names=[p.name or "" for p in Perm if access.perms & p],
            member=access.member,
            timed_out_until=access.timed_out_until,
        )

    # -- invites (node-local) ---------------------------------------------------------------------

    async def create_invite(self, actor: Actor, community_id: str, body: s.InviteIn) -> s.InviteOut:
        await self.require(actor, community_id, Perm.CREATE_INVITES, "creating invites")
        if actor.user_id is None:
            raise Problem("user_required", 400, "invites are made by users (a join names its inviter)")
        code = secrets.token_urlsafe(8)
        grant = ev.invite_id(code)
        now = self.node.clock.time_ms()
        expires = now + body.max_age_s * 1000 if body.max_age_s else None
        max_uses = body.max_uses or None

        def remember(tx: Tx) -> None:
            # The code stays on this node; the event that every node checks joins against names its hash.
            tx.conn.execute(
                "INSERT INTO community_invites (code, community_id, creator_id, created_at, expires_at,"
                " max_uses, grant_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (code, community_id, actor.user_id, now, expires, max_uses, grant),
            )

        payload = ev.InviteCreate(expires_at=expires, max_uses=max_uses)
        await self.write(actor, Step("invite.create", community_id, grant, payload, extra=[remember]))
        return await self.invite(code)

    async def invite(self, code: str) -> s.InviteOut:
        row = await self.node.db.fetchone(f"{_INVITE_SQL} WHERE i.code = ? AND c.deleted = 0", (code,))
        if row is None:
            # An invite made on another node: its grant is known here by the code's hash.
            row = await self.node.db.fetchone(
                f"{_GRANT_SQL} WHERE g.id = ? AND c.deleted = 0", (code, ev.invite_id(code))
            )
        if row is None:
            raise Problem("invite_not_found", 404, "no such invite", field="code")
        return _invite(row)

    async def invites(self, actor: Actor, community_id: str) -> s.InviteList:
        await self.require(actor, community_id, Perm.MANAGE_COMMUNITY, "listing invites")
        rows = await self.node.db.fetchall(
            f"{_INVITE_SQL} WHERE i.community_id = ? ORDER BY i.created_at DESC", (community_id,)
        )
        return s.InviteList([_invite(r) for r in rows])

    async def revoke_invite(self, actor: Actor, code: str) -> None:
        inv = await self.invite(code)
        if inv.creator_id != actor.user_id:
            await self.require(actor, inv.community_id, Perm.MANAGE_COMMUNITY, "revoking others' invites")
        if inv.revoked:
            return

        def remember(tx: Tx) -> None:
            tx.conn.execute(
                "UPDATE community_invites SET revoked_at = ? WHERE code = ? AND revoked_at IS NULL",
                (self.node.clock.time_ms(), code),
            )

        step = Step("invite.revoke", inv.community_id, ev.invite_id(code), ev.Empty(), extra=[remember])
        await self.write(actor, step)

    async def _invite_use(self, code: str, community_id: str | None) -> tuple[str, Callable[[Tx], None]]:
        """The invite's creator and a step counting the use on this node; whether the invite is still
        good is the join rule's to say (it checks the grant at the join's place: rules_members.py)."""
        inv = await self.invite(code)
        if community_id is not None and inv.community_id != community_id:
            raise Problem("invite_not_found", 404, "that invite is for another community", field="invite")
        _usable(inv.revoked, inv.expires_at, inv.max_uses, inv.uses, self.node.clock.time_ms())

        def use(tx: Tx) -> None:
            tx.conn.execute("UPDATE community_invites SET uses = uses + 1 WHERE code = ?", (code,))

        return inv.creator_id, use

    async def accept_invite(self, actor: Actor, code: str) -> s.CommunityOut:
        inv = await self.invite(code)
        return await self.join(actor, inv.community_id, code)

    async def invite_status(self, code: str) -> InviteStatus | None:
        """The Invites service (cryb_node.services): an invite made on this node, checked like a
        join checks it, without using it."""
        row = await self.node.db.fetchone(f"{_INVITE_SQL} WHERE i.code = ? AND c.deleted = 0", (code,))
        if row is None:
            return None
        inv = _invite(row)
        try:
            _usable(inv.revoked, inv.expires_at, inv.max_uses, inv.uses, self.node.clock.time_ms())
        except Problem as problem:
            return InviteStatus(
                community_id=inv.community_id, community_name=inv.community_name, usable=False,
                reason=problem.code.removeprefix("invite_"),
            )  # fmt: skip
        return InviteStatus(community_id=inv.community_id, community_name=inv.community_name, usable=True)


_INVITE_SQL = (
    "SELECT i.code, i.community_id, c.name, i.creator_id, i.created_at, i.expires_at, i.max_uses,"
    " coalesce(g.uses, i.uses), CASE WHEN i.revoked_at IS NOT NULL OR g.revoked THEN 1 END"
    " FROM community_invites i JOIN communities c ON c.id = i.community_id"
    " LEFT JOIN community_invite_grants g ON g.id = i.grant_id"
)
_GRANT_SQL = (
    "SELECT ?, g.community_id, c.name, g.creator_id, g.created_at, g.expires_at, g.max_uses, g.uses,"
    " nullif(g.revoked, 0) FROM community_invite_grants g JOIN communities c ON c.id = g.community_id"
)


def _usable(revoked: bool, expires_at: int | None, max_uses: int | None, uses: int, now: int) -> None:
    if revoked:
        raise Problem("invite_revoked", 410, "this invite was revoked", field="invite")
    if expires_at is not None and expires_at <= now:
        raise Problem("invite_expired", 410, "this invite has expired", field="invite")
    if max_uses is not None and uses >= max_uses:
        raise Problem("invite_used_up", 410, "this invite has no uses left", field="invite")


def _invite(r: Any) -> s.InviteOut:
    return s.InviteOut(
        code=r[0],
        community_id=r[1],
        community_name=r[2],
        creator_id=r[3],
        created_at=r[4],
        expires_at=r[5],
        max_uses=r[6],
        uses=r[7],
        revoked=r[8] is not None,
    )


def _role(r: Any) -> s.RoleOut:
    return s.RoleOut(
        id=r[0], name=r[1], perms=r[2], position=r[3], color=r[4], hoist=bool(r[5]), mentionable=bool(r[6])
    )


def is_moderator(perms: int) -> bool:
    return bool(perms & (MODERATOR | Perm.ADMINISTRATOR))
