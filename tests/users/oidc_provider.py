"""A small OpenID Connect provider for tests, served on loopback by aiohttp: discovery, authorize
(auto-approves the configured user), token (checks the code, redirect_uri, client secret and the PKCE
verifier), JWKS and userinfo. id_tokens are real RS256 JWTs signed with a key made per provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "cryb-test-client"
CLIENT_SECRET = "cryb-test-secret"


class Provider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        self.issuer = ""  # set once the server listens
        self.user: dict[str, Any] = {
            "sub": "provider-user-1",
            "email": "oidc.person@example.test",
            "email_verified": True,
            "preferred_username": "oidc_person",
        }
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.sign_with: Any = None  # another key, to make the signature wrong

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/jwks", self.jwks)
        app.router.add_get("/userinfo", self.userinfo)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })  # fmt: skip

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
            return web.json_response({"error": "invalid_request"}, status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": q["redirect_uri"], "challenge": q["code_challenge"], "nonce": q.get("nonce"),
            "user": dict(self.user),
        }  # fmt: skip
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}")

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append(form)
        grant = self.codes.pop(form.get("code", ""), None)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if (
            grant is None
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge.rstrip(b"=").decode() != grant["challenge"]
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
            **grant["user"],
        }  # fmt: skip
        id_token = jwt.encode(
            claims, self.sign_with or self.key, algorithm="RS256", headers={"kid": self.kid}
        )
        return web.json_response({"access_token": "at-" + secrets.token_hex(8), "token_type": "Bearer",
                                  "expires_in": 300, "id_token": id_token})  # fmt: skip

    async def jwks(self, request: web.Request) -> web.Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return web.json_response({"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]})

    async def userinfo(self, request: web.Request) -> web.Response:
        return web.json_response(self.user)
