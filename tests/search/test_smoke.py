from tests.search.conftest import found, indexed, say


async def test_a_member_finds_a_message_by_a_stemmed_word(world):
    c, sp = world.client, world.space
    mid = await say(c, sp.member, sp.text, "We are planning the summer festival")
    await indexed(c)
    body = await found(c, sp.owner, "plans festivals")
    assert [r["id"] for r in body["results"]] == [mid]
    assert "<mark>" in body["results"][0]["snippet"]
    print(body)
