"""Accounts that move between nodes (``cryb sync move-account``; the user.moved event is the sync
plugin's). Two local consequences, applied by a durable consumer once the move is in effect:

- on the node the account left: every session is revoked (its access tokens are refused with
  ``401 account_moved``), and password, refresh and OAuth sign-in are refused with
  ``410 account_moved`` naming the new home (``moved_to``);
- on its new home: a local account is made for it, without a password or an email address
  (credentials and PII never travel between nodes). Its owner signs in after setting a password
  through a single-use link the new node's admin issues (``cryb user reset-password USER``).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from cryb_node.bus import Subscription
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.problems import Problem
from cryb_node.sync.homes import MOVED, current_home

from . import queries

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .service import Users


def moved(url: str) -> Problem:
    where = url or "another node"
    return Problem(
        "account_moved", 410, f"this account moved to {where}; sign in there", moved_to=url or None
    )


def subscription(node: Node, u: Users) -> Subscription:
    def handle(conn: Connection, events: list[Event]) -> None:
        here = node.identity.node_public
        for ev in events:
            user_id = ev.body.target
            if user_id is None or ev.body.author != user_id:
                continue
            home = current_home(conn, user_id)
            has_account = queries.account_status(conn, user_id) is not None
            if home is not None and home != here and has_account:
                # It left this node: nothing signed in here keeps working.
                revoked = u.revoke_sessions_in_tx(conn, user_id, "moved")
                u.audit(conn, "account.moved_away", user_id=user_id, sessions=len(revoked))
                url = conn.execute("SELECT url FROM sync_moved WHERE user_id = ?", (user_id,)).fetchone()
                u.tokens.moved_away(url["url"] if url else "", *revoked)
            elif home == here and not has_account:
                _adopt(conn, u, user_id)

    return Subscription(name="users.moves", handle_in_tx=handle, kinds=frozenset({MOVED}))


def _adopt(conn: Connection, users: Users, user_id: str) -> None:
    """The local account of an account that moved here: its public username if free here."""
    prof = conn.execute("SELECT username FROM users_profiles WHERE user_id = ?", (user_id,)).fetchone()
    name = prof["username"] if prof and prof["username"] else f"user_{user_id[-6:].lower()}"
    if conn.execute("SELECT 1 FROM users_accounts WHERE username_key = ?", (name.lower(),)).fetchone():
        name = f"{name[:24]}_{secrets.token_hex(3)}"  # a local account already has the name
    now = users.now()
    conn.execute(
        "INSERT INTO users_accounts (id, username, username_key, password_hash, created_at, updated_at)"
        " VALUES (?, ?, ?, NULL, ?, ?)",
        (user_id, name, name.lower(), now, now),
    )
    users.audit(conn, "account.moved_here", user_id=user_id)
