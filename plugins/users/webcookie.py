"""The browser UI's sign-in mode: its refresh token lives in an HttpOnly, SameSite=Strict cookie that
scripts cannot read, and only the short-lived access token reaches the page (kept in memory).

A request opts in with ``X-Cryb-Client: web``. Browsers never send that header cross-site without a
CORS preflight (which this node does not grant), and SameSite=Strict keeps the cookie off cross-site
requests, so the cookie cannot be used to refresh from another origin.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cryb_node.http.api import json_response
from cryb_node.node import Node

COOKIE = "cryb_refresh"
COOKIE_PATH = "/api/v1/auth"
HEADER = "X-Cryb-Client"


def web_mode(request: web.Request) -> bool:
    return request.headers.get(HEADER, "").lower() == "web"


def cookie_token(request: web.Request) -> str:
    """The refresh token from the cookie, only for requests in web mode."""
    return request.cookies.get(COOKIE, "") if web_mode(request) else ""


def _secure(request: web.Request, node: Node) -> bool:
    return request.secure or node.config.base_url.startswith("https://")


def with_cookie(request: web.Request, node: Node, result: Any, max_age: int, status: int = 200) -> Any:
    """In web mode, move ``result.refresh_token`` into the cookie and answer without it."""
    if not web_mode(request):
        return result
    token, result.refresh_token = result.refresh_token, ""
    response = json_response(result, status)
    set_refresh_cookie(response, request, node, token, max_age)
    return response


def set_refresh_cookie(
    response: web.StreamResponse, request: web.Request, node: Node, token: str, max_age: int
) -> None:
    response.set_cookie(
        COOKIE, token, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="Strict",
        secure=_secure(request, node),
    )  # fmt: skip


def clear_cookie(request: web.Request, node: Node) -> web.Response:
    response = web.Response(status=204)
    if web_mode(request):
        response.del_cookie(COOKIE, path=COOKIE_PATH, secure=_secure(request, node), samesite="Strict")
    return response
