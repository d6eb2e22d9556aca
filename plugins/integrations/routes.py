"""HTTP routes: incoming webhooks (management and the secret posting URL), outgoing event webhooks
(subscriptions and their deliveries), link-preview embeds and the community's integration settings."""

from __future__ import annotations

from aiohttp import web

from cryb_node.http.api import Api, Call, json_response
from cryb_node.node import Node
from cryb_node.problems import forbidden, not_found
from cryb_node.services import PERMISSIONS, Perm

from . import schemas as s


def routes(api: Api, node: Node) -> None:
    from . import parts

    # -- incoming webhooks ------------------------------------------------------------------------

    @api.route("POST", "/api/v1/channels/{channel_id}/webhooks", body=s.WebhookIn, response=s.WebhookOut,
               status=201, auth="required", bucket="write")  # fmt: skip
    async def create_webhook(call: Call) -> s.WebhookOut:
        """Make an incoming webhook in a channel (MANAGE_WEBHOOKS); its token and URL are shown once."""
        return await parts(node).incoming.create(call.user_id, call.path("channel_id"), call.body)

    @api.route("GET", "/api/v1/channels/{channel_id}/webhooks", response=s.WebhookList, auth="required")
    async def channel_webhooks(call: Call) -> s.WebhookList:
        """A channel's incoming webhooks (MANAGE_WEBHOOKS); tokens are never listed."""
        return await parts(node).incoming.list_channel(call.user_id, call.path("channel_id"))

    @api.route("GET", "/api/v1/communities/{community_id}/webhooks", response=s.WebhookList, auth="required")
    async def community_webhooks(call: Call) -> s.WebhookList:
        """The community's incoming webhooks in the channels where you hold MANAGE_WEBHOOKS."""
        return await parts(node).incoming.list_community(call.user_id, call.path("community_id"))

    @api.route("PATCH", "/api/v1/webhooks/{webhook_id}", body=s.WebhookPatch, response=s.WebhookOut,
               auth="required", bucket="write")  # fmt: skip
    async def rename_webhook(call: Call) -> s.WebhookOut:
        """Rename a webhook or change its avatar (MANAGE_WEBHOOKS in its channel)."""
        return await parts(node).incoming.patch(call.user_id, call.path("webhook_id"), call.body)

    @api.route("POST", "/api/v1/webhooks/{webhook_id}/token", response=s.WebhookOut, auth="required",
               bucket="write")  # fmt: skip
    async def rotate_webhook_token(call: Call) -> s.WebhookOut:
        """A new secret URL for a webhook; the old one is refused from now on."""
        return await parts(node).incoming.rotate(call.user_id, call.path("webhook_id"))

    @api.route("DELETE", "/api/v1/webhooks/{webhook_id}", auth="required", bucket="write")
    async def delete_webhook(call: Call) -> None:
        """Delete a webhook (its messages stay)."""
        await parts(node).incoming.delete(call.user_id, call.path("webhook_id"))

    @api.route("POST", "/api/webhooks/{webhook_id}/{token}", response=s.WebhookMessage, auth="none")
    async def execute_webhook(call: Call) -> web.StreamResponse:
        """Post a message through a webhook: CRYB ({content, name}), Discord ({content, username,
        embeds}) or Slack ({text, blocks}) bodies. Discord bodies answer 204 unless ?wait=true, Slack
        bodies answer `ok`; rate-limited per webhook (docs/integrations.md)."""
        req = call.request
        msg = await parts(node).incoming.execute(
            call.path("webhook_id"), call.path("token"), await req.read(), req.content_type
        )
        if msg.format == "slack":
            return web.Response(text="ok", content_type="text/plain")
        if msg.format == "discord" and req.query.get("wait", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        return json_response(msg)

    # -- outgoing event webhooks ------------------------------------------------------------------

    def admin(call: Call) -> bool:
        return bool(call.principal and call.principal.admin)

    @api.route("POST", "/api/v1/event-webhooks", body=s.SubscriptionIn, response=s.SubscriptionOut,
               status=201, auth="required", bucket="write")  # fmt: skip
    async def create_event_webhook(call: Call) -> s.SubscriptionOut:
        """Subscribe a URL to event kinds of a community (MANAGE_COMMUNITY) or, without community_id,
        of every community (node admins). The signing secret is shown once."""
        return await parts(node).outgoing.create(call.user_id, admin(call), call.body)

    @api.route("GET", "/api/v1/event-webhooks", query=s.SubscriptionQuery, response=s.SubscriptionList,
               auth="required")  # fmt: skip
    async def event_webhooks(call: Call) -> s.SubscriptionList:
        """A community's event webhooks (or the node-wide ones) with their last delivery status."""
        return await parts(node).outgoing.list(call.user_id, admin(call), call.query.community_id)

    @api.route("DELETE", "/api/v1/event-webhooks/{subscription_id}", auth="required", bucket="write")
    async def delete_event_webhook(call: Call) -> None:
        """Stop an event webhook (its queued deliveries are dropped)."""
        await parts(node).outgoing.delete(call.user_id, admin(call), call.path("subscription_id"))

    @api.route("GET", "/api/v1/event-webhooks/{subscription_id}/deliveries", response=s.DeliveryList,
               auth="required")  # fmt: skip
    async def event_webhook_deliveries(call: Call) -> s.DeliveryList:
        """An event webhook's latest deliveries: attempts, status, next retry."""
        return await parts(node).outgoing.deliveries(call.user_id, admin(call), call.path("subscription_id"))

    # -- link previews ----------------------------------------------------------------------------

    async def reader(call: Call, channel_id: str) -> None:
        perms = node.services.get(PERMISSIONS)
        access = (
            await perms.channel(call.principal.user_id if call.principal else None, channel_id)
            if perms
            else None
        )
        if access is None or not access.has(Perm.VIEW_CHANNEL) or not access.has(Perm.READ_HISTORY):
            raise not_found("channel")

    @api.route("GET", "/api/v1/channels/{channel_id}/embeds", query=s.EmbedQuery, response=s.EmbedMap)
    async def channel_embeds(call: Call) -> s.EmbedMap:
        """Link previews of messages or posts in a channel (?ids=a,b,c; ?wait=true waits for those
        still being fetched)."""
        channel_id = call.path("channel_id")
        await reader(call, channel_id)
        ids = [i for i in call.query.ids.split(",") if i][:100]
        return s.EmbedMap(await parts(node).previews.embeds(channel_id, ids, call.query.wait))

    for method, on in (("PUT", True), ("DELETE", False)):

        def suppress_route(method: str = method, on: bool = on) -> None:
            what = "Hide" if on else "Show again"

            @api.route(method, "/api/v1/channels/{channel_id}/embeds/{target_id}/suppressed", auth="required",
                       bucket="write", summary=f"{what} a message's link previews")  # fmt: skip
            async def suppress(call: Call) -> None:
                channel_id, target_id = call.path("channel_id"), call.path("target_id")
                await reader(call, channel_id)
                previews = parts(node).previews
                author = await previews.link_owner(channel_id, target_id)
                if author is None:
                    raise not_found("message with links")
                if author != call.user_id:
                    perms = node.services.require(PERMISSIONS)
                    access = await perms.channel(call.user_id, channel_id)
                    if access is None or not access.has(Perm.MANAGE_MESSAGES):
                        raise forbidden("only the author or a holder of MANAGE_MESSAGES may do this")
                await previews.suppress(target_id, call.user_id, on)

            suppress.__name__ = suppress.__qualname__ = "suppress_embeds" if on else "show_embeds"

        suppress_route()

    @api.route("GET", "/api/v1/communities/{community_id}/integrations", response=s.IntegrationSettings,
               auth="required")  # fmt: skip
    async def integration_settings(call: Call) -> s.IntegrationSettings:
        """The community's integration settings (members)."""
        cid = call.path("community_id")
        perms = node.services.get(PERMISSIONS)
        if perms is None or not await perms.is_member(call.user_id, cid):
            raise not_found("community")
        return s.IntegrationSettings(link_previews=await parts(node).previews.enabled(cid))

    @api.route("PUT", "/api/v1/communities/{community_id}/integrations", body=s.IntegrationSettings,
               response=s.IntegrationSettings, auth="required", bucket="write")  # fmt: skip
    async def set_integration_settings(call: Call) -> s.IntegrationSettings:
        """Turn the community's link previews on or off (MANAGE_COMMUNITY)."""
        cid = call.path("community_id")
        perms = node.services.get(PERMISSIONS)
        if perms is None or not await perms.is_member(call.user_id, cid):
            raise not_found("community")
        have = await perms.community(call.user_id, cid)
        if not have & (Perm.MANAGE_COMMUNITY | Perm.ADMINISTRATOR):
            raise forbidden("integration settings need MANAGE_COMMUNITY")
        await parts(node).previews.set_enabled(cid, call.body.link_previews)
        return call.body
