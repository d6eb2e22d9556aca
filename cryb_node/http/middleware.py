"""Cross-cutting HTTP concerns as aiohttp middlewares, outermost first:
request id + access log + metrics, problem+json errors, security headers, authentication, rate limits.
"""

from __future__ import annotations

import errno
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import Histogram

from cryb_node.db import DatabaseError
from cryb_node.http.api import PRINCIPAL, Principal, json_response, route_spec
from cryb_node.http.ratelimit import RateLimiter
from cryb_node.problems import Problem
from cryb_node.services import ServiceKey

log = logging.getLogger("cryb.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = web.RequestKey("request_id", str)
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_HTTP_CODES = {
    404: ("not_found", "no route matches this path"),
    405: ("method_not_allowed", "this route does not accept that method"),
    413: ("payload_too_large", "request body is larger than this route accepts"),
}


class Authenticator(Protocol):
    """Turns a bearer token into a Principal (provided as a service by the users plugin)."""

    async def authenticate(self, token: str) -> Principal | None: ...


AUTHENTICATOR: ServiceKey[Authenticator] = ServiceKey("authenticator")


def route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def request_middleware(histogram: Histogram) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = request.headers.get("X-Request-Id", "")
        if not _GOOD_ID.match(rid):
            rid = uuid.uuid4().hex
        request[REQUEST_ID] = rid
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            # Not on the UI's immutable files that load fine (~45 per cold load): an id is for
            # finding an answer in the logs, and nobody asks about a cached script.
            if not response.prepared and (status >= 400 or not request.path.startswith("/assets/")):
                response.headers["X-Request-Id"] = rid
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = route_name(request)
            histogram.labels(request.method, route, str(status)).observe(elapsed)
            if log.isEnabledFor(logging.INFO):  # the record's fields cost a few us per request
                principal = request.get(PRINCIPAL)
                log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": rid,
                            "method": request.method,
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                            "user_id": principal.user_id if principal else None,
                        }
                    },
                )

    return middleware


def _problem_response(problem: Problem, request: web.Request) -> web.Response:
    body = problem.body(request.get(REQUEST_ID))
    resp = json_response(body, problem.status, {**problem.headers, "X-Request-Id": body.request_id or ""})
    resp.content_type = "application/problem+json"
    return resp


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        return _problem_response(problem, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, detail = _HTTP_CODES.get(exc.status, (exc.reason.lower().replace(" ", "_"), exc.reason))
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return _problem_response(Problem(code, exc.status, detail, headers=headers), request)
    except Exception as err:
        if _disk_full(err):
            # Nothing was written (the transaction rolled back); reads keep working. Say so plainly.
            log.warning("write refused: disk full", extra={"fields": {"request_id": request.get(REQUEST_ID)}})
            return _problem_response(
                Problem("storage_full", 507, "the node's disk is full; nothing was saved, try again later"),
                request,
            )
        log.exception("unhandled error", extra={"fields": {"request_id": request.get(REQUEST_ID)}})
        return _problem_response(Problem("internal", 500, "internal server error"), request)


def _disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return True
    return isinstance(err, DatabaseError) and "full" in str(err).lower()


# The UI's page extends this with the hash of its one inline script, its import map (cryb_node/static.py).
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# What a browser may render as a page (or run as a worker) gets the full policy; everything else
# (JSON, scripts and styles the page loads, images) is never a page of its own, so it gets the
# strictest policy, which is also short: these headers ride on every one of the ~60 responses of
# a cold load (tests/e2e/test_webui_first_load.py), ~180 bytes less each.
_DOCUMENT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
}
# No Referrer-Policy: a resource's own fetches are same-origin only (the page's CSP), and a page's
# requests follow the page's policy.
_RESOURCE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
_RESOURCE_TYPES = ("application/json", "application/problem+json", "text/javascript", "text/css", "image/")
_SERVER = "cryb"  # not aiohttp's "Python/3.x aiohttp/3.y": no versions for a scanner to match


def _is_document(request: web.Request, response: web.StreamResponse) -> bool:
    if request.path == "/sw.js":  # a service worker runs under its own response's policy
        return True
    return not response.content_type.startswith(_RESOURCE_TYPES)


def security_headers(https: bool) -> Middleware:
    """Browser hardening headers; HSTS only when the node is served over https (its base_url)."""
    document, resource = dict(_DOCUMENT_HEADERS), dict(_RESOURCE_HEADERS)
    if https:
        for headers in (document, resource):
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:
            headers = document if _is_document(request, response) else resource
            for k, v in headers.items():
                response.headers.setdefault(k, v)
            response.headers.setdefault("Server", _SERVER)
        return response

    return middleware


def body_limit_middleware(max_bytes: int) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Refuse early from Content-Length; aiohttp's client_max_size catches chunked bodies on read.
        # A route may declare a larger limit of its own (uploads); it must then stream its body and
        # count what it reads, since client_max_size only guards request.read()/post().
        spec = route_spec(request)
        limit = spec.max_body if spec is not None and spec.max_body is not None else max_bytes
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        return await handler(request)

    return middleware


def auth_middleware(get_authenticator: Callable[[], Authenticator | None]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        principal = None
        if header:
            scheme, _, token = header.partition(" ")
            authenticator = get_authenticator()
            if scheme.lower() != "bearer" or not token or authenticator is None:
                raise Problem(
                    "invalid_token",
                    401,
                    "expected Authorization: Bearer <access token>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            principal = await authenticator.authenticate(token.strip())
            if principal is None:
                raise Problem(
                    "invalid_token",
                    401,
                    "the access token is invalid or expired",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
        if principal is not None:
            request[PRINCIPAL] = principal
        return await handler(request)

    return middleware


def client_address(request: web.Request, trusted_proxies: set[str]) -> str:
    peer = request.remote or "unknown"
    if peer in trusted_proxies:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        while hops and hops[-1] in trusted_proxies:
            hops.pop()
        if hops:
            return hops[-1]
    return peer


def ratelimit_middleware(limiter: RateLimiter, trusted_proxies: set[str]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        spec = route_spec(request)
        if spec is None or spec.bucket is None or not limiter.config.enabled:
            return await handler(request)
        principal = request.get(PRINCIPAL)
        caller = (
            f"user:{principal.user_id}" if principal else f"ip:{client_address(request, trusted_proxies)}"
        )
        verdict = limiter.hit(spec.bucket, caller)
        if not verdict.allowed:
            raise verdict.problem()
        response = await handler(request)
        if not response.prepared:
            response.headers.update(verdict.headers())
        return response

    return middleware
