"""HTTP routes: the inbox, preferences (user, community, channel), Web Push subscriptions and the
one-click unsubscribe link."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from cryb_node.clock import new_id
from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem, not_found

from . import queries
from . import schemas as s
from .parts import PARTS, Parts
from .webpush import parse_p256, unb64url


def routes(api: Api, node: Node) -> None:
    def parts() -> Parts:
        return node.services.require(PARTS)

    P = "/api/v1/notifications"

    @api.route("GET", P, query=s.InboxQuery, response=s.NotificationList, auth="required")
    async def inbox(call: Call) -> s.NotificationList:
        """Your notifications, newest first (cursor: ?before=<next>)."""
        return await parts().svc.list(call.user_id, call.query)

    @api.route("GET", f"{P}/unread", response=s.Unread, auth="required")
    async def unread(call: Call) -> s.Unread:
        """How many notifications you have not read."""
        return s.Unread(await parts().svc.unread(call.user_id))

    @api.route("POST", f"{P}/read", body=s.MarkRead, response=s.Marked, auth="required", bucket="write")
    async def read_all(call: Call) -> s.Marked:
        """Mark every notification read (or those of one community)."""
        svc = parts().svc
        return s.Marked(await svc.mark_read(call.user_id, community_id=call.body.community_id))

    @api.route("POST", f"{P}/{{notification_id}}/read", response=s.Marked, auth="required", bucket="write")
    async def read_one(call: Call) -> s.Marked:
        """Mark one notification read."""
        return s.Marked(await parts().svc.mark_read(call.user_id, nid=call.path("notification_id")))

    @api.route("DELETE", f"{P}/{{notification_id}}", auth="required", bucket="write")
    async def delete(call: Call) -> None:
        """Delete one notification."""
        await parts().svc.delete(call.user_id, call.path("notification_id"))

    # -- preferences ---------------------------------------------------------------------------

    @api.route("GET", f"{P}/preferences", response=s.UserPrefs, auth="required")
    async def get_prefs(call: Call) -> s.UserPrefs:
        """Your notification settings."""
        return await parts().svc.prefs.user(call.user_id)

    @api.route("PATCH", f"{P}/preferences", body=s.UserPrefsPatch, response=s.UserPrefs, auth="required",
               bucket="write")  # fmt: skip
    async def patch_prefs(call: Call) -> s.UserPrefs:
        """Change some of your settings (``kinds`` is replaced whole)."""
        return await parts().svc.prefs.patch_user(call.user_id, call.body)

    for scope, plural, param in (
        ("community", "communities", "community_id"),
        ("channel", "channels", "channel_id"),
    ):
        path = f"{P}/preferences/{plural}/{{{param}}}"

        def scoped(scope: str = scope, param: str = param, path: str = path) -> None:
            @api.route(
                "GET", path, response=s.ScopePrefs, auth="required", summary=f"Your settings for a {scope}"
            )
            async def get_scope(call: Call) -> s.ScopePrefs:
                return await parts().svc.prefs.scope(call.user_id, scope, _id(call, param))

            @api.route("PUT", path, body=s.ScopePrefs, response=s.ScopePrefs, auth="required", bucket="write",
                       summary=f"Set your level / mute for a {scope}")  # fmt: skip
            async def put_scope(call: Call) -> s.ScopePrefs:
                return await parts().svc.prefs.set_scope(call.user_id, scope, _id(call, param), call.body)

            @api.route(
                "DELETE", path, auth="required", bucket="write", summary=f"Forget your {scope} settings"
            )
            async def delete_scope(call: Call) -> None:
                await parts().svc.prefs.clear_scope(call.user_id, scope, _id(call, param))

            # Distinct names: the OpenAPI operationId is derived from them.
            for fn, verb in ((get_scope, "get"), (put_scope, "set"), (delete_scope, "clear")):
                fn.__name__ = fn.__qualname__ = f"{verb}_{scope}_prefs"

        scoped()

    # -- Web Push ------------------------------------------------------------------------------

    @api.route("GET", f"{P}/push/vapid-key", response=s.VapidKey, auth="none")
    async def vapid_key(call: Call) -> s.VapidKey:
        """The applicationServerKey for PushManager.subscribe()."""
        return s.VapidKey(parts().vapid.public_b64)

    @api.route("POST", f"{P}/push/subscriptions", body=s.PushSubscriptionIn, response=s.PushSubscriptionOut,
               status=201, auth="required", bucket="write")  # fmt: skip
    async def subscribe(call: Call) -> s.PushSubscriptionOut:
        """Register a browser's push subscription (the same endpoint again replaces it)."""
        body: s.PushSubscriptionIn = call.body
        allowed = ("https", "http") if parts().svc.s.push_allow_http else ("https",)
        url = urlsplit(body.endpoint)
        if url.scheme not in allowed or not url.hostname:
            raise Problem(
                "invalid_field", 400, f"endpoint must be an {' or '.join(allowed)} URL", field="endpoint"
            )
        if not parts().svc.s.push_allow_http and await _internal(url.hostname, url.port or 443):
            # The node POSTs to this URL: never let a browser point it at the node's own network.
            raise Problem("invalid_field", 400, "endpoint must be a public push service", field="endpoint")
        p256dh = _key(body.keys.p256dh, "keys.p256dh")
        try:
            parse_p256(p256dh)
        except ValueError:
            raise Problem(
                "invalid_field", 400, "not an uncompressed P-256 public key", field="keys.p256dh"
            ) from None
        auth = _key(body.keys.auth, "keys.auth")
        if len(auth) != 16:
            raise Problem("invalid_field", 400, "the auth secret is 16 bytes", field="keys.auth")
        sub_id, user_id, now_s = new_id(), call.user_id, int(node.clock.time())
        await node.db.write(
            lambda conn: queries.subscribe(conn, sub_id, user_id, body.endpoint, p256dh, auth, now_s)
        )
        return s.PushSubscriptionOut(sub_id, body.endpoint)

    @api.route("DELETE", f"{P}/push/subscriptions/{{subscription_id}}", auth="required", bucket="write")
    async def unsubscribe_push(call: Call) -> None:
        """Forget one of your push subscriptions."""
        sid, uid = call.path("subscription_id"), call.user_id
        n = await node.db.write(lambda conn: queries.unsubscribe(conn, uid, sid))
        if not n:
            raise not_found("push subscription")

    # -- one-click unsubscribe -----------------------------------------------------------------

    @api.route("GET", f"{P}/unsubscribe", query=s.UnsubscribeQuery, auth="none", produces="text/html")
    async def unsubscribe_page(call: Call) -> web.Response:
        """The link in every mail: a page with one button (a GET never changes anything)."""
        _user_of(call.query.token)
        return web.Response(text=_PAGE, content_type="text/html")

    @api.route("POST", f"{P}/unsubscribe", query=s.UnsubscribeQuery, response=s.Unsubscribed, auth="none",
               bucket="write")  # fmt: skip
    async def unsubscribe(call: Call) -> s.Unsubscribed:
        """One-click unsubscribe (RFC 8058): no more notification mail for the token's user."""
        await parts().svc.prefs.unsubscribe_email(_user_of(call.query.token))
        return s.Unsubscribed(True)

    def _user_of(token: str) -> str:
        user_id = parts().tokens.check(token)
        if user_id is None:
            raise Problem("invalid_query", 400, "this unsubscribe link is not valid", field="token")
        return user_id


def _id(call: Call, param: str) -> str:
    value = call.path(param)
    if not (0 < len(value) <= 64) or not value.isalnum():
        raise Problem("invalid_field", 400, f"{param} is not a valid id", field=param)
    return value


def _key(text: str, field: str) -> bytes:
    try:
        return unb64url(text)
    except ValueError:
        raise Problem("invalid_field", 400, "not base64url", field=field) from None


_PAGE = """<!doctype html><html><body style="font-family: sans-serif">
<form method="post"><p>Stop all notification mail from this CRYB node?</p>
<button type="submit">Unsubscribe</button></form></body></html>"""


async def _internal(host: str, port: int) -> bool:
    """True if ``host`` is or resolves to a loopback, private, link-local or reserved address."""
    import asyncio
    import ipaddress
    import socket

    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return True  # unresolvable: nothing to push to
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return True
    return False
