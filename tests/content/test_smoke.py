from tests.content.conftest import ok


async def test_member_sends_and_reads_a_message(space):
    c = space.client
    sent = await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "hello"})
    page = await ok(c, "GET", f"/channels/{space.text}/messages", space.owner)
    assert [m["content"] for m in page["messages"]] == ["hello"]
    assert page["messages"][0]["id"] == sent["id"]
