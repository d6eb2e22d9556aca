"""HTTP routes under /api/v1: parse and validate (Structs), name the caller, call the service."""

from __future__ import annotations

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem

from . import schemas as s
from .automod import AutomodService
from .forum_tags_routes import forum_tags_routes
from .moderation import Moderation
from .onboarding_routes import onboarding_routes
from .parts import PARTS
from .service import Actor, Communities

C = "/api/v1/communities/{community_id}"
CH = "/api/v1/channels/{channel_id}"


def actor_of(call: Call) -> Actor:
    p = call.principal
    return Actor(p.user_id, p.admin) if p is not None else Actor(None)


def routes(api: Api, node: Node) -> None:
    def svc() -> Communities:
        return node.services.require(PARTS).communities

    def mod() -> Moderation:
        return node.services.require(PARTS).moderation

    def am() -> AutomodService:
        return node.services.require(PARTS).automod

    def cid(call: Call) -> str:
        return call.path("community_id")

    onboarding_routes(api, node)
    forum_tags_routes(api, node)

    # -- communities ------------------------------------------------------------------------------

    @api.route("POST", "/api/v1/communities", body=s.CommunityIn, response=s.CommunityOut, status=201,
               bucket="write", auth="required")  # fmt: skip
    async def create_community(call: Call) -> s.CommunityOut:
        """Create a community (you own it; it starts with #general)."""
        return await svc().create(actor_of(call), call.body)

    @api.route("GET", "/api/v1/communities", query=s.CommunityQuery, response=s.CommunityList)
    async def list_communities(call: Call) -> s.CommunityList:
        """Public communities (or, with mine=true, the caller's), by id, cursor-paginated with after."""
        return await svc().list(actor_of(call), call.query)

    @api.route("GET", C, response=s.CommunityOut)
    async def get_community(call: Call) -> s.CommunityOut:
        """One community (a private one only for its members)."""
        return await svc().get(actor_of(call), cid(call))

    @api.route("PATCH", C, body=s.CommunityPatch, response=s.CommunityOut, bucket="write", auth="required")
    async def update_community(call: Call) -> s.CommunityOut:
        """Change settings (MANAGE_COMMUNITY)."""
        return await svc().update(actor_of(call), cid(call), call.body)

    @api.route("DELETE", C, status=204, bucket="write", auth="required")
    async def delete_community(call: Call) -> None:
        """Delete the community (owner or node admin)."""
        await svc().delete(actor_of(call), cid(call))

    @api.route("POST", f"{C}/transfer", body=s.TransferIn, response=s.CommunityOut, bucket="write",
               auth="required")  # fmt: skip
    async def transfer_community(call: Call) -> s.CommunityOut:
        """Give ownership to another member (owner or node admin)."""
        return await svc().transfer(actor_of(call), cid(call), call.body.user_id)

    # -- members ----------------------------------------------------------------------------------

    @api.route("PUT", f"{C}/members/@me", body=s.JoinIn, response=s.CommunityOut, bucket="write",
               auth="required")  # fmt: skip
    async def join_community(call: Call) -> s.CommunityOut:
        """Join a public community (or a private one with an invite code)."""
        return await svc().join(actor_of(call), cid(call), call.body.invite)

    @api.route("DELETE", f"{C}/members/@me", status=204, bucket="write", auth="required")
    async def leave_community(call: Call) -> None:
        """Leave a community (the owner must transfer it first)."""
        await svc().leave(actor_of(call), cid(call))

    @api.route("GET", f"{C}/members", query=s.MemberQuery, response=s.MemberList, auth="required")
    async def list_members(call: Call) -> s.MemberList:
        """Members by user id; pass the returned next as after for the following page."""
        return await svc().members(actor_of(call), cid(call), call.query)

    @api.route("GET", f"{C}/members/{{user_id}}", response=s.MemberOut, auth="required")
    async def get_member(call: Call) -> s.MemberOut:
        """One member."""
        return await svc().member(actor_of(call), cid(call), call.path("user_id"))

    @api.route("PUT", f"{C}/members/{{user_id}}/roles/{{role_id}}", status=204, bucket="write",
               auth="required")  # fmt: skip
    async def assign_role(call: Call) -> None:
        """Give a member a role below your highest (MANAGE_ROLES)."""
        await svc().assign(actor_of(call), cid(call), call.path("user_id"), call.path("role_id"), True)

    @api.route("DELETE", f"{C}/members/{{user_id}}/roles/{{role_id}}", status=204, bucket="write",
               auth="required")  # fmt: skip
    async def unassign_role(call: Call) -> None:
        """Take a role below your highest from a member (MANAGE_ROLES)."""
        await svc().assign(actor_of(call), cid(call), call.path("user_id"), call.path("role_id"), False)

    # -- moderation -------------------------------------------------------------------------------

    @api.route("POST", f"{C}/members/{{user_id}}/kick", body=s.ReasonIn, status=204, bucket="moderation",
               auth="required")  # fmt: skip
    async def kick_member(call: Call) -> None:
        """Remove a member below you (KICK_MEMBERS); they may rejoin."""
        await mod().kick(actor_of(call), cid(call), call.path("user_id"), call.body.reason)

    @api.route("PUT", f"{C}/members/{{user_id}}/timeout", body=s.TimeoutIn, status=204, bucket="moderation",
               auth="required")  # fmt: skip
    async def timeout_member(call: Call) -> None:
        """Time a member out until a time (MODERATE_MEMBERS): they may only read until then."""
        b: s.TimeoutIn = call.body
        if (b.until is None) == (b.duration_s is None):
            raise Problem("invalid_field", 400, "give exactly one of until and duration_s", field="until")
        until = b.until if b.until is not None else node.clock.time_ms() + (b.duration_s or 0) * 1000
        await mod().timeout(actor_of(call), cid(call), call.path("user_id"), until, b.reason)

    @api.route("DELETE", f"{C}/members/{{user_id}}/timeout", query=s.ReasonQuery, status=204,
               bucket="moderation", auth="required")  # fmt: skip
    async def remove_timeout(call: Call) -> None:
        """Lift a member's timeout (MODERATE_MEMBERS)."""
        await mod().timeout(actor_of(call), cid(call), call.path("user_id"), None, call.query.reason)

    @api.route("GET", f"{C}/bans", response=s.BanList, auth="required")
    async def list_bans(call: Call) -> s.BanList:
        """Banned users (BAN_MEMBERS)."""
        return await mod().bans(actor_of(call), cid(call))

    @api.route("PUT", f"{C}/bans/{{user_id}}", body=s.BanIn, response=s.BanOut, bucket="moderation",
               auth="required")  # fmt: skip
    async def ban_member(call: Call) -> s.BanOut:
        """Ban a user (BAN_MEMBERS), optionally removing their content of the last N seconds."""
        b: s.BanIn = call.body
        return await mod().ban(
            actor_of(call), cid(call), call.path("user_id"), b.reason, b.delete_message_seconds
        )

    @api.route("DELETE", f"{C}/bans/{{user_id}}", query=s.ReasonQuery, status=204, bucket="moderation",
               auth="required")  # fmt: skip
    async def unban_member(call: Call) -> None:
        """Lift a ban (BAN_MEMBERS)."""
        await mod().unban(actor_of(call), cid(call), call.path("user_id"), call.query.reason)

    @api.route("POST", f"{C}/reports", body=s.ReportIn, response=s.ReportOut, status=201, bucket="reports",
               auth="required")  # fmt: skip
    async def create_report(call: Call) -> s.ReportOut:
        """Report a message, post, comment or member to the community's moderators."""
        return await mod().report(actor_of(call), cid(call), call.body)

    @api.route("GET", f"{C}/reports", query=s.ReportQuery, response=s.ReportList, auth="required")
    async def list_reports(call: Call) -> s.ReportList:
        """The reports queue (moderators), oldest first."""
        return await mod().reports(actor_of(call), cid(call), call.query)

    @api.route("PATCH", f"{C}/reports/{{report_id}}", body=s.ReportPatch, response=s.ReportOut,
               bucket="moderation", auth="required")  # fmt: skip
    async def resolve_report(call: Call) -> s.ReportOut:
        """Resolve or dismiss a report, saying what was done (moderators)."""
        return await mod().resolve(actor_of(call), cid(call), call.path("report_id"), call.body)

    @api.route("GET", f"{C}/modlog", query=s.ModlogQuery, response=s.ModlogList)
    async def get_modlog(call: Call) -> s.ModlogList:
        """The mod log, newest first (VIEW_AUDIT_LOG, or anyone who can see the community if public)."""
        return await mod().modlog(actor_of(call), cid(call), call.query)

    # -- roles ------------------------------------------------------------------------------------

    @api.route("GET", f"{C}/roles", response=s.RoleList)
    async def list_roles(call: Call) -> s.RoleList:
        """Roles, highest first (@everyone has the community's id)."""
        return await svc().roles(actor_of(call), cid(call))

    @api.route("POST", f"{C}/roles", body=s.RoleIn, response=s.RoleOut, status=201, bucket="write",
               auth="required")  # fmt: skip
    async def create_role(call: Call) -> s.RoleOut:
        """Create a role below your highest with permissions you hold (MANAGE_ROLES)."""
        return await svc().create_role(actor_of(call), cid(call), call.body)

    @api.route("PATCH", f"{C}/roles/{{role_id}}", body=s.RolePatch, response=s.RoleOut, bucket="write",
               auth="required")  # fmt: skip
    async def update_role(call: Call) -> s.RoleOut:
        """Change a role below your highest (MANAGE_ROLES)."""
        return await svc().update_role(actor_of(call), cid(call), call.path("role_id"), call.body)

    @api.route("DELETE", f"{C}/roles/{{role_id}}", status=204, bucket="write", auth="required")
    async def delete_role(call: Call) -> None:
        """Delete a role below your highest (MANAGE_ROLES)."""
        await svc().delete_role(actor_of(call), cid(call), call.path("role_id"))

    # -- channels ---------------------------------------------------------------------------------

    @api.route("GET", f"{C}/channels", response=s.ChannelList)
    async def list_channels(call: Call) -> s.ChannelList:
        """The channels the caller may view, in order."""
        return await svc().channels(actor_of(call), cid(call))

    @api.route("POST", f"{C}/channels", body=s.ChannelIn, response=s.ChannelOut, status=201, bucket="write",
               auth="required")  # fmt: skip
    async def create_channel(call: Call) -> s.ChannelOut:
        """Create a text, forum or announcement channel or a category (MANAGE_CHANNELS)."""
        return await svc().create_channel(actor_of(call), cid(call), call.body)

    @api.route("PUT", f"{C}/channels/positions", body=s.ReorderIn, response=s.ChannelList, bucket="write",
               auth="required")  # fmt: skip
    async def reorder_channels(call: Call) -> s.ChannelList:
        """Set channel positions (MANAGE_CHANNELS)."""
        return await svc().reorder(actor_of(call), cid(call), call.body)

    @api.route("GET", CH, response=s.ChannelOut)
    async def get_channel(call: Call) -> s.ChannelOut:
        """One channel, with the caller's permissions in it."""
        out = await svc().channel_out(actor_of(call), call.path("channel_id"))
        assert out is not None
        return out

    @api.route("PATCH", CH, body=s.ChannelPatch, response=s.ChannelOut, bucket="write", auth="required")
    async def update_channel(call: Call) -> s.ChannelOut:
        """Change a channel (MANAGE_CHANNELS there)."""
        return await svc().update_channel(actor_of(call), call.path("channel_id"), call.body)

    @api.route("DELETE", CH, status=204, bucket="write", auth="required")
    async def delete_channel(call: Call) -> None:
        """Delete a channel (MANAGE_CHANNELS there)."""
        await svc().delete_channel(actor_of(call), call.path("channel_id"))

    @api.route("PUT", f"{CH}/overwrites/{{target_type}}/{{target_id}}", body=s.OverwriteIn, status=204,
               bucket="write", auth="required")  # fmt: skip
    async def set_overwrite(call: Call) -> None:
        """Allow or deny bits for a role or member in this channel (MANAGE_ROLES there)."""
        await svc().set_overwrite(
            actor_of(call),
            call.path("channel_id"),
            call.path("target_type"),
            call.path("target_id"),
            call.body,
        )

    @api.route("DELETE", f"{CH}/overwrites/{{target_type}}/{{target_id}}", status=204, bucket="write",
               auth="required")  # fmt: skip
    async def delete_overwrite(call: Call) -> None:
        """Remove an overwrite (MANAGE_ROLES there)."""
        await svc().set_overwrite(
            actor_of(call), call.path("channel_id"), call.path("target_type"), call.path("target_id"), None
        )

    @api.route("GET", f"{CH}/permissions", query=s.EffectiveQuery, response=s.EffectiveOut)
    async def effective_permissions(call: Call) -> s.EffectiveOut:
        """Effective permissions here: your own, or a member's (MANAGE_ROLES) for permission editors."""
        return await svc().effective(actor_of(call), call.path("channel_id"), call.query.user_id)

    # -- invites ----------------------------------------------------------------------------------

    @api.route("POST", f"{C}/invites", body=s.InviteIn, response=s.InviteOut, status=201, bucket="write",
               auth="required")  # fmt: skip
    async def create_invite(call: Call) -> s.InviteOut:
        """Make an invite code with an expiry and a use limit (CREATE_INVITES)."""
        return await svc().create_invite(actor_of(call), cid(call), call.body)

    @api.route("GET", f"{C}/invites", response=s.InviteList, auth="required")
    async def list_invites(call: Call) -> s.InviteList:
        """The community's invites (MANAGE_COMMUNITY)."""
        return await svc().invites(actor_of(call), cid(call))

    @api.route("GET", "/api/v1/invites/{code}", response=s.InviteOut, bucket="invites")
    async def get_invite(call: Call) -> s.InviteOut:
        """Preview an invite."""
        return await svc().invite(call.path("code"))

    @api.route("POST", "/api/v1/invites/{code}", response=s.CommunityOut, bucket="invites", auth="required")
    async def accept_invite(call: Call) -> s.CommunityOut:
        """Join the invite's community."""
        return await svc().accept_invite(actor_of(call), call.path("code"))

    @api.route("DELETE", "/api/v1/invites/{code}", status=204, bucket="write", auth="required")
    async def revoke_invite(call: Call) -> None:
        """Revoke an invite (its creator, or MANAGE_COMMUNITY)."""
        await svc().revoke_invite(actor_of(call), call.path("code"))

    # -- automod ----------------------------------------------------------------------------------

    @api.route("GET", f"{C}/automod/rules", response=s.AutomodRuleList, auth="required")
    async def list_automod_rules(call: Call) -> s.AutomodRuleList:
        """Automod rules (MANAGE_COMMUNITY)."""
        return await am().rules(actor_of(call), cid(call))

    @api.route("POST", f"{C}/automod/rules", body=s.AutomodRuleIn, response=s.AutomodRuleOut, status=201,
               bucket="write", auth="required")  # fmt: skip
    async def create_automod_rule(call: Call) -> s.AutomodRuleOut:
        """Add an automod rule (MANAGE_COMMUNITY)."""
        return await am().set_rule(actor_of(call), cid(call), call.body)

    @api.route("PUT", f"{C}/automod/rules/{{rule_id}}", body=s.AutomodRuleIn, response=s.AutomodRuleOut,
               bucket="write", auth="required")  # fmt: skip
    async def replace_automod_rule(call: Call) -> s.AutomodRuleOut:
        """Replace an automod rule (MANAGE_COMMUNITY)."""
        await am().rule(cid(call), call.path("rule_id"))
        return await am().set_rule(actor_of(call), cid(call), call.body, call.path("rule_id"))

    @api.route("DELETE", f"{C}/automod/rules/{{rule_id}}", status=204, bucket="write", auth="required")
    async def delete_automod_rule(call: Call) -> None:
        """Delete an automod rule (MANAGE_COMMUNITY)."""
        await am().delete_rule(actor_of(call), cid(call), call.path("rule_id"))

    @api.route("POST", f"{C}/automod/check", body=s.AutomodCheckIn, response=s.AutomodCheckOut,
               bucket="automod", auth="required")  # fmt: skip
    async def check_automod(call: Call) -> s.AutomodCheckOut:
        """Check text as if posting it: 422 automod_blocked if refused (logged), flagged text is reported.
        With dry_run (MANAGE_COMMUNITY) only the verdict is returned."""
        return await am().test(actor_of(call), cid(call), call.body)
