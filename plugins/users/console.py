"""The node admin console's users section: find accounts, show one, and act on it (disable, enable,
promote, demote, sign out everywhere, erase, purge what it wrote). The HTTP routes
(admin_user_routes.py) and `cryb user ...` call these; every action is audited with its actor.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from cryb_node.events import Tx
from cryb_node.node import Node
from cryb_node.problems import Problem, not_found
from cryb_node.realtime.protocol import Close
from cryb_node.services import AUTHORED_CONTENT, AuthoredCounts

from . import accounts, queries, queries_admin
from .audit import AuditEntry
from .keys import normalise_email

if TYPE_CHECKING:
    from .service import Client, Users

log = logging.getLogger(__name__)


class AdminUser(accounts.AccountSummary):
    """A row of the console's list: the account, its public name and when it was last seen."""

    display_name: str
    # The latest sign-in or token refresh of any of its sessions (unix s): access tokens are checked
    # without a database hit, so this is as fresh as the last refresh (every few minutes in use).
    last_seen_at: int | None


class UserPage(msgspec.Struct):
    users: list[AdminUser]
    next_after: str | None  # pass as ?after= for the next page (None: this was the last)


class UserDetail(AdminUser):
    sessions: int  # sessions signed in now (not revoked, not expired)
    written: AuthoredCounts | None  # what it wrote and still stands (None: no content plugin)
    audit: list[AuditEntry]  # the latest entries about the account, newest first


class UserSearch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # A name (part of the username or display name), an exact email address, or an id.
    q: Annotated[str, Meta(max_length=200)] = ""
    # active | disabled | deactivated | deleted; absent: every account not erased.
    status: Annotated[str, Meta(pattern="^[a-z_]{1,20}$")] | None = None
    admin: bool | None = None
    after: Annotated[str, Meta(max_length=64)] | None = None  # keyset: the last id of the page before
    limit: Annotated[int, Meta(ge=1, le=200)] = 50


class UserPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: Literal["active", "disabled"] | UnsetType = UNSET
    admin: bool | UnsetType = UNSET


Confirm = Annotated[str, Meta(min_length=1, max_length=100)]


class ConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    confirm: Confirm  # the account's username, typed: a stray request cannot erase anything


class Purged(msgspec.Struct):
    removed: int  # messages, posts and comments deleted


class SignedOut(msgspec.Struct):
    sessions: int  # sessions ended


def _user(users: Users, r: Any) -> AdminUser:
    """From a queries_admin.ADMIN_USER row (the address decrypted)."""
    return AdminUser(
        id=r["id"], username=r["username"], email=users.keys.open(r["email_ct"]),
        email_verified=bool(r["email_verified"]), admin=bool(r["admin"]), status=r["status"],
        totp_enabled=bool(r["totp_enabled"]), created_at=r["created_at"], display_name=r["display_name"],
        last_seen_at=r["last_seen_at"],
    )  # fmt: skip


async def search(users: Users, s: UserSearch) -> UserPage:
    """Newest accounts first. Emails are stored encrypted, so an address is matched exactly through
    its blind index; names match anywhere in the username or the display name."""
    q = s.q.strip()
    email_index = users.keys.blind("email", normalise_email(q)) if "@" in q.lstrip("@") else None
    rows = await queries_admin.search_accounts(
        users.node.db, email_index=email_index, q=q, status=s.status, admin=s.admin, after=s.after,
        limit=s.limit + 1,
    )  # fmt: skip
    page = [_user(users, r) for r in rows[: s.limit]]
    return UserPage(page, page[-1].id if len(rows) > s.limit else None)


async def show(users: Users, user_id: str) -> UserDetail:
    row = await queries_admin.admin_user(users.node.db, user_id)
    if row is None:
        raise not_found("user")
    sessions = await queries_admin.live_session_count(users.node.db, user_id, users.now())
    authored = users.node.services.get(AUTHORED_CONTENT)
    written = await authored.count_author(users.node.db, user_id) if authored is not None else None
    audit = await users.audit_page(user_id, None, None, 20)
    base = msgspec.structs.asdict(_user(users, row))
    return UserDetail(**base, sessions=sessions, written=written, audit=audit.entries)


