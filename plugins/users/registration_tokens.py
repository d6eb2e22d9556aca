"""Registration tokens: what a node admin hands out so someone can sign up in invite mode, with an
optional expiry and use limit (`cryb token`, /api/v1/admin/registration-tokens).

Only the token's sha256 is stored. A use is counted inside the write transaction that creates the
account, by one guarded UPDATE: the writer runs one transaction at a time, so two sign-ups racing
for a token's last use cannot both get it (the loser's account is rolled back with the count).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from cryb_node.clock import new_id
from cryb_node.db import Connection
from cryb_node.problems import Problem, not_found

from . import queries_admin
from .keys import new_secret_token, token_hash
from .registration_schemas import RegistrationTokenOut

if TYPE_CHECKING:
    from .service import Client, Users

PREFIX = "rg_"
_HINT = len(PREFIX) + 6
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def parse_duration(text: str) -> int:
    """Seconds in ``90``, ``90s``, ``30m``, ``12h``, ``7d`` or ``2w``."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", text.lower())
    if m is None or int(m.group(1)) == 0:
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 12h, 7d, 2w)")
    return int(m.group(1)) * _UNITS[m.group(2) or "s"]


TokenState = Literal["active", "expired", "used_up", "revoked"]


def state(
    expires_at: int | None, max_uses: int | None, uses: int, revoked_at: int | None, now: float
) -> TokenState:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    if max_uses is not None and uses >= max_uses:
        return "used_up"
    return "active"


def _state(r: Any, now: float) -> TokenState:
    """The state of a queries_admin.TOKEN row at ``now``."""
    return state(r["expires_at"], r["max_uses"], r["uses"], r["revoked_at"], now)


def _out(r: Any, now: float, token: str | None = None) -> RegistrationTokenOut:
    return RegistrationTokenOut(
        id=r["id"], hint=r["hint"], state=_state(r, now), created_at=r["created_at"],
        created_by=r["created_by"], expires_at=r["expires_at"], max_uses=r["max_uses"], uses=r["uses"],
        token=token,
    )  # fmt: skip


async def create(
    users: Users,
    client: Client,
    *,
    uses: int | None = None,
    expires_in_s: int | None = None,
    actor_id: str | None = None,
) -> RegistrationTokenOut:
    """A new token; the answer holds the token itself, which is never shown again."""
    now = users.node.clock.time()
    token, token_id, at = new_secret_token(PREFIX), new_id(), int(now)
    expires = at + expires_in_s if expires_in_s else None

    def write(conn: Connection) -> Any:
        row = queries_admin.insert_token(
            conn, token_id=token_id, token_hash=token_hash(token), hint=token[:_HINT], created_by=actor_id,
            created_at=at, expires_at=expires, max_uses=uses,
        )  # fmt: skip
        users.audit(conn, "registration.token_created", client, actor_id=actor_id, token_id=token_id,
                     max_uses=uses, expires_at=expires)  # fmt: skip
        return row

    return _out(await users.node.db.write(write), now, token)


async def list_tokens(users: Users, *, include_spent: bool = True) -> list[RegistrationTokenOut]:
    now = users.node.clock.time()
    out = [_out(r, now) for r in await queries_admin.tokens(users.node.db)]
    return out if include_spent else [t for t in out if t.state == "active"]


async def revoke(
    users: Users, token_or_id: str, client: Client, *, actor_id: str | None = None
) -> RegistrationTokenOut:
    """Revoke by id or by the token itself; revoking twice is not an error."""
    now = users.node.clock.time()

    def write(conn: Connection) -> Any:
        row = queries_admin.token_by_id_or_hash(conn, token_or_id, token_hash(token_or_id))
        if row is None:
            raise not_found("registration token")
        if row["revoked_at"] is None:
            queries_admin.revoke_token(conn, row["id"], int(now))
            users.audit(conn, "registration.token_revoked", client, actor_id=actor_id, token_id=row["id"])
        return queries_admin.token_by_id(conn, row["id"])

    return _out(await users.node.db.write(write), now)


def _refusal(token_state: str | None) -> Problem:
    if token_state is None:
        return Problem("invite_invalid", 403, "this invite code or token is not valid", field="invite")
    detail = {"revoked": "was revoked", "expired": "has expired", "used_up": "has no uses left"}[token_state]
    return Problem(f"invite_{token_state}", 410, f"this registration token {detail}", field="invite")


async def check(users: Users, token: str) -> str | None:
    """The token's id if ``token`` is one of ours (None: it is not a token); raises the Problem of
    a token that cannot be used (expired by the node's clock). The count is taken later, in the
    account's transaction."""
    now = users.node.clock.time()
    row = await queries_admin.token_by_hash(users.node.db, token_hash(token))
    if row is None:
        return None
    st = _state(row, now)
    if st != "active":
        raise _refusal(st)
    return row["id"]


def use_in_tx(conn: Connection, token_id: str, now: float) -> None:
    """Count one use, inside the transaction that creates the account; raises (rolling the account
    back) if the token went bad since it was checked, e.g. another sign-up took its last use."""
    if queries_admin.use_token(conn, token_id, now):
        return
    row = queries_admin.token_by_id(conn, token_id)
    raise _refusal(_state(row, now) if row else None)
