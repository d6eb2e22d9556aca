"""Users from other nodes are shown as name@home and never take a local user's bare name (issue 19).

Two real nodes: b's users (made through b's own API, as an honest peer would) join a community of
a's; a shows them with their home (b's host, from a's pin of b) in profiles, member lists and
search, and a bare name always means a's own user.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.search.conftest import indexed
from tests.sync.conftest import Fed, User, federation, make_community  # noqa: F401  (the fixture)
from tests.users_fixtures import register_user


async def _named(fed: Fed, name: str, **extra) -> User:
    return User(*await register_user(fed.client, name, **extra))


async def _setup(federation):  # noqa: F811
    a, b = await federation(2)
    owner = await _named(a, "owner")
    cid, text = await make_community(a, owner)
    await b.session(a)
    return a, b, owner, cid, text, urlsplit(b.url).netloc


async def _search(fed: Fed, user: User, q: str) -> list[dict]:
    await indexed(fed.client)
    return (await fed.ok("GET", "/search", user, params={"q": q}))["results"]


async def test_a_remote_user_is_shown_with_its_home(federation) -> None:  # noqa: F811
    a, b, owner, cid, _text, home = await _setup(federation)
    carol = await _named(b, "carol", display_name="Carol")
    await b.ok("PUT", f"/communities/{cid}/members/@me", carol, json={})
    await a.session(b)
    prof = await a.ok("GET", f"/users/{carol.id}", owner)
    assert (prof["username"], prof["home"]) == ("carol", home)
    assert "home" not in await a.ok("GET", f"/users/{owner.id}", owner)
    members = {m["user_id"]: m for m in (await a.ok("GET", f"/communities/{cid}/members", owner))["members"]}
    assert members[carol.id]["home"] == home and members[owner.id]["home"] is None
    # a name unique among a's users resolves bare, and with its home
    assert (await a.ok("GET", "/users/by-name/carol", owner))["id"] == carol.id
    assert (await a.ok("GET", f"/users/by-name/carol@{home}", owner))["id"] == carol.id
    status, _ = await a.call("GET", "/users/by-name/carol@elsewhere.example", owner)
    assert status == 404
    hits = [h for h in await _search(a, owner, "carol") if h["kind"] == "user"]
    assert [(h["id"], h["author"]) for h in hits] == [(carol.id, f"carol@{home}")]
    await a.ok("PUT", f"/users/@me/friends/{carol.id}", owner)
    rels = (await a.ok("GET", "/users/@me/relationships", owner))["relationships"]
    assert [(r["username"], r["home"]) for r in rels] == [("carol", home)]
    # on its own home the same user is plain "carol"
    assert "home" not in await b.ok("GET", f"/users/{carol.id}", carol)


async def test_a_remote_user_never_takes_a_local_bare_name(federation) -> None:  # noqa: F811
    a, b, owner, cid, text, home = await _setup(federation)
    twin = await _named(b, "owner")  # b's own "owner": a different person on another node
    await b.ok("PUT", f"/communities/{cid}/members/@me", twin, json={})
    await b.session(a)
    await b.ok("POST", f"/channels/{text}/messages", twin, json={"content": "hello from b"})
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "hello from a"})
    await a.session(b)
    # the peer's user is stored (it exists on its home) but is owner@home here
    assert (await a.ok("GET", f"/users/{twin.id}", owner))["home"] == home
    assert (await a.ok("GET", "/users/by-name/owner", owner))["id"] == owner.id
    assert (await a.ok("GET", "/users/by-name/OWNER", owner))["id"] == owner.id
    assert (await a.ok("GET", f"/users/by-name/owner@{home}", owner))["id"] == twin.id
    hits = [h for h in await _search(a, owner, "owner") if h["kind"] == "user"]
    assert sorted((h["id"], h["author"]) for h in hits) == sorted(
        [(owner.id, "owner"), (twin.id, f"owner@{home}")]
    )
    said = await _search(a, owner, "from:owner hello")
    assert [(h["author_id"], h["author"]) for h in said] == [(owner.id, "owner")]
    said = await _search(a, owner, f"from:owner@{home} hello")
    assert [(h["author_id"], h["author"]) for h in said] == [(twin.id, f"owner@{home}")]
    members = {
        m["user_id"]: m["home"] for m in (await a.ok("GET", f"/communities/{cid}/members", owner))["members"]
    }
    assert members == {owner.id: None, twin.id: home}


async def test_a_bare_name_held_by_users_of_two_other_nodes_needs_its_home(federation) -> None:  # noqa: F811
    a, b, c = await federation(3)
    viewer = await a.user()
    dave_b, dave_c = await _named(b, "dave"), await _named(c, "dave")
    await a.session(b)
    await a.session(c)
    status, body = await a.call("GET", "/users/by-name/dave", viewer)
    assert (status, body["code"]) == (409, "name_ambiguous"), body
    for fed, dave in ((b, dave_b), (c, dave_c)):
        home = urlsplit(fed.url).netloc
        assert (await a.ok("GET", f"/users/by-name/dave@{home}", viewer))["id"] == dave.id
        assert (await a.ok("GET", f"/users/by-name/dave@{fed.key.hex()}", viewer))["id"] == dave.id
