"""The authorization matrix: every community, channel and moderation endpoint x every standing a
caller can have -> the expected status, over HTTP against a real node with real users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cryb_node.services import PERMISSIONS, Perm
from tests.communities.conftest import User, call, new_admin, new_user, ok

PERSONAS = ("anonymous", "non_member", "member", "timed_out", "banned", "moderator", "owner", "node_admin")
MOD_PERMS = int(
    Perm.KICK_MEMBERS
    | Perm.BAN_MEMBERS
    | Perm.MODERATE_MEMBERS
    | Perm.MANAGE_MESSAGES
    | Perm.VIEW_AUDIT_LOG
    | Perm.MANAGE_ROLES
    | Perm.MANAGE_CHANNELS
)


class World:
    """A public community with one user in each standing, plus a low role moderators may manage."""

    async def build(self, client: Any) -> World:
        self.client = client
        self.owner = await new_user(client)
        self.member = await new_user(client)
        self.timed_out = await new_user(client)
        self.banned = await new_user(client)
        self.moderator = await new_user(client)
        self.non_member = await new_user(client)
        self.node_admin = await new_admin(client)
        c = await ok(client, "POST", "/communities", self.owner, json={"name": "Matrix"})
        self.c = c["id"]
        chans = await ok(client, "GET", f"/communities/{self.c}/channels", self.owner)
        self.general = chans["channels"][0]["id"]
        for u in (self.member, self.timed_out, self.banned, self.moderator):
            await ok(client, "PUT", f"/communities/{self.c}/members/@me", u, json={})
        mod = await ok(
            client,
            "POST",
            f"/communities/{self.c}/roles",
            self.owner,
            json={"name": "mods", "perms": MOD_PERMS, "position": 5},
        )
        await ok(
            client, "PUT", f"/communities/{self.c}/members/{self.moderator.id}/roles/{mod['id']}", self.owner
        )
        self.helper = (
            await ok(
                client,
                "POST",
                f"/communities/{self.c}/roles",
                self.owner,
                json={"name": "helper", "position": 1},
            )
        )["id"]
        await ok(
            client,
            "PUT",
            f"/communities/{self.c}/members/{self.timed_out.id}/timeout",
            self.owner,
            json={"duration_s": 3600},
        )
        await ok(
            client, "PUT", f"/communities/{self.c}/bans/{self.banned.id}", self.owner, json={"reason": "spam"}
        )
        return self

    def who(self, persona: str) -> User | None:
        return None if persona == "anonymous" else getattr(self, persona)

    async def fresh_member(self) -> User:
        u = await new_user(self.client)
        await ok(self.client, "PUT", f"/communities/{self.c}/members/@me", u, json={})
        return u

    async def fresh_community(self) -> str:
        return (await ok(self.client, "POST", "/communities", self.owner, json={"name": "Spare"}))["id"]


Setup = Callable[[World, str], Awaitable[tuple[str, str, Any]]]


def fixed(method: str, path: str, body: Any = None) -> Setup:
    async def setup(w: World, persona: str) -> tuple[str, str, Any]:
        return (
            method,
            path.format(c=w.c, ch=w.general, helper=w.helper, member=w.member.id, owner=w.owner.id),
            body,
        )

    return setup


def on_fresh_member(method: str, path: str, body: Any = None) -> Setup:
    async def setup(w: World, persona: str) -> tuple[str, str, Any]:
        u = await w.fresh_member()
        return method, path.format(c=w.c, u=u.id, helper=w.helper), body

    return setup


def on_own_community(
    method: str, path: str, body_of: Callable[[World, str], Awaitable[Any]] | None = None
) -> Setup:
    """Owner and node admin act on a spare community (so the world stays for the others)."""

    async def setup(w: World, persona: str) -> tuple[str, str, Any]:
        cid = await w.fresh_community() if persona in ("owner", "node_admin") else w.c
        body = await body_of(w, cid) if body_of else None
        return method, path.format(c=cid), body

    return setup


async def transfer_body(w: World, cid: str) -> Any:
    u = await new_user(w.client)
    await ok(w.client, "PUT", f"/communities/{cid}/members/@me", u, json={})
    return {"user_id": u.id}


async def _banned_target(w: World, persona: str) -> tuple[str, str, Any]:
    u = await new_user(w.client)
    await ok(w.client, "PUT", f"/communities/{w.c}/bans/{u.id}", w.owner, json={})
    return "DELETE", f"/communities/{w.c}/bans/{u.id}", None


async def _report(w: World, persona: str) -> tuple[str, str, Any]:
    # a fresh target each time: one member's second open report of the same target is refused (409)
    m = await ok(w.client, "POST", f"/channels/{w.general}/messages", w.owner, json={"content": persona})
    r = await ok(
        w.client,
        "POST",
        f"/communities/{w.c}/reports",
        w.member,
        json={"target_type": "message", "target_id": m["id"]},
    )
    return "PATCH", f"/communities/{w.c}/reports/{r['id']}", {"status": "resolved", "action_taken": "warned"}


async def _report_message(w: World, persona: str) -> tuple[str, str, Any]:
    # a real message of the community: a report naming a made-up id is 404 (tests/test_report_targets.py)
    m = await ok(w.client, "POST", f"/channels/{w.general}/messages", w.owner, json={"content": "rude"})
    return "POST", f"/communities/{w.c}/reports", {"target_type": "message", "target_id": m["id"]}


async def _fresh_role(w: World, persona: str) -> tuple[str, str, Any]:
    r = await ok(w.client, "POST", f"/communities/{w.c}/roles", w.owner, json={"name": "tmp", "position": 1})
    return "DELETE", f"/communities/{w.c}/roles/{r['id']}", None


async def _fresh_channel(w: World, persona: str) -> tuple[str, str, Any]:
    ch = await ok(w.client, "POST", f"/communities/{w.c}/channels", w.owner, json={"name": "tmp"})
    return "DELETE", f"/channels/{ch['id']}", None


async def _member_overwrite(w: World, persona: str) -> tuple[str, str, Any]:
    await ok(
        w.client,
        "PUT",
        f"/channels/{w.general}/overwrites/member/{w.member.id}",
        w.owner,
        json={"deny": int(Perm.ATTACH_FILES)},
    )
    return "DELETE", f"/channels/{w.general}/overwrites/member/{w.member.id}", None


async def _invite(w: World, persona: str, method: str = "POST") -> tuple[str, str, Any]:
    inv = await ok(w.client, "POST", f"/communities/{w.c}/invites", w.owner, json={})
    return method, f"/invites/{inv['code']}", None


async def _revoke_invite(w: World, persona: str) -> tuple[str, str, Any]:
    return await _invite(w, persona, "DELETE")


async def _preview_invite(w: World, persona: str) -> tuple[str, str, Any]:
    return await _invite(w, persona, "GET")


async def _automod_rule(w: World, persona: str) -> tuple[str, str, Any]:
    r = await ok(
        w.client,
        "POST",
        f"/communities/{w.c}/automod/rules",
        w.owner,
        json={"name": "w", "kind": "words", "config": {"words": ["zap"]}},
    )
    return "DELETE", f"/communities/{w.c}/automod/rules/{r['id']}", None


RULE = {"name": "no spam", "kind": "words", "config": {"words": ["spam"]}}

#                     anonymous, non_member, member, timed_out, banned, moderator, owner, node_admin
MATRIX: list[tuple[str, Setup, tuple[int, ...]]] = [
    ("list communities", fixed("GET", "/communities"), (200, 200, 200, 200, 200, 200, 200, 200)),
    ("get community", fixed("GET", "/communities/{c}"), (200, 200, 200, 200, 403, 200, 200, 200)),
    (
        "update community",
        fixed("PATCH", "/communities/{c}", {"description": "new"}),
        (401, 403, 403, 403, 403, 403, 200, 200),
    ),
    (
        "delete community",
        on_own_community("DELETE", "/communities/{c}"),
        (401, 403, 403, 403, 403, 403, 204, 204),
    ),
    (
        "transfer community",
        on_own_community("POST", "/communities/{c}/transfer", transfer_body),
        (401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("join", fixed("PUT", "/communities/{c}/members/@me", {}), (401, 200, 409, 409, 403, 409, 409, 200)),
    ("leave", fixed("DELETE", "/communities/{c}/members/@me"), (401, 404, 204, 204, 403, 204, 409, 404)),
    ("list members", fixed("GET", "/communities/{c}/members"), (401, 403, 200, 200, 403, 200, 200, 200)),
    (
        "get member",
        fixed("GET", "/communities/{c}/members/{owner}"),
        (401, 403, 200, 200, 403, 200, 200, 200),
    ),
    (
        "assign role",
        on_fresh_member("PUT", "/communities/{c}/members/{u}/roles/{helper}"),
        (401, 403, 403, 403, 403, 204, 204, 204),
    ),
    (
        "unassign role",
        on_fresh_member("DELETE", "/communities/{c}/members/{u}/roles/{helper}"),
        (401, 403, 403, 403, 403, 204, 204, 204),
    ),
    (
        "kick",
        on_fresh_member("POST", "/communities/{c}/members/{u}/kick", {"reason": "r"}),
        (401, 403, 403, 403, 403, 204, 204, 204),
    ),
    (
        "timeout",
        on_fresh_member("PUT", "/communities/{c}/members/{u}/timeout", {"duration_s": 60}),
        (401, 403, 403, 403, 403, 204, 204, 204),
    ),
    (
        "remove timeout",
        on_fresh_member("DELETE", "/communities/{c}/members/{u}/timeout"),
        (401, 403, 403, 403, 403, 204, 204, 204),
    ),
    ("list bans", fixed("GET", "/communities/{c}/bans"), (401, 403, 403, 403, 403, 200, 200, 200)),
    (
        "ban",
        on_fresh_member("PUT", "/communities/{c}/bans/{u}", {"reason": "r"}),
        (401, 403, 403, 403, 403, 200, 200, 200),
    ),
    ("unban", _banned_target, (401, 403, 403, 403, 403, 204, 204, 204)),
    (
        "report",
        _report_message,
        (401, 403, 201, 201, 403, 201, 201, 201),
    ),
    ("list reports", fixed("GET", "/communities/{c}/reports"), (401, 403, 403, 403, 403, 200, 200, 200)),
    ("resolve report", _report, (401, 403, 403, 403, 403, 200, 200, 200)),
    ("mod log", fixed("GET", "/communities/{c}/modlog"), (403, 403, 403, 403, 403, 200, 200, 200)),
    ("list roles", fixed("GET", "/communities/{c}/roles"), (200, 200, 200, 200, 403, 200, 200, 200)),
    (
        "create role",
        fixed("POST", "/communities/{c}/roles", {"name": "new"}),
        (401, 403, 403, 403, 403, 201, 201, 201),
    ),
    (
        "update role",
        fixed("PATCH", "/communities/{c}/roles/{helper}", {"color": 255}),
        (401, 403, 403, 403, 403, 200, 200, 200),
    ),
    ("delete role", _fresh_role, (401, 403, 403, 403, 403, 204, 204, 204)),
    ("list channels", fixed("GET", "/communities/{c}/channels"), (200, 200, 200, 200, 403, 200, 200, 200)),
    (
        "create channel",
        fixed("POST", "/communities/{c}/channels", {"name": "new"}),
        (401, 403, 403, 403, 403, 201, 201, 201),
    ),
    (
        "reorder channels",
        fixed(
            "PUT",
            "/communities/{c}/channels/positions",
            {"positions": [{"channel_id": "{ch}", "position": 3}]},
        ),
        (401, 403, 403, 403, 403, 200, 200, 200),
    ),
    ("get channel", fixed("GET", "/channels/{ch}"), (200, 200, 200, 200, 403, 200, 200, 200)),
    (
        "update channel",
        fixed("PATCH", "/channels/{ch}", {"topic": "t"}),
        (401, 403, 403, 403, 403, 200, 200, 200),
    ),
    ("delete channel", _fresh_channel, (401, 403, 403, 403, 403, 204, 204, 204)),
    (
        "set overwrite",
        fixed("PUT", "/channels/{ch}/overwrites/role/{helper}", {"deny": int(Perm.ADD_REACTIONS)}),
        (401, 403, 403, 403, 403, 204, 204, 204),
    ),
    ("delete overwrite", _member_overwrite, (401, 403, 403, 403, 403, 204, 204, 204)),
    ("own permissions", fixed("GET", "/channels/{ch}/permissions"), (200, 200, 200, 200, 403, 200, 200, 200)),
    (
        "another's permissions",
        fixed("GET", "/channels/{ch}/permissions?user_id={owner}"),
        (403, 403, 403, 403, 403, 200, 200, 200),
    ),
    (
        "create invite",
        fixed("POST", "/communities/{c}/invites", {}),
        (401, 403, 201, 403, 403, 201, 201, 201),
    ),
    ("list invites", fixed("GET", "/communities/{c}/invites"), (401, 403, 403, 403, 403, 403, 200, 200)),
    ("preview invite", _preview_invite, (200, 200, 200, 200, 200, 200, 200, 200)),
    ("accept invite", _invite, (401, 200, 409, 409, 403, 409, 409, 200)),
    ("revoke invite", _revoke_invite, (401, 403, 403, 403, 403, 403, 204, 204)),
    (
        "list automod rules",
        fixed("GET", "/communities/{c}/automod/rules"),
        (401, 403, 403, 403, 403, 403, 200, 200),
    ),
    (
        "create automod rule",
        fixed("POST", "/communities/{c}/automod/rules", RULE),
        (401, 403, 403, 403, 403, 403, 201, 201),
    ),
    ("delete automod rule", _automod_rule, (401, 403, 403, 403, 403, 403, 204, 204)),
    (
        "post text (automod check)",
        fixed("POST", "/communities/{c}/automod/check", {"text": "hello"}),
        (401, 403, 200, 403, 403, 200, 200, 403),
    ),
]


def _fill(body: Any, w: World) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, w) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, w) for v in body]
    return body.format(ch=w.general) if isinstance(body, str) and "{" in body else body


@pytest.mark.parametrize(("name", "setup", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
async def test_authorization_matrix(cclient, name, setup, expected):
    w = await World().build(cclient)
    got = {}
    for persona in PERSONAS:
        method, path, body = await setup(w, persona)
        kw = {"json": _fill(body, w)} if body is not None else {}
        status, resp = await call(cclient, method, path, w.who(persona), **kw)
        got[persona] = status
        if status >= 400:
            assert resp["code"], resp  # every refusal carries a stable code
    assert got == dict(zip(PERSONAS, expected, strict=True))


async def test_banned_member_cannot_rejoin_read_or_post(cclient):
    w = await World().build(cclient)
    from cryb_node.appkeys import NODE

    status, body = await call(cclient, "PUT", f"/communities/{w.c}/members/@me", w.banned, json={})
    assert (status, body["code"]) == (403, "banned")
    inv = await ok(cclient, "POST", f"/communities/{w.c}/invites", w.owner, json={})
    status, body = await call(cclient, "POST", f"/invites/{inv['code']}", w.banned)
    assert (status, body["code"]) == (403, "banned")
    status, body = await call(cclient, "GET", f"/channels/{w.general}", w.banned)
    assert (status, body["code"]) == (403, "banned")
    # What content and the realtime gateway ask: no bits at all, no visible channels.
    perms = cclient.app[NODE].services.get(PERMISSIONS)
    access = await perms.channel(w.banned.id, w.general)
    assert access is not None and access.perms == 0 and not access.member
    assert await perms.community(w.banned.id, w.c) == 0
    assert await perms.visible_channels(w.banned.id, w.c) == []
    status, body = await call(
        cclient, "POST", f"/communities/{w.c}/automod/check", w.banned, json={"text": "hi"}
    )
    assert status == 403