async def update(
    users: Users, user_id: str, patch: UserPatch, client: Client, *, actor_id: str | None = None
) -> AdminUser:
    """Disable or enable, promote or demote. Disabling ends every session and live socket; taking
    away the last active admin is refused (accounts.keep_an_admin)."""
    if patch.admin is False:
        await accounts.demote(users, user_id, client, actor_id=actor_id)
    if isinstance(patch.status, str):
        await accounts.set_status(users, user_id, patch.status, client, actor_id=actor_id)
        if patch.status != "active":
            await end_live(users.node, {user_id})
    if patch.admin is True:
        # promoting after any status change: an account is never left an admin half-way
        await accounts.promote(users, user_id, client, actor_id=actor_id)
        users.first_run.done()  # the setup link dies once an admin exists
    row = await queries_admin.admin_user(users.node.db, user_id)
    if row is None:
        raise not_found("user")
    return _user(users, row)


async def sign_out(users: Users, user_id: str, client: Client, *, actor_id: str | None = None) -> int:
    """End every session of the account (its refresh tokens die with them); returns how many."""

    def write(conn: Any) -> list[str]:
        if queries.account_status(conn, user_id) in (None, "deleted"):
            raise not_found("user")
        ids = users.revoke_sessions_in_tx(conn, user_id, "signed_out_by_admin")
        users.audit(conn, "account.signed_out", client, user_id=user_id, actor_id=actor_id, sessions=len(ids))
        return ids

    ids = await users.node.db.write(write)
    users.tokens.revoked(*ids)
    await end_live(users.node, {user_id})
    return len(ids)


async def _confirmed(users: Users, user_id: str, confirm: str) -> None:
    username = await users.node.db.fetchval(
        "SELECT username FROM users_accounts WHERE id = ? AND status != 'deleted'", (user_id,)
    )
    if username is None:
        raise not_found("user")
    if confirm.strip().lower() != username.lower():
        raise Problem("confirmation_mismatch", 400, "type the account's username to confirm", field="confirm")


async def erase(
    users: Users, user_id: str, confirm: str, client: Client, *, actor_id: str | None = None
) -> None:
    """Account erasure (accounts.delete): credentials and PII wiped, profile and everything it
    wrote erased on every node. ``confirm`` must be its username."""
    await _confirmed(users, user_id, confirm)
    await accounts.delete(users, user_id, client, actor_id=actor_id)
    await end_live(users.node, {user_id})


async def purge_content(
    users: Users, user_id: str, confirm: str, client: Client, *, actor_id: str | None = None
) -> int:
    """Everything the account wrote goes the way erasure takes it (the author's own, final,
    replicated deletes: text erased, uploads it attached removed), but the account stays and can
    sign in. ``confirm`` must be its username. Returns how many items were deleted."""
    await _confirmed(users, user_id, confirm)
    authored = users.node.services.get(AUTHORED_CONTENT)

    def write(tx: Tx) -> int:
        n = authored.erase_author(tx, user_id) if authored is not None else 0
        users.audit(tx.conn, "account.content_purged", client, user_id=user_id, actor_id=actor_id, removed=n)
        return n

    return await users.node.events.transaction(write)


LIVE_ENDED = "users.live_ended"  # node.signals topic: accounts whose sockets close in every process


class LiveEnded(msgspec.Struct):
    users: list[str]
    reason: str


async def end_live(node: Node, user_ids: set[str], reason: str = "signed out by a node admin") -> None:
    """Close the accounts' realtime sockets as failed authentication: the client's resume or
    refresh is refused (its sessions are revoked), so the page signs out rather than staying live.
    With edges, each of the node's other processes closes the sockets it holds too."""
    await close_live(node, user_ids, reason)
    if user_ids:
        node.signals.publish(LIVE_ENDED, msgspec.json.encode(LiveEnded(sorted(user_ids), reason)))


async def close_live(node: Node, user_ids: set[str], reason: str) -> None:
    """This process's sockets only."""
    for user_id in user_ids:
        for session in list(node.realtime.by_user.get(user_id, ())):
            await session.close(Close.AUTHENTICATION_FAILED, reason)


def live_ended_elsewhere(node: Node, payload: bytes, pending: set[asyncio.Task[None]]) -> None:
    """Another process ended these accounts' sessions (node.signals): close the sockets held here.
    ``pending`` holds the closing task until it is done (a task nothing refers to may be collected)."""
    try:
        ended = msgspec.json.decode(payload, type=LiveEnded)
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.warning("a malformed %s signal was ignored", LIVE_ENDED)
        return
    task = asyncio.get_running_loop().create_task(close_live(node, set(ended.users), ended.reason))
    pending.add(task)
    task.add_done_callback(pending.discard)
