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

from .keys import new_secret_token, token_hash
from .registration_schemas import RegistrationTokenOut

if TYPE_CHECKING:
    from .service import Client, Users

PREFIX = "rg_"
_HINT = len(PREFIX) + 6
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_SELECT = (
    "SELECT id, hint, created_at, created_by, expires_at, max_uses, uses, revoked_at"
    " FROM users_registration_tokens"
)


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


def _out(r: Any, now: float, token: str | None = None) -> RegistrationTokenOut:
    return RegistrationTokenOut(
        r[0], r[1], state(r[4], r[5], r[6], r[7], now), r[2], r[3], r[4], r[5], r[6], token
    )


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
        conn.execute(
            "INSERT INTO users_registration_tokens (id, token_hash, hint, created_by, created_at, expires_at,"
            " max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token_id, token_hash(token), token[:_HINT], actor_id, at, expires, uses),
        )
        users.audit(conn, "registration.token_created", client, actor_id=actor_id, token_id=token_id,
                     max_uses=uses, expires_at=expires)  # fmt: skip
        return conn.execute(_SELECT + " WHERE id = ?", (token_id,)).fetchone()

    return _out(await users.node.db.write(write), now, token)


async def list_tokens(users: Users, *, include_spent: bool = True) -> list[RegistrationTokenOut]:
    now = users.node.clock.time()
    rows = await users.node.db.fetchall(_SELECT + " ORDER BY created_at DESC, id DESC LIMIT 500")
    out = [_out(r, now) for r in rows]
    return out if include_spent else [t for t in out if t.state == "active"]


async def revoke(
    users: Users, token_or_id: str, client: Client, *, actor_id: str | None = None
) -> RegistrationTokenOut:
    """Revoke by id or by the token itself; revoking twice is not an error."""
    now = users.node.clock.time()

    def write(conn: Connection) -> Any:
        row = conn.execute(
            _SELECT + " WHERE id = ? OR token_hash = ?", (token_or_id, token_hash(token_or_id))
        ).fetchone()
        if row is None:
            raise not_found("registration token")
        if row[7] is None:
            conn.execute(
                "UPDATE users_registration_tokens SET revoked_at = ? WHERE id = ?", (int(now), row[0])
            )
            users.audit(conn, "registration.token_revoked", client, actor_id=actor_id, token_id=row[0])
        return conn.execute(_SELECT + " WHERE id = ?", (row[0],)).fetchone()

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
    row = await users.node.db.fetchone(_SELECT + " WHERE token_hash = ?", (token_hash(token),))
    if row is None:
        return None
    st = state(row[4], row[5], row[6], row[7], now)
    if st != "active":
        raise _refusal(st)
    return row[0]


def use_in_tx(conn: Connection, token_id: str, now: float) -> None:
    """Count one use, inside the transaction that creates the account; raises (rolling the account
    back) if the token went bad since it was checked, e.g. another sign-up took its last use."""
    cur = conn.execute(
        "UPDATE users_registration_tokens SET uses = uses + 1 WHERE id = ? AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        (token_id, now),
    )
    if cur.rowcount == 1:
        return
    row = conn.execute(
        "SELECT expires_at, max_uses, uses, revoked_at FROM users_registration_tokens WHERE id = ?",
        (token_id,),
    ).fetchone()
    raise _refusal(state(row[0], row[1], row[2], row[3], now) if row else None)
