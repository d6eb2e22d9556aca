"""The users plugin's part of a member's data export (account.json, relationships.json), and the two
files that close every export: people.json (the public names of everyone the files mention) and
README.txt (what each file holds, from the paragraphs every plugin gave)."""

from __future__ import annotations

import textwrap
import time
from typing import TYPE_CHECKING

import msgspec

from cryb_node.export import ExportSink

from . import queries
from .schemas import Me

if TYPE_CHECKING:
    from .service import Users

PAGE = 500


class OAuthLink(msgspec.Struct):
    provider: str
    linked_at: int  # unix seconds


class SessionRecord(msgspec.Struct):
    id: str
    created_at: int
    last_used_at: int
    expires_at: int
    revoked_at: int | None
    user_agent: str
    ip: str | None


class SecurityEvent(msgspec.Struct):
    at: int  # unix ms
    action: str  # login.ok, password.changed, ...
    ip: str | None


class Account(msgspec.Struct, kw_only=True):
    account: Me  # profile, email (decrypted: this file is for its owner), settings
    last_sign_in_ip: str | None
    oauth_links: list[OAuthLink]
    sessions: list[SessionRecord]
    security_log: list[SecurityEvent]


class Relationship(msgspec.Struct):
    user_id: str
    type: str  # friend | outgoing (you asked) | incoming (they asked) | blocked (by you)
    since: int  # unix seconds


class Person(msgspec.Struct):
    id: str
    username: str
    display_name: str
    erased: bool  # the account was deleted: its name is gone


async def export_account(users: Users, user_id: str, sink: ExportSink) -> None:
    db, keys = users.node.db, users.keys
    me = await users.me(user_id)
    last_ip = await db.fetchval("SELECT last_ip_ct FROM users_accounts WHERE id = ?", (user_id,))
    links = [
        OAuthLink(provider=r["provider"], linked_at=r["created_at"])
        for r in await queries.oauth_links(db, user_id, oldest_first=True)
    ]
    sessions = [
        SessionRecord(
            id=r["id"], created_at=r["created_at"], last_used_at=r["last_used_at"],
            expires_at=r["expires_at"], revoked_at=r["revoked_at"], user_agent=r["user_agent"],
            ip=keys.open(r["ip_ct"]),
        )
        for r in await queries.all_sessions(db, user_id)
    ]  # fmt: skip
    # The account's own security history (sign-ins, changes); who else acted and why stays out.
    log: list[SecurityEvent] = []
    after = 0
    while True:
        rows = await queries.own_audit_page(db, user_id, after, PAGE)
        log += [SecurityEvent(at=r["at"], action=r["action"], ip=keys.open(r["ip_ct"])) for r in rows]
        if len(rows) < PAGE:
            break
        after = rows[-1]["id"]
    account = Account(
        account=me, last_sign_in_ip=keys.open(last_ip), oauth_links=links, sessions=sessions, security_log=log
    )
    await sink.write_json("account.json", account)
    sink.describe(
        "account.json",
        "Your account: profile, email address, settings (two-factor sign-in, admin), linked sign-in"
        " providers, the devices signed in with it (with their addresses) and its security log.",
    )
    rels = await queries.own_relationships(db, user_id)
    sink.mention(*(r["other_id"] for r in rels))
    await sink.write_json(
        "relationships.json",
        [Relationship(user_id=r["other_id"], type=r["type"], since=r["created_at"]) for r in rels],
    )
    sink.describe("relationships.json", "Your friends, friend requests and the people you block.")
    await sink.advance(1 + len(sessions) + len(log) + len(rels))


async def finish(users: Users, sink: ExportSink) -> None:
    """people.json and README.txt, once every plugin wrote its part."""
    ids = sorted(sink.people)
    people: list[Person] = []
    for i in range(0, len(ids), PAGE):
        chunk = ids[i : i + PAGE]
        rows = await queries.public_names(users.node.db, chunk)
        people += [
            Person(
                id=r["user_id"], username="" if r["erased"] else r["username"],
                display_name="" if r["erased"] else r["display_name"], erased=bool(r["erased"]),
            )
            for r in rows
        ]  # fmt: skip
    await sink.write_json("people.json", people)
    sink.describe(
        "people.json",
        "The public names of the other people these files mention by id (DM participants, friends):"
        " what anyone on the node can see of them.",
    )
    await sink.write_text("README.txt", readme(users, sink))


def readme(users: Users, sink: ExportSink) -> str:
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(users.node.clock.time()))
    lines = [
        "Your data from the CRYB node at " + users.node.config.base_url,
        f"Prepared {made} for user id {sink.user_id}.",
        "",
        "The .json files are UTF-8 JSON. Times are Unix time: `created_at` of messages, posts,",
        "comments and uploads in milliseconds, of the account, sessions and relationships in seconds.",
        "Ids link the files together (a message's `attachments` are ids in media.json).",
        "Things you deleted are not here: their text was erased, on this node and on the nodes it",
        "shared them with.",
        "",
    ]
    for name, text in sink.descriptions:
        lines += [name, *_wrap(text, 92), ""]
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, initial_indent="    ", subsequent_indent="    ")
