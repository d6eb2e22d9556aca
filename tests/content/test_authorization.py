"""Every content route x (anonymous, non-member of the public community, member, banned member,
moderator) -> the expected status. All decisions come from the communities plugin's Permissions
service; this checks that each route asks it."""

from __future__ import annotations

import pytest

from cryb_node.services import Perm
from tests.content.conftest import call, make_space, new_user, ok

STANDINGS = ("anonymous", "outsider", "member", "banned", "moderator")


@pytest.fixture
async def world(cc):
    space = await make_space(cc)
    c = space.client
    mod = await space.join()
    role = await ok(c, "POST", f"/communities/{space.community}/roles", space.owner,
                    json={"name": "mods", "perms": int(Perm.MANAGE_MESSAGES)})  # fmt: skip
    await ok(c, "PUT", f"/communities/{space.community}/members/{mod.id}/roles/{role['id']}", space.owner)
    banned = await space.join()
    await ok(c, "PUT", f"/communities/{space.community}/bans/{banned.id}", space.owner, json={})
    hidden = await ok(
        c, "POST", f"/communities/{space.community}/channels", space.owner, json={"name": "staff"}
    )
    await ok(c, "PUT", f"/channels/{hidden['id']}/overwrites/role/{space.community}", space.owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    who = {"anonymous": None, "outsider": await new_user(cc), "member": space.member, "banned": banned,
           "moderator": mod}  # fmt: skip
    return space, who, hidden["id"]


async def fresh(space) -> dict[str, str]:
    """New targets by the owner, so state-changing routes start from the same place each time."""
    c, o = space.client, space.owner
    m = await ok(c, "POST", f"/channels/{space.text}/messages", o, json={"content": "m"})
    p = await ok(c, "POST", f"/channels/{space.forum}/posts", o, json={"title": "p"})
    k = await ok(c, "POST", f"/posts/{p['id']}/comments", o, json={"body": "k"})
    return {"msg": m["id"], "post": p["id"], "comment": k["id"]}


# (method, path, body, expected statuses in STANDINGS order)
MATRIX = [
    ("GET", "/channels/{text}/messages", None, (200, 200, 200, 403, 200)),
    ("GET", "/channels/{text}/messages/{msg}", None, (200, 200, 200, 403, 200)),
    ("POST", "/channels/{text}/messages", {"content": "x"}, (401, 403, 201, 403, 201)),
    ("GET", "/channels/{hidden}/messages", None, (401, 403, 403, 403, 403)),
    ("GET", "/channels/{text}/threads", None, (200, 200, 200, 403, 200)),
    ("GET", "/channels/{hidden}/threads", None, (401, 403, 403, 403, 403)),
    ("POST", "/channels/{hidden}/messages", {"content": "x"}, (401, 403, 403, 403, 403)),
    ("PATCH", "/channels/{text}/messages/{msg}", {"content": "y"}, (401, 403, 403, 403, 403)),
    ("DELETE", "/channels/{text}/messages/{msg}", None, (401, 403, 403, 403, 204)),
    ("GET", "/channels/{text}/messages/{msg}/history", None, (401, 403, 403, 403, 200)),
    ("PUT", "/channels/{text}/pins/{msg}", None, (401, 403, 403, 403, 204)),
    ("POST", "/channels/{text}/messages/{msg}/ack", None, (401, 204, 204, 403, 204)),
    ("PUT", "/messages/{msg}/reactions/👍", None, (401, 403, 204, 403, 204)),
    ("GET", "/channels/{forum}/posts", None, (200, 200, 200, 403, 200)),
    ("GET", "/posts/{post}", None, (200, 200, 200, 403, 200)),
    ("POST", "/channels/{forum}/posts", {"title": "t"}, (401, 403, 201, 403, 201)),
    ("PATCH", "/posts/{post}", {"body": "b"}, (401, 403, 403, 403, 403)),
    ("DELETE", "/posts/{post}", None, (401, 403, 403, 403, 204)),
    ("PUT", "/posts/{post}/vote", {"value": 1}, (401, 403, 200, 403, 200)),
    ("POST", "/posts/{post}/comments", {"body": "c"}, (401, 403, 201, 403, 201)),
    ("GET", "/posts/{post}/comments", None, (200, 200, 200, 403, 200)),
    ("PUT", "/comments/{comment}/vote", {"value": -1}, (401, 403, 200, 403, 200)),
    ("PATCH", "/comments/{comment}", {"body": "b"}, (401, 403, 403, 403, 403)),
    ("DELETE", "/comments/{comment}", None, (401, 403, 403, 403, 204)),
    ("POST", "/posts/{post}/moderation", {"action": "lock"}, (401, 403, 403, 403, 204)),
    ("POST", "/comments/{comment}/moderation", {"action": "remove"}, (401, 403, 403, 403, 204)),
    (
        "POST",
        "/communities/{community}/emojis",
        {"name": "e1", "media_id": "01hzzzzzzzzzzzzzzzzzzzzzzz"},
        (401, 403, 403, 403, 403),
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX]
)
async def test_route_authorization(world, method, path, body, expected):
    space, who, hidden = world
    for standing, want in zip(STANDINGS, expected, strict=True):
        ids = {**await fresh(space), "text": space.text, "forum": space.forum, "hidden": hidden,
               "community": space.community}  # fmt: skip
        status, got = await call(space.client, method, path.format(**ids), who[standing],
                                 **({"json": body} if body is not None else {}))  # fmt: skip
        assert status == want, (standing, got)
