"""Issue 22, acceptance 3: snippets read like the message does in the app: a user mention as @name,
a role mention as @role, a channel as #name, rendered when the search runs (so a rename shows at
once), and a channel the reader cannot see never named."""

from tests.search.conftest import found, indexed, ok, say


async def _setup(world):
    c, sp = world.client, world.space
    role = await ok(c, "POST", f"/communities/{sp.community}/roles", sp.owner, json={"name": "Gardeners"})
    text = (
        f"seedlings for <@{sp.member.id}> and <@&{role['id']}> in <#{sp.text}>,"
        f" see <#{world.secret}> and <@{'0' * 26}>"
    )
    msg = await say(c, sp.owner, sp.text, text)
    await indexed(c)
    member_name = (await ok(c, "GET", "/users/@me", sp.member))["username"]
    return role, msg, member_name


async def test_mentions_of_users_roles_and_channels_show_names(world):
    _role, msg, member_name = await _setup(world)
    body = await found(world.client, world.space.member, "seedlings")
    (hit,) = body["results"]
    assert hit["id"] == msg
    assert hit["snippet"] == (
        f"<mark>seedlings</mark> for @{member_name} and @Gardeners in #general,"
        " see #unknown-channel and @unknown-user"
    )
    assert "<@" not in hit["snippet"] and "&lt;@" not in hit["snippet"]


async def test_a_channel_the_reader_may_see_is_named(world):
    await _setup(world)
    (hit,) = (await found(world.client, world.insider, "seedlings"))["results"]
    assert "see #secret and" in hit["snippet"]


async def test_renaming_a_role_or_channel_shows_in_the_next_search(world):
    role, _msg, _ = await _setup(world)
    c, sp = world.client, world.space
    await ok(
        c, "PATCH", f"/communities/{sp.community}/roles/{role['id']}", sp.owner, json={"name": "Growers"}
    )
    await ok(c, "PATCH", f"/channels/{sp.text}", sp.owner, json={"name": "lobby"})
    (hit,) = (await found(c, sp.member, "seedlings"))["results"]
    assert "and @Growers in #lobby," in hit["snippet"], hit["snippet"]


async def test_a_mention_of_the_word_searched_is_found_by_mentions_not_by_its_id(world):
    _role, msg, member_name = await _setup(world)
    c, sp = world.client, world.space
    assert [r["id"] for r in (await found(c, sp.owner, f"mentions:{member_name}"))["results"]] == [msg]
    assert (await found(c, sp.owner, sp.member.id))["total"] == 0  # the raw token is not a word
