"""Onboarding over HTTP: a community's welcome screen and rules screening (read by anyone who may see
the community, set with MANAGE_COMMUNITY), a member's acceptance, and self-assignable roles. Each
write is one governance event checked by onboarding.py's rules."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from cryb_node.clock import wall_ms
from cryb_node.db import Row
from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem
from cryb_node.services import DIRECTORY

from . import onboarding_events as ob
from . import queries
from .onboarding import accepted, screen
from .parts import PARTS
from .perms import CommunityState, MemberState
from .schemas import Body, Id
from .service import Actor, Communities, Step
from .state import build_screening

C = "/api/v1/communities/{community_id}"


class WelcomeChannelIn(Body):
    channel_id: Id
    note: Annotated[str, Meta(max_length=ob.MAX_NOTE_CHARS)] = ""


class OnboardingIn(Body):
    rules: Annotated[str, Meta(max_length=ob.MAX_RULES_CHARS, description="Markdown")] = ""
    require_rules: bool = False
    verification: Literal["none", "email", "account_age", "member_age"] = "none"
    min_minutes: Annotated[int, Meta(ge=0, le=ob.MAX_MINUTES)] = 0
    welcome: Annotated[str, Meta(max_length=ob.MAX_WELCOME_CHARS)] = ""
    channels: Annotated[list[WelcomeChannelIn], Meta(max_length=ob.MAX_WELCOME_CHANNELS)] = []
    self_roles: Annotated[list[Id], Meta(max_length=ob.MAX_SELF_ROLES)] = []


class AcceptIn(Body):
    rules_hash: Annotated[str, Meta(max_length=64)]


class WelcomeChannelOut(msgspec.Struct, kw_only=True):
    channel_id: str
    name: str
    note: str


class SelfRoleOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    color: int
    mine: bool


class MyOnboarding(msgspec.Struct, kw_only=True):
    """The caller's standing: may they post yet, and if not why (a problem code and its detail)."""

    member: bool
    accepted: bool
    email_verified: bool
    can_post: bool
    blocked_code: str | None = None
    blocked_detail: str = ""


class OnboardingOut(msgspec.Struct, kw_only=True):
    community_id: str
    configured: bool
    rules: str
    rules_hash: str
    require_rules: bool
    verification: str
    min_minutes: int
    welcome: str
    channels: list[WelcomeChannelOut]
    self_roles: list[SelfRoleOut]
    me: MyOnboarding


# What a community that never set its onboarding shows (queries.onboarding's columns).
_NOT_SET: dict[str, Any] = {
    "rules": "", "rules_hash": ob.rules_hash(""), "require_rules": 0, "verification": "none",
    "min_minutes": 0, "welcome": "", "channels": "[]", "self_roles": "[]",
}  # fmt: skip


