"""HTTP routes for OAuth2 / OpenID Connect sign-in and account linking."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta

from cryb_node.http.api import Api, Call, json_response
from cryb_node.node import Node

from . import queries
from .oauth import STATE_TTL_S, AuthorizeUrl, LinkList, LinkOut, OAuthResult, ProviderInfo, ProviderList
from .routes import client_of
from .service import USERS
from .webcookie import set_refresh_cookie

# Holds the secret that binds a sign-in's state to the browser that started it (plugins/users/oauth.py).
COOKIE = "cryb_oauth"
COOKIE_PATH = "/api/v1/auth/oauth"


class CallbackQuery(msgspec.Struct):
    code: Annotated[str, Meta(min_length=1, max_length=2048)]
    state: Annotated[str, Meta(min_length=1, max_length=256)]


def oauth_routes(api: Api, node: Node) -> None:
    @api.route("GET", "/api/v1/auth/oauth", response=ProviderList, auth="none")
    async def providers(call: Call) -> ProviderList:
        """Sign-in providers configured on this node."""
        oauth = node.services.require(USERS).oauth
        return ProviderList([ProviderInfo(p.name, p.preset) for p in oauth.providers.values()])

    @api.route("POST", "/api/v1/auth/oauth/{provider}/start", response=AuthorizeUrl, bucket="auth")
    async def start(call: Call) -> web.Response:
        """Where to send the browser to sign in; when signed in already, links the provider instead.
        Sets the cookie the callback must come back with (same browser only)."""
        link_user = call.principal.user_id if call.principal else None
        url, browser = await node.services.require(USERS).oauth.start(call.path("provider"), link_user)
        response = json_response(AuthorizeUrl(url))
        _bind(response, call, browser)
        return response

    @api.route("GET", "/api/v1/auth/oauth/{provider}/login", bucket="auth", auth="none", status=302)
    async def login_redirect(call: Call) -> web.Response:
        """Browser entry point: redirects to the provider's sign-in page."""
        url, browser = await node.services.require(USERS).oauth.start(call.path("provider"), None)
        redirect = web.HTTPFound(url)
        _bind(redirect, call, browser)
        raise redirect

    @api.route("GET", "/api/v1/auth/oauth/{provider}/callback", query=CallbackQuery, response=OAuthResult,
               bucket="auth", auth="none")  # fmt: skip
    async def callback(call: Call) -> web.Response:
        """The provider sends the browser back here with a code and the state."""
        q = call.query
        result = await node.services.require(USERS).oauth.callback(
            call.path("provider"),
            q.code,
            q.state,
            call.request.cookies.get(COOKIE, ""),
            client_of(call, node),
        )
        if call.request.headers.get("Sec-Fetch-Mode") == "navigate":
            # A browser came back from the provider (the sign-in page's button): hand the session to
            # the web UI the way its own sign-in does (refresh token in the HttpOnly cookie) and open
            # the app, rather than showing the browser JSON.
            response = web.Response(status=302, headers={"Location": "/" if result.tokens else "/settings"})
            if result.tokens is not None:
                set_refresh_cookie(
                    response,
                    call.request,
                    node,
                    result.tokens.refresh_token,
                    node.services.require(USERS).s.refresh_ttl_s,
                )
        else:
            response = json_response(result)
        response.del_cookie(COOKIE, path=COOKIE_PATH, samesite="Lax", secure=_https(call))
        return response

    def _https(call: Call) -> bool:
        return call.request.secure or node.config.base_url.startswith("https://")

    def _bind(response: web.StreamResponse, call: Call, browser: str) -> None:
        # SameSite=Lax, not Strict: the provider's redirect back is a cross-site top-level navigation,
        # which Lax cookies accompany and Strict ones do not. HttpOnly: no script needs it.
        response.set_cookie(
            COOKIE, browser, max_age=STATE_TTL_S, path=COOKIE_PATH, httponly=True, samesite="Lax",
            secure=_https(call),
        )  # fmt: skip

    @api.route("GET", "/api/v1/users/@me/oauth", response=LinkList, auth="required")
    async def links(call: Call) -> LinkList:
        """Providers linked to the current account."""
        rows = await queries.oauth_links(node.db, call.user_id)
        return LinkList([LinkOut(r["provider"], r["created_at"]) for r in rows])

    @api.route("DELETE", "/api/v1/users/@me/oauth/{provider}", auth="required", bucket="auth")
    async def unlink(call: Call) -> None:
        """Remove a linked provider (not the last way to sign in)."""
        await node.services.require(USERS).oauth.unlink(
            call.user_id, call.path("provider"), client_of(call, node)
        )
