"""Acceptance 1: a private-channel message never reaches a member without VIEW_CHANNEL, in results,
counts, facets, snippets or suggestions; access is checked at search time, not at index time."""

from cryb_node.services import Perm
from tests.search.conftest import found, indexed, ok, say


async def _seed(world):
    c, sp = world.client, world.space
    public = await say(c, sp.member, sp.text, "zephyr forecast for the weekend")
    private = await say(c, world.insider, world.secret, "zephyr launch codes are in the vault")
    await indexed(c)
    return public, private


async def test_private_message_is_not_in_results_counts_or_facets_for_an_outsider(world):
    public, _private = await _seed(world)
    body = await found(world.client, world.space.member, "zephyr")
    assert [r["id"] for r in body["results"]] == [public]
    assert body["total"] == 1
    assert [f["value"] for f in body["facets"]["channel"]] == [world.space.text]
    assert body["facets"]["channel"][0]["count"] == 1
    assert body["facets"]["kind"] == [{"value": "message", "count": 1}]
    assert body["facets"]["community"][0]["count"] == 1
    assert "launch" not in str(body) and "vault" not in str(body) and world.secret not in str(body)


async def test_the_insider_with_an_allow_overwrite_finds_both(world):
    public, private = await _seed(world)
    body = await found(world.client, world.insider, "zephyr")
    assert {r["id"] for r in body["results"]} == {public, private}
    assert body["total"] == 2
    assert {f["value"] for f in body["facets"]["channel"]} == {world.space.text, world.secret}


async def test_a_word_only_in_a_private_channel_finds_nothing_and_suggests_nothing(world):
    await _seed(world)
    c, member = world.client, world.space.member
    for q in ("vault", "launch codes", '"launch codes"', "vau*", "in:#secret zephyr", "in:secret"):
        body = await found(c, member, q)
        assert body["total"] == 0 and body["results"] == [], q
        assert all(not v for v in body["facets"].values()), q
        assert "suggestion" not in body, q
    # A misspelling whose only correction lives in the private channel is not corrected.
    assert "suggestion" not in await found(c, member, "vaulx")
    assert (await found(c, world.insider, "vaulx"))["suggestion"] == "vault"


async def test_losing_view_channel_hides_results_at_once_without_reindexing(world):
    public, _private = await _seed(world)
    c, owner = world.client, world.space.owner
    await ok(
        c,
        "PUT",
        f"/channels/{world.secret}/overwrites/member/{world.insider.id}",
        owner,
        json={"deny": int(Perm.VIEW_CHANNEL)},
    )
    body = await found(c, world.insider, "zephyr")
    assert [r["id"] for r in body["results"]] == [public]


async def test_read_history_is_needed_too(world):
    public, _private = await _seed(world)
    c, owner = world.client, world.space.owner
    await ok(
        c,
        "PUT",
        f"/channels/{world.secret}/overwrites/member/{world.insider.id}",
        owner,
        json={"allow": int(Perm.VIEW_CHANNEL), "deny": int(Perm.READ_HISTORY)},
    )
    body = await found(c, world.insider, "zephyr")
    assert [r["id"] for r in body["results"]] == [public]


async def test_a_non_member_finds_a_public_communitys_content_but_never_a_private_channels(world):
    """Search covers what you can read: a public community's channels are readable without joining
    (read-only), so its content is found; the permission filter is still per channel."""
    from tests.search.conftest import new_user

    public, _private = await _seed(world)
    c = world.client
    stranger = await new_user(c)
    body = await found(c, stranger, "zephyr")
    assert [r["id"] for r in body["results"]] == [public] and body["total"] == 1
    assert [f["value"] for f in body["facets"]["channel"]] == [world.space.text]
    assert "launch" not in str(body) and world.secret not in str(body)
    for q in ("vault", '"launch codes"', "in:#secret", "zephyr in:secret", "NOT in:#general"):
        assert (await found(c, stranger, q))["total"] == 0, q
    body = await found(c, stranger, "is:community space")
    assert [r["id"] for r in body["results"]] == [world.space.community]


async def test_a_private_community_stays_hidden_from_non_members(world):
    from tests.search.conftest import new_user

    c, owner = world.client, world.space.owner
    hidden = await ok(c, "POST", "/communities", owner, json={"name": "Hideout", "public": False})
    chans = await ok(c, "GET", f"/communities/{hidden['id']}/channels", owner)
    text = next(ch["id"] for ch in chans["channels"] if ch["kind"] == "text")
    await say(c, owner, text, "quasar meeting notes")
    await indexed(c)
    stranger = await new_user(c)
    assert (await found(c, owner, "quasar"))["total"] == 1
    assert (await found(c, stranger, "quasar"))["total"] == 0
    assert (await found(c, stranger, "hideout"))["total"] == 0  # nor the community itself


async def test_a_member_banned_from_a_public_community_no_longer_finds_its_content(world):
    public, _private = await _seed(world)
    c, sp = world.client, world.space
    outsider = await sp.join()
    assert [r["id"] for r in (await found(c, outsider, "zephyr"))["results"]] == [public]
    await ok(c, "PUT", f"/communities/{sp.community}/bans/{outsider.id}", sp.owner, json={})
    assert (await found(c, outsider, "zephyr"))["total"] == 0


async def test_snippets_are_escaped_html(world):
    c, sp = world.client, world.space
    await say(c, sp.member, sp.text, "<script>alert(1)</script> quokka & <b>friends</b>")
    await indexed(c)
    body = await found(c, sp.owner, "quokka")
    snippet = body["results"][0]["snippet"]
    assert "<mark>quokka</mark>" in snippet
    bare = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare
    assert "script&gt;alert(1)&lt;/script&gt;" in bare and "&amp; &lt;b&gt;friends" in bare