class Onboarding:
    """The onboarding rules as library calls (the routes below use these)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def communities(self) -> Communities:
        return self.node.services.require(PARTS).communities

    async def get(self, actor: Actor, community_id: str) -> OnboardingOut:
        svc = self.communities
        crow = await svc.community_row(community_id, actor)
        db = self.node.db
        row = await queries.onboarding(db, community_id)
        saved = row if row is not None else _NOT_SET
        chans, roles = json.loads(saved["channels"]), json.loads(saved["self_roles"])
        names = await queries.channel_names(db, community_id)
        role_rows = await queries.role_badges(db, community_id)
        m = await svc.perms.member(community_id, actor.user_id)
        me = await self._me(actor, crow["owner_id"], m, row, community_id)
        return OnboardingOut(
            community_id=community_id,
            configured=row is not None,
            rules=saved["rules"],
            rules_hash=saved["rules_hash"],
            require_rules=bool(saved["require_rules"]),
            verification=saved["verification"],
            min_minutes=saved["min_minutes"],
            welcome=saved["welcome"],
            channels=[
                WelcomeChannelOut(channel_id=c["channel_id"], name=names[c["channel_id"]], note=c["note"])
                for c in chans
                if c["channel_id"] in names
            ],
            self_roles=[
                SelfRoleOut(
                    id=r, name=role_rows[r]["name"], color=role_rows[r]["color"], mine=r in m.role_ids
                )
                for r in roles
                if r in role_rows
            ],
            me=me,
        )

    async def _me(
        self, actor: Actor, owner: str, m: MemberState, row: Row | None, community_id: str
    ) -> MyOnboarding:
        user = actor.user_id
        if user is None or not m.member:
            return MyOnboarding(member=False, accepted=False, email_verified=False, can_post=False)
        state = CommunityState(id=community_id, owner_id=owner, public=True, roles={}, channels={})
        state.screening = build_screening(row)
        created = await queries.account_created_hlc(self.node.db, user)
        base = await self.communities.perms.community(user, community_id)
        refusal = screen(
            state, "message.create", user, m, base, self.node.clock.time_ms(),
            lambda: wall_ms(created) if created else None,
        )  # fmt: skip
        return MyOnboarding(
            member=True,
            accepted=accepted(m),
            email_verified=accepted(m) and m.email_verified,
            can_post=refusal is None,
            blocked_code=None if refusal is None else refusal.code,
            blocked_detail="" if refusal is None else refusal.detail,
        )

    async def set(self, actor: Actor, community_id: str, body: OnboardingIn) -> OnboardingOut:
        svc = self.communities
        await svc.community_row(community_id, actor)
        payload = ob.OnboardingSet(
            rules=body.rules,
            require_rules=body.require_rules,
            verification=body.verification,
            min_minutes=body.min_minutes,
            welcome=body.welcome,
            channels=[ob.WelcomeChannel(channel_id=c.channel_id, note=c.note) for c in body.channels],
            self_roles=body.self_roles,
        )
        await svc.write(actor, Step("onboarding.set", community_id, community_id, payload))
        return await self.get(actor, community_id)

    async def accept(self, actor: Actor, community_id: str, rules_hash: str) -> OnboardingOut:
        user = self._user(actor)
        await self.communities.community_row(community_id, actor)
        # Only this node knows whether its user's address is verified; the event carries its word.
        directory = self.node.services.get(DIRECTORY)
        contact = await directory.contact(user) if directory is not None else None
        payload = ob.MemberOnboard(rules_hash=rules_hash, email_verified=bool(contact and contact.email))
        await self.communities.write(
            Actor(user), Step("member.onboard", community_id, user, payload, actor=Actor(user))
        )
        return await self.get(actor, community_id)

    async def self_role(self, actor: Actor, community_id: str, role_id: str, on: bool) -> OnboardingOut:
        user = self._user(actor)
        await self.communities.community_row(community_id, actor)
        kind = "role.self_add" if on else "role.self_remove"
        step = Step(kind, community_id, user, ob.SelfRole(role_id=role_id), actor=Actor(user))
        await self.communities.write(Actor(user), step)
        return await self.get(actor, community_id)

    @staticmethod
    def _user(actor: Actor) -> str:
        if actor.user_id is None:
            raise Problem("user_required", 400, "only users are members")
        return actor.user_id


def onboarding_routes(api: Api, node: Node) -> None:
    ob_svc = Onboarding(node)

    def who(call: Call) -> Actor:
        p = call.principal
        return Actor(p.user_id, p.admin) if p is not None else Actor(None)

    @api.route("GET", f"{C}/onboarding", response=OnboardingOut)
    async def get_onboarding(call: Call) -> OnboardingOut:
        """The welcome screen and rules screening, and whether the caller may post yet."""
        return await ob_svc.get(who(call), call.path("community_id"))

    @api.route("PUT", f"{C}/onboarding", body=OnboardingIn, response=OnboardingOut, bucket="write",
               auth="required")  # fmt: skip
    async def set_onboarding(call: Call) -> OnboardingOut:
        """Set rules, screening, verification level, welcome screen (MANAGE_COMMUNITY; changing the
        self-assignable roles also needs MANAGE_ROLES and roles below yours)."""
        return await ob_svc.set(who(call), call.path("community_id"), call.body)

    @api.route("POST", f"{C}/onboarding/accept", body=AcceptIn, response=OnboardingOut, bucket="write",
               auth="required")  # fmt: skip
    async def accept_rules(call: Call) -> OnboardingOut:
        """Accept the rules (name the rules_hash you read: stale rules are a 409 rules_changed)."""
        return await ob_svc.accept(who(call), call.path("community_id"), call.body.rules_hash)

    @api.route("PUT", f"{C}/members/@me/self-roles/{{role_id}}", response=OnboardingOut, bucket="write",
               auth="required")  # fmt: skip
    async def add_self_role(call: Call) -> OnboardingOut:
        """Take a self-assignable role."""
        return await ob_svc.self_role(who(call), call.path("community_id"), call.path("role_id"), True)

    @api.route("DELETE", f"{C}/members/@me/self-roles/{{role_id}}", response=OnboardingOut, bucket="write",
               auth="required")  # fmt: skip
    async def drop_self_role(call: Call) -> OnboardingOut:
        """Drop a self-assignable role."""
        return await ob_svc.self_role(who(call), call.path("community_id"), call.path("role_id"), False)
