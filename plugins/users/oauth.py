"""Sign-in with OAuth2 / OpenID Connect providers: presets for GitHub, Google and Discord, and any
OIDC issuer. Authorization-code flow with state (single use, 10 minutes) bound to the browser that
started it (a secret in a cookie, see oauth_routes.py) and PKCE (S256, the verifier never leaves the
node); OIDC id_tokens are verified against the issuer's JWKS (signature, iss, aud, exp, nonce).

A provider identity (provider, subject) is linked to one local account. A first sign-in creates an
account, unless the provider's verified email already belongs to one: then the owner must sign in
and link the provider, so a provider can never take over an existing account by email alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import jwt
import msgspec

from cryb_node.problems import Problem, not_found

from .keys import normalise_email
from .registration import registration_of
from .schemas import OAuthProvider, TokenPair
from .validate import RESERVED

if TYPE_CHECKING:
    from .service import Client, Users

STATE_TTL_S = 600
PRESETS: dict[str, dict[str, Any]] = {
    "github": {
        "authorize_url": "https://github.com/login/oauth/authorize",
        "token_url": "https://github.com/login/oauth/access_token",
        "userinfo_url": "https://api.github.com/user",
        "scopes": ["read:user", "user:email"],
    },
    "discord": {
        "authorize_url": "https://discord.com/oauth2/authorize",
        "token_url": "https://discord.com/api/oauth2/token",
        "userinfo_url": "https://discord.com/api/users/@me",
        "scopes": ["identify", "email"],
    },
    "google": {"issuer": "https://accounts.google.com", "scopes": ["openid", "email", "profile"]},
    "oidc": {"scopes": ["openid", "email", "profile"]},
}


class ProviderInfo(msgspec.Struct):
    name: str
    preset: str


class ProviderList(msgspec.Struct):
    providers: list[ProviderInfo]


class AuthorizeUrl(msgspec.Struct):
    authorize_url: str


class OAuthResult(msgspec.Struct):
    user_id: str
    created: bool
    linked: bool
    tokens: TokenPair | None = None


class LinkOut(msgspec.Struct):
    provider: str
    created_at: int


class LinkList(msgspec.Struct):
    links: list[LinkOut]


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None
    email_verified: bool
    username: str


@dataclass
class Pending:
    provider: str
    verifier: str
    nonce: str
    link_user: str | None
    # sha256 of the secret in the starting browser's cookie: without it, a callback URL carried to
    # another browser would sign that browser in to (or link) the account of whoever started.
    browser: bytes = b""
    created: float = 0.0  # node.clock.monotonic() when the flow started


def browser_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OAuth:
    def __init__(self, users: Users) -> None:
        self.users = users
        self.providers: dict[str, OAuthProvider] = {}
        for p in users.s.oauth:
            if p.preset not in PRESETS:
                raise ValueError(f"plugin.users.oauth: unknown preset {p.preset!r} for {p.name}")
            self.providers[p.name] = p
        self._pending: dict[str, Pending] = {}
        self._discovery: dict[str, dict[str, Any]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._session

    def _provider(self, name: str) -> OAuthProvider:
        p = self.providers.get(name)
        if p is None:
            raise not_found("sign-in provider")
        return p

    def _setting(self, p: OAuthProvider, key: str) -> Any:
        return getattr(p, key) or PRESETS[p.preset].get(key, "")

    def is_oidc(self, p: OAuthProvider) -> bool:
        return bool(self._setting(p, "issuer"))

    async def _endpoints(self, p: OAuthProvider) -> dict[str, str]:
        if not self.is_oidc(p):
            return {
                "authorization_endpoint": self._setting(p, "authorize_url"),
                "token_endpoint": self._setting(p, "token_url"),
                "userinfo_endpoint": self._setting(p, "userinfo_url"),
            }
        issuer = self._setting(p, "issuer").rstrip("/")
        doc = self._discovery.get(issuer)
        if doc is None:
            async with self._http().get(f"{issuer}/.well-known/openid-configuration") as resp:
                if resp.status != 200:
                    raise Problem(
                        "oauth_provider_error", 502, "the provider's discovery document is unavailable"
                    )
                doc = await resp.json()
            if doc.get("issuer", "").rstrip("/") != issuer:
                raise Problem(
                    "oauth_provider_error", 502, "the provider's discovery document names another issuer"
                )
            self._discovery[issuer] = doc
        return doc

    def redirect_uri(self, name: str) -> str:
        return f"{self.users.node.config.base_url.rstrip('/')}/api/v1/auth/oauth/{name}/callback"

    async def start(self, name: str, link_user: str | None) -> tuple[str, str]:
        """The provider's authorization URL, and the secret the starting browser keeps (a cookie)."""
        p = self._provider(name)
        self._sweep()
        state, verifier, nonce, browser = (
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
            secrets.token_urlsafe(16),
            secrets.token_urlsafe(24),
        )
        self._pending[state] = Pending(
            name, verifier, nonce, link_user, browser_digest(browser), self.users.node.clock.monotonic()
        )
        ep = await self._endpoints(p)
        params = {
            "response_type": "code",
            "client_id": p.client_id,
            "redirect_uri": self.redirect_uri(name),
            "scope": " ".join(p.scopes or PRESETS[p.preset]["scopes"]),
            "state": state,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        if self.is_oidc(p):
            params["nonce"] = nonce
        return f"{ep['authorization_endpoint']}?{urlencode(params)}", browser

    def _sweep(self) -> None:
        horizon = self.users.node.clock.monotonic() - STATE_TTL_S
        for s in [s for s, pend in self._pending.items() if pend.created < horizon]:
            del self._pending[s]

    async def callback(self, name: str, code: str, state: str, browser: str, client: Client) -> OAuthResult:
        """Finish a flow; ``browser`` is the secret from the cookie ``start`` set (empty if none).
        The state is spent even when the browser does not match, so a leaked URL dies on first use."""
        pending = self._pending.pop(state, None)
        if (
            pending is None
            or pending.provider != name
            or pending.created < self.users.node.clock.monotonic() - STATE_TTL_S
            or not hmac.compare_digest(pending.browser, browser_digest(browser))
        ):
            await self.users.node.db.write(
                lambda c: self.users.audit(c, "oauth.state_mismatch", client, provider=name)
            )
            raise Problem(
                "oauth_state_mismatch", 400, "unknown, expired or reused sign-in state", field="state"
            )
        p = self._provider(name)
        identity = await self._identity(p, code, pending)
        return await self._sign_in(p, identity, pending.link_user, client)

    async def _identity(self, p: OAuthProvider, code: str, pending: Pending) -> Identity:
        ep = await self._endpoints(p)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri(p.name),
            "client_id": p.client_id,
            "client_secret": p.client_secret,
            "code_verifier": pending.verifier,
        }
        async with self._http().post(
            ep["token_endpoint"], data=form, headers={"Accept": "application/json"}
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200 or "access_token" not in body:
                raise Problem("oauth_exchange_failed", 401, "the provider refused the authorization code")
        if self.is_oidc(p):
            claims = await self._verify_id_token(p, ep, body.get("id_token", ""), pending.nonce)
            return Identity(
                str(claims["sub"]),
                claims.get("email"),
                bool(claims.get("email_verified")),
                claims.get("preferred_username") or claims.get("name") or "",
            )
        headers = {"Authorization": f"Bearer {body['access_token']}", "Accept": "application/json"}
        async with self._http().get(ep["userinfo_endpoint"], headers=headers) as resp:
            if resp.status != 200:
                raise Problem("oauth_provider_error", 502, "the provider's user info is unavailable")
            info = await resp.json(content_type=None)
        # GitHub: id + login, email only when public; Discord: id + username, email + verified.
        verified = bool(info.get("verified")) if p.preset == "discord" else False
        return Identity(
            str(info["id"]), info.get("email"), verified, info.get("login") or info.get("username") or ""
        )

    async def _verify_id_token(
        self, p: OAuthProvider, ep: dict[str, Any], token: str, nonce: str
    ) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            async with self._http().get(ep["jwks_uri"]) as resp:
                jwks = jwt.PyJWKSet.from_dict(await resp.json(content_type=None))
            key = next((k for k in jwks.keys if k.key_id == header.get("kid")), None) or jwks.keys[0]
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "ES256", "EdDSA", "PS256"],
                audience=p.client_id,
                issuer=ep["issuer"],
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, KeyError, IndexError, aiohttp.ClientError) as err:
            raise Problem(
                "oauth_bad_id_token", 401, f"the provider's id_token did not verify: {err}"
            ) from None
        if claims.get("nonce") != nonce:
            raise Problem("oauth_bad_id_token", 401, "the provider's id_token has the wrong nonce")
        return claims

    async def _sign_in(
        self, p: OAuthProvider, ident: Identity, link_user: str | None, client: Client
    ) -> OAuthResult:
        users = self.users
        linked = await users.node.db.fetchval(
            "SELECT user_id FROM users_oauth_links WHERE provider = ? AND subject = ?",
            (p.name, ident.subject),
        )
        if link_user is not None:
            if linked is not None and linked != link_user:
                raise Problem(
                    "oauth_linked_elsewhere", 409, "that provider account is linked to another user"
                )
            await users.node.db.write(lambda c: self._link(c, p.name, ident.subject, link_user, client))
            return OAuthResult(link_user, created=False, linked=True)
        if linked is not None:
            return OAuthResult(
                linked, created=False, linked=False, tokens=await users.session_for(linked, client)
            )
        email = ident.email if ident.email and ident.email_verified else None
        if email is not None:
            owner = await users.node.db.fetchval(
                "SELECT id FROM users_accounts WHERE email_index = ?",
                (users.keys.blind("email", normalise_email(email)),),
            )
            if owner is not None:
                raise Problem(
                    "oauth_email_in_use", 409,
                    "an account with this email exists: sign in with its password, then link this provider",
                )  # fmt: skip

        await registration_of(users).refuse_provider_signup(client)
        user_id = await self._create(ident, email, client)
        await users.node.db.write(lambda c: self._link(c, p.name, ident.subject, user_id, client))
        return OAuthResult(
            user_id, created=True, linked=True, tokens=await users.session_for(user_id, client)
        )

    async def _create(self, ident: Identity, email: str | None, client: Client) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", ident.username)[:24].strip("_")
        if len(base) < 3 or base.lower() in RESERVED:
            base = f"user_{base}"[:24]
        candidate = base
        for _ in range(8):
            try:
                user_id, _ = await self.users.create_account(
                    candidate, email, None, client=client, verified=email is not None, session=False
                )
                return user_id
            except Problem as problem:
                if problem.code != "username_taken":
                    raise
                candidate = f"{base}_{secrets.randbelow(10_000):04d}"
        raise Problem("username_taken", 409, "could not find a free username", field="username")

    def _link(self, conn: Any, provider: str, subject: str, user_id: str, client: Client) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO users_oauth_links (provider, subject, user_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (provider, subject, user_id, self.users.now()),
        )
        self.users.audit(conn, "oauth.linked", client, user_id=user_id, provider=provider)

    async def unlink(self, user_id: str, provider: str, client: Client) -> None:
        def write(conn: Any) -> int:
            row = conn.execute(
                "SELECT password_hash IS NOT NULL AS has_password,"
                " (SELECT count(*) FROM users_oauth_links WHERE user_id = ?) AS links"
                " FROM users_accounts WHERE id = ?",
                (user_id, user_id),
            ).fetchone()
            if not row["has_password"] and row["links"] <= 1:
                raise Problem("last_sign_in_method", 409, "set a password before removing the last provider")
            cur = conn.execute(
                "DELETE FROM users_oauth_links WHERE user_id = ? AND provider = ?", (user_id, provider)
            )
            if cur.rowcount:
                self.users.audit(conn, "oauth.unlinked", client, user_id=user_id, provider=provider)
            return cur.rowcount

        if not await self.users.node.db.write(write):
            raise not_found("linked provider")
