"""Acceptance 4: every operator of the query language, phrases, prefixes, paging, sorting and
suggestions; malformed queries are a 400 naming ``q`` with a message, never a 500."""

import datetime as dt

import pytest

from cryb_node.appkeys import NODE
from tests.search.conftest import found, indexed, make_world, ok, say, search


@pytest.fixture
async def corpus(sc):
    world = await make_world(sc)
    c, sp = sc, world.space
    other = await ok(c, "POST", "/communities", sp.owner, json={"name": "Book Club", "public": True})
    chans = await ok(c, "GET", f"/communities/{other['id']}/channels", sp.owner)
    book_text = next(ch["id"] for ch in chans["channels"] if ch["kind"] == "text")
    ids = {
        "owner_general": await say(c, sp.owner, sp.text, "the quarterly garden report is ready"),
        "member_general": await say(c, sp.member, sp.text, "garden party at https://example.test/party"),
        "owner_book": await say(c, sp.owner, book_text, "next garden novel discussion"),
        "member_report": await say(c, sp.member, sp.text, "reporting the broken gate"),
    }
    post = await ok(
        c, "POST", f"/channels/{sp.forum}/posts", sp.member, json={"title": "Garden tools", "body": "rakes"}
    )
    ids["post"] = post["id"]
    await indexed(c)
    owner_name = (await ok(c, "GET", "/users/@me", sp.owner))["username"]
    return world, ids, owner_name, other["id"]


async def keys(world, q, user=None, **params):
    body = await found(world.client, user or world.space.owner, q, **params)
    return {r["id"] for r in body["results"]}


async def test_from_filters_by_author_username(corpus):
    world, ids, owner_name, _ = corpus
    assert await keys(world, f"garden from:{owner_name}") == {ids["owner_general"], ids["owner_book"]}
    assert await keys(world, f"garden from:@{owner_name.upper()}") == {
        ids["owner_general"],
        ids["owner_book"],
    }
    assert await keys(world, "garden from:nobody_at_all") == set()


async def test_in_filters_by_channel_name(corpus):
    world, ids, _, _ = corpus
    assert await keys(world, "garden in:#general") == {
        ids["owner_general"],
        ids["member_general"],
        ids["owner_book"],
    }
    assert await keys(world, "garden in:#forum") == {ids["post"]}


async def test_community_filters_by_community_name(corpus):
    world, ids, _, _book = corpus
    assert await keys(world, 'garden community:"book club"') == {ids["owner_book"]}
    assert await keys(world, "garden community:space") == {
        ids["owner_general"],
        ids["member_general"],
        ids["post"],
    }


async def test_has_link_and_is_kind(corpus):
    world, ids, _, _ = corpus
    assert await keys(world, "garden has:link") == {ids["member_general"]}
    assert await keys(world, "garden is:post") == {ids["post"]}
    assert await keys(world, "garden is:message", limit=50) == {
        ids["owner_general"],
        ids["member_general"],
        ids["owner_book"],
    }


async def test_has_file_finds_messages_with_attachments(corpus):
    world, _ids, _, _ = corpus
    assert await keys(world, "garden has:file") == set()


async def test_before_and_after_use_the_creation_time(corpus):
    world, ids, _, _ = corpus
    today = dt.datetime.now(dt.UTC).date()
    tomorrow, yesterday = today + dt.timedelta(days=1), today - dt.timedelta(days=1)
    everything = {ids["owner_general"], ids["member_general"], ids["owner_book"], ids["post"]}
    assert await keys(world, f"garden before:{tomorrow}") == everything
    assert await keys(world, f"garden before:{today}") == set()
    assert await keys(world, f"garden after:{yesterday}") == everything
    assert await keys(world, f"garden after:{today}") == set()


async def test_phrases_prefixes_and_boolean_words(corpus):
    world, ids, _, _ = corpus
    assert await keys(world, '"garden report"') == {ids["owner_general"]}
    assert await keys(world, '"report garden"') == set()
    assert await keys(world, "repo*") == {ids["owner_general"], ids["member_report"]}
    assert await keys(world, "garden NOT party is:message") == {ids["owner_general"], ids["owner_book"]}
    assert await keys(world, "party OR novel") == {ids["member_general"], ids["owner_book"]}
    # Stemming: "reports" finds "report" and "reporting".
    assert await keys(world, "reports") == {ids["owner_general"], ids["member_report"]}


