"""What an API token's scopes allow: every route needs one scope, derived from its method and path
(docs/integrations.md "Bots"). A signed-in session has every scope; a token has those it was made with.

- ``read``: GET and HEAD.
- ``write``: any other method.
- ``moderate``: community moderation (bans, kicks, timeouts, moderation actions, automod, reports).
- ``admin``: the node's admin routes (the authenticator grants it only to a node admin's token).
- ``session``: the account's own security (tokens, bots, password, second factor, sessions, email,
  deactivation, exports, sign-in links): no token may reach them, so a leaked token cannot mint more.
"""

from __future__ import annotations

import re
from typing import Literal

from cryb_node.problems import Problem

Scope = Literal["read", "write", "moderate", "admin", "session"]
SCOPES: tuple[str, ...] = ("read", "write", "moderate", "admin")

_SESSION = re.compile(
    r"^/api/v1/(tokens|bots)(/|$)"
    r"|^/api/v1/users/@me/(password|totp|sessions|email|deactivate|export|oauth)(/|$)"
    r"|^/api/v1/users/@me$"
    r"|^/api/v1/auth/"
)
_MODERATE = re.compile(
    r"/(bans|kick|timeout|moderation|automod)(/|$)|^/api/v1/communities/[^/]+/reports/|/modqueue"
)


def required_scope(method: str, path: str) -> Scope:
    if path.startswith("/api/v1/admin/"):
        return "admin"
    if _SESSION.search(path) and not (method in ("GET", "HEAD") and path == "/api/v1/users/@me"):
        return "session"
    if _MODERATE.search(path) or path.endswith("/bans"):
        return "moderate"
    return "read" if method in ("GET", "HEAD") else "write"


def check_scope(method: str, path: str, scopes: frozenset[str]) -> None:
    """Raise 403 ``insufficient_scope`` unless the token's scopes cover the route."""
    need = required_scope(method, path)
    if need == "session":
        raise Problem("insufficient_scope", 403, "API tokens cannot manage the account: sign in to do this")
    if need not in scopes:
        raise Problem("insufficient_scope", 403, f"this token lacks the '{need}' scope")
