"""HTTP routes for accounts, sign-in, sessions and profiles: parse, authorise, call the service."""

from __future__ import annotations

from aiohttp import web

from cryb_node.http.api import Api, Call, json_response
from cryb_node.http.middleware import client_address
from cryb_node.node import Node
from cryb_node.problems import Problem
from cryb_node.sync.homes import forwarding

from .registration import registration_of
from .registration_schemas import Applied
from .schemas import (
    LoginIn,
    Me,
    Profile,
    ProfilePatch,
    RefreshIn,
    Registered,
    RegisterIn,
    SessionList,
    TokenPair,
)
from .service import USERS, Client
from .webcookie import clear_cookie, cookie_token, with_cookie


def client_of(call: Call, node: Node) -> Client:
    ip = client_address(call.request, set(node.config.server.trusted_proxies))
    return Client(ip, call.request.headers.get("User-Agent", ""))


def auth_routes(api: Api, node: Node) -> None:
    @api.route(
        "POST", "/api/v1/auth/register", body=RegisterIn, response=Registered, status=201,
        bucket="auth", auth="none",
    )  # fmt: skip
    async def register(call: Call) -> Registered | web.Response:
        """Create an account; answers with the user and a token pair. What else a sign-up needs
        (invite, answer, proof of work) is told by GET /api/v1/auth/registration; in approval mode
        the answer is 202 with the pending application and no tokens."""
        users, body = node.services.require(USERS), call.body
        user_id, pair = await registration_of(users).register(body, client_of(call, node))
        if pair is None:
            return json_response(Applied(user_id, body.username), status=202)
        me = await users.me(user_id)
        result = Registered(me, pair.access_token, pair.refresh_token, pair.expires_in)
        return with_cookie(call.request, node, result, users.s.refresh_ttl_s, 201)

    @api.route("POST", "/api/v1/auth/login", body=LoginIn, response=TokenPair, bucket="auth", auth="none")
    async def login(call: Call) -> TokenPair:
        """Sign in with username or email, password, and a two-factor code when enrolled."""
        users = node.services.require(USERS)
        pair = await users.login(call.body, client_of(call, node))
        return with_cookie(call.request, node, pair, users.s.refresh_ttl_s)

    @api.route("POST", "/api/v1/auth/refresh", body=RefreshIn, response=TokenPair, bucket="auth", auth="none")
    async def refresh(call: Call) -> TokenPair:
        """Swap a refresh token for a new pair; a reused token revokes its whole session."""
        users = node.services.require(USERS)
        # The browser UI sends its token in the HttpOnly cookie instead (webcookie.py).
        token = call.body.refresh_token or cookie_token(call.request)
        if not token:
            raise Problem("invalid_body", 400, "refresh_token is required", field="refresh_token")
        pair = await users.refresh(token, client_of(call, node))
        return with_cookie(call.request, node, pair, users.s.refresh_ttl_s)

    @api.route("POST", "/api/v1/auth/logout", bucket="auth", auth="required")
    async def logout(call: Call) -> web.Response:
        """End the current session (its access and refresh tokens stop working)."""
        principal = call.principal
        assert principal is not None and principal.session_id is not None
        await node.services.require(USERS).revoke_session(
            principal.user_id, principal.session_id, "logout", client_of(call, node)
        )
        return clear_cookie(call.request, node)


def user_routes(api: Api, node: Node) -> None:
    # /users/@me* before /users/{user_id}: aiohttp matches routes in the order they were added.
    @api.route("GET", "/api/v1/users/@me", response=Me, auth="required")
    async def get_me(call: Call) -> Me:
        """The signed-in user's account and profile."""
        return await node.services.require(USERS).me(call.user_id)

    @api.route("PATCH", "/api/v1/users/@me", body=ProfilePatch, response=Me, auth="required", bucket="write")
    async def patch_me(call: Call) -> Me:
        """Change display name, bio, pronouns or avatar (published to peers as an event)."""
        return await node.services.require(USERS).update_profile(call.user_id, call.body)

    @api.route("GET", "/api/v1/users/@me/sessions", response=SessionList, auth="required")
    async def list_sessions(call: Call) -> SessionList:
        """Active sessions (signed-in devices) of the current user."""
        current = call.principal.session_id if call.principal else None
        return await node.services.require(USERS).sessions(call.user_id, current)

    @api.route("DELETE", "/api/v1/users/@me/sessions/{session_id}", auth="required", bucket="write")
    async def revoke_session(call: Call) -> None:
        """Sign out one session (another device, or this one)."""
        await node.services.require(USERS).revoke_session(
            call.user_id, call.path("session_id"), "revoked", client_of(call, node)
        )

    @api.route("GET", "/api/v1/users/by-name/{name}", response=Profile)
    async def get_user_by_name(call: Call) -> Profile:
        """The user a name means: a bare name is this node's own user when it has one; a user
        from another node is named ``name@home`` (its profile's ``home``)."""
        return await node.services.require(USERS).profile_by_name(call.path("name"))

    @api.route("GET", "/api/v1/users/{user_id}", response=Profile)
    async def get_user(call: Call) -> Profile:
        """A user's public profile (on the node an account moved away from: a redirect to its new
        home, the forwarding record of `cryb sync move-account`)."""
        user_id = call.path("user_id")
        moved_to = await forwarding(node, user_id)
        if moved_to is not None:
            raise web.HTTPPermanentRedirect(f"{moved_to.rstrip('/')}/api/v1/users/{user_id}")
        return await node.services.require(USERS).profile(user_id)