async def test_operators_alone_list_newest_first(corpus):
    world, ids, owner_name, _ = corpus
    body = await found(world.client, world.space.owner, f"from:{owner_name} is:message")
    assert [r["id"] for r in body["results"]] == [ids["owner_book"], ids["owner_general"]]


async def test_pages_and_sort_orders(corpus):
    world, ids, _, _ = corpus
    c, owner = world.client, world.space.owner
    first = await found(c, owner, "garden", limit=2, page=1, sort="new")
    second = await found(c, owner, "garden", limit=2, page=2, sort="new")
    assert first["total"] == second["total"] == 4 and first["pages"] == 2
    assert [r["id"] for r in first["results"]] == [ids["post"], ids["owner_book"]]
    assert [r["id"] for r in second["results"]] == [ids["member_general"], ids["owner_general"]]
    old = await found(c, owner, "garden", limit=4, sort="old")
    assert [r["id"] for r in old["results"]] == [
        ids["owner_general"],
        ids["member_general"],
        ids["owner_book"],
        ids["post"],
    ]


async def test_did_you_mean_corrects_a_misspelling(corpus):
    world, _, _, _ = corpus
    body = await found(world.client, world.space.owner, "gardn in:#general")
    assert body["total"] == 0
    assert body["suggestion"] == "garden in:#general"  # the query as written, the word corrected


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('"unclosed phrase', "unbalanced quote"),
        ("(garden", "not closed"),
        ("garden)", "has no ("),
        ("colour:red", "unknown operator"),
        ("from:", "needs a value"),
        ("before:yesterday", "before:"),
        ("after:2024-13-45", "after:"),
        ("before:2024-01-01 after:2024-02-01", "earlier"),
        ("before:2024-01-01 before:2024-02-01", "once"),
        ("has:pictures", "has:"),
        ("is:banana", "is:"),
        ("*arden", "wildcard"),
        ("g*", "wildcard"),
        ("x" * 300, "longer"),
        (" ".join(f"w{i}" for i in range(40)), "terms"),
    ],
)
async def test_malformed_queries_are_400_with_a_message(world, q, words):
    status, body = await search(world.client, world.space.owner, q)
    assert status == 400, body
    assert body["field"] == "q" and words in body["detail"], body


@pytest.mark.parametrize("params", [{"page": "0"}, {"limit": "500"}, {"sort": "random"}, {"page": "x"}])
async def test_bad_paging_parameters_are_400_naming_the_field(world, params):
    status, body = await search(world.client, world.space.owner, "garden", **params)
    assert status == 400 and body["field"] in params, body


async def test_odd_but_valid_input_never_errors(world):
    c, owner = world.client, world.space.owner
    for q in (
        "the and of",
        "AND",
        "OR OR",
        "NOT",
        "https://example.test/x",
        '""',
        "((a))",
        "ünïcödé ✓",
        "a:b://c",
    ):
        status, body = await search(c, owner, q)
        assert status in (200, 400), (q, body)


async def test_search_needs_a_signed_in_user(world):
    resp = await world.client.get("/api/v1/search", params={"q": "garden"})
    assert resp.status == 401


async def test_clicks_and_stats_record_queries_zero_results_and_click_through(corpus):
    world, _ids, _, _ = corpus
    c, owner = world.client, world.space.owner
    hit = await found(c, owner, "garden")
    await found(c, owner, "nonexistentword")
    await ok(
        c,
        "POST",
        "/search/clicks",
        owner,
        json={"query_id": hit["query_id"], "key": hit["results"][0]["key"]},
    )
    _status, _ = await search(c, owner, "garden")  # a plain member may not read stats
    node = c.server.app[NODE]
    from cryb_plugins.search import state_of

    stats = await state_of(node).service.stats()
    assert stats.queries >= 3 and stats.zero_result_queries >= 1 and stats.clicks == 1
    assert [q.q for q in stats.top_zero_result] == ["nonexistentword"]
    resp = await c.get("/api/v1/search/stats", headers=owner.h)
    assert resp.status == 403
    resp = await c.post(
        "/api/v1/search/clicks", headers=owner.h, json={"query_id": "nope", "key": "message:x"}
    )
    assert resp.status == 404
