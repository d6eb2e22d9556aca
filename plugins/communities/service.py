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
from cryb_node.db import Row
from cryb_node.events import Event, Tx
from cryb_node.node import Node
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import MEDIA_STORE, InviteStatus, Perm
from cryb_node.sync.homes import remote_homes

from . import events as ev
from . import queries
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

    async def community_row(self, community_id: str, actor: Actor) -> Row:
        """The community's row (queries.community), or 404 for those who may not see it."""
        row = await queries.community(self.node.db, community_id)
        if row is None:
            raise not_found("community")
        if not actor.admin:
            m = await self.perms.member(community_id, actor.user_id)
            if m.banned:
                raise banned()
            if not row["public"] and not m.member:
                raise not_found("community")  # a private community is invisible to outsiders
        return row

    async def _out(self, row: Row, actor: Actor) -> s.CommunityOut:
        cid = row["id"]
        m = await self.perms.member(cid, actor.user_id)
        return s.CommunityOut(
            id=cid,
            name=row["name"],
            description=row["description"],
            icon=row["icon"],
            public=bool(row["public"]),
            rules=json.loads(row["rules"]),
            modlog_public=bool(row["modlog_public"]),
            owner_id=row["owner_id"],
            created_at=row["created_at"],
            member_count=row["member_count"],
            member=m.member,
            perms=await self.my_perms(actor, cid),
            timeout_until=m.timeout_until if m.timed_out(self.node.clock.time_ms()) else None,
            screening=screens(await self.perms.state(cid)),
        )

    async def get(self, actor: Actor, community_id: str) -> s.CommunityOut:
        return await self._out(await self.community_row(community_id, actor), actor)

    async def list(self, actor: Actor, q: s.CommunityQuery) -> s.CommunityList:
        if q.mine and actor.user_id is None:
            return s.CommunityList([])
        rows = await queries.communities_page(
            self.node.db, q.after or "", q.limit + 1,
            member=actor.user_id if q.mine else None, public_only=not actor.admin,
        )  # fmt: skip
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        return s.CommunityList([await self._out(r, actor) for r in rows], rows[-1]["id"] if more else None)

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
        public = await queries.is_public(self.node.db, community_id)
        if public is None:
            raise not_found("community")
        payload = ev.MemberJoin()
        use: Callable[[Tx], None] | None = None
        if invite is not None or not public:
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
        rows = await queries.members_page(self.node.db, community_id, q.after or "", q.limit + 1)
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        now = self.node.clock.time_ms()
        ids = [r["user_id"] for r in rows]
        homes = await remote_homes(self.node, ids)
        out = []
        for user_id, r in zip(ids, rows, strict=True):
            until, home = r["timeout_until"], homes.get(user_id)
            out.append(
                s.MemberOut(
                    user_id=user_id,
                    joined_at=r["joined_at"],
                    roles=sorted(r["roles"].split(",")) if r["roles"] else [],
                    timeout_until=until if until and until > now else None,
                    home=home.node if home else None,
                    home_key=home.node_key if home else None,
                    status=self.node.realtime.presence_of(user_id),
                )
            )
        return s.MemberList(out, ids[-1] if more else None)

    async def member(self, actor: Actor, community_id: str, user_id: str) -> s.MemberOut:
        await self.require_member_view(actor, community_id)
        if user_id == "@me":
            user_id = actor.user_id or ""
        row = await queries.membership(self.node.db, community_id, user_id)
        if row is None:
            raise not_found("member")
        ms = await self.perms.member(community_id, user_id)
        until = row["timeout_until"]
        home = (await remote_homes(self.node, [user_id])).get(user_id)
        return s.MemberOut(
            user_id=user_id,
            joined_at=row["joined_at"],
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
        return s.RoleList(await queries.roles(self.node.db, community_id))

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
        role = await queries.role(self.node.db, community_id, role_id)
        if role is None:
            raise not_found("role")
        return role

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

        creator = actor.user_id

        def remember(tx: Tx) -> None:
            # The code stays on this node; the event that every node checks joins against names its hash.
            queries.insert_invite(tx.conn, code, community_id, creator, now, expires, max_uses, grant)

        payload = ev.InviteCreate(expires_at=expires, max_uses=max_uses)
        await self.write(actor, Step("invite.create", community_id, grant, payload, extra=[remember]))
        return await self.invite(code)

    async def invite(self, code: str) -> s.InviteOut:
        # One made on another node is known here by its grant, named by the code's hash.
        inv = await queries.invite(self.node.db, code, ev.invite_id(code))
        if inv is None:
            raise Problem("invite_not_found", 404, "no such invite", field="code")
        return inv

    async def invites(self, actor: Actor, community_id: str) -> s.InviteList:
        await self.require(actor, community_id, Perm.MANAGE_COMMUNITY, "listing invites")
        return s.InviteList(await queries.invites(self.node.db, community_id))

    async def revoke_invite(self, actor: Actor, code: str) -> None:
        inv = await self.invite(code)
        if inv.creator_id != actor.user_id:
            await self.require(actor, inv.community_id, Perm.MANAGE_COMMUNITY, "revoking others' invites")
        if inv.revoked:
            return

        def remember(tx: Tx) -> None:
            queries.revoke_invite(tx.conn, code, self.node.clock.time_ms())

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
            queries.use_invite(tx.conn, code)

        return inv.creator_id, use

    async def accept_invite(self, actor: Actor, code: str) -> s.CommunityOut:
        inv = await self.invite(code)
        return await self.join(actor, inv.community_id, code)

    async def invite_status(self, code: str) -> InviteStatus | None:
        """The Invites service (cryb_node.services): an invite made on this node, checked like a
        join checks it, without using it."""
        inv = await queries.local_invite(self.node.db, code)
        if inv is None:
            return None
        try:
            _usable(inv.revoked, inv.expires_at, inv.max_uses, inv.uses, self.node.clock.time_ms())
        except Problem as problem:
            return InviteStatus(
                community_id=inv.community_id, community_name=inv.community_name, usable=False,
                reason=problem.code.removeprefix("invite_"),
            )  # fmt: skip
        return InviteStatus(community_id=inv.community_id, community_name=inv.community_name, usable=True)


def _usable(revoked: bool, expires_at: int | None, max_uses: int | None, uses: int, now: int) -> None:
    if revoked:
        raise Problem("invite_revoked", 410, "this invite was revoked", field="invite")
    if expires_at is not None and expires_at <= now:
        raise Problem("invite_expired", 410, "this invite has expired", field="invite")
    if max_uses is not None and uses >= max_uses:
        raise Problem("invite_used_up", 410, "this invite has no uses left", field="invite")


def is_moderator(perms: int) -> bool:
    return bool(perms & (MODERATOR | Perm.ADMINISTRATOR))
