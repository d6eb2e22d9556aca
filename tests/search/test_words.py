"""Issue 22, acceptance 2: prefixes and phrases match the words as written (an unstemmed field);
plain words are stemmed. Chosen words whose stems differ from their prefixes: "connection" and
"connected" both stem to "connect", "generalization" to "general", "generous" to "generous"."""

import pytest

from tests.search.conftest import found, indexed, ok, say

TEXTS = {
    "connection": "the connection was refused twice",
    "connected": "we connected late in the evening",
    "generalization": "a generalization of the rule",
    "generous": "a generous host",
    "general": "the general meeting",
}


@pytest.fixture
async def words(world):
    c, sp = world.client, world.space
    ids = {name: await say(c, sp.member, sp.text, text) for name, text in TEXTS.items()}
    post = await ok(
        c, "POST", f"/channels/{sp.forum}/posts", sp.member, json={"title": "Garden tools", "body": "rakes"}
    )
    ids["post"] = post["id"]
    await indexed(c)
    return world, ids


async def _names(world, ids, q):
    body = await found(world.client, world.space.owner, q, limit=50)
    back = {v: k for k, v in ids.items()}
    return {back[r["id"]] for r in body["results"]}


@pytest.mark.parametrize(
    ("q", "want"),
    [
        ("connecti*", {"connection"}),  # the stem "connect" has no "i": a stemmed prefix found nothing
        ("connection*", {"connection"}),  # never "connected", which only shares the stem
        ("connect*", {"connection", "connected"}),
        ("generali*", {"generalization"}),
        ("gener*", {"generalization", "generous", "general"}),  # every word starting so, as written
        ("generou*", {"generous"}),
        ("gen?ral", {"general"}),
        ("ge*al", {"general"}),
    ],
)
async def test_prefixes_and_wildcards_match_words_as_written(words, q, want):
    world, ids = words
    assert await _names(world, ids, q) == want


@pytest.mark.parametrize(
    ("q", "want"),
    [
        ("connect", {"connection", "connected"}),  # plain words are stemmed
        ("connections", {"connection", "connected"}),
        ("generalizations", {"generalization", "general"}),  # porter2: both stem to "general"
        ("generously", {"generous"}),
    ],
)
async def test_plain_words_are_stemmed(words, q, want):
    world, ids = words
    assert await _names(world, ids, q) == want


@pytest.mark.parametrize(
    ("q", "want"),
    [
        ('"we connected"', {"connected"}),
        ('"we connect"', set()),  # a phrase is the words as written, not their stems
        ('"connected late"', {"connected"}),
        ('"the connection"', {"connection"}),  # stop words count inside a phrase
        ('"a generous host"', {"generous"}),
        ('"generous hosts"', set()),
        ('"tools rakes"', set()),  # a phrase never runs from a post's title into its body
        ('"garden tools"', {"post"}),
    ],
)
async def test_phrases_match_words_as_written(words, q, want):
    world, ids = words
    assert await _names(world, ids, q) == want


async def test_a_prefix_hit_is_highlighted_where_the_word_is(words):
    world, ids = words
    body = await found(world.client, world.space.owner, "connecti*")
    assert body["results"][0]["snippet"] == "the <mark>connection</mark> was refused twice"
    body = await found(world.client, world.space.owner, '"we connected"')
    assert body["results"][0]["snippet"] == "<mark>we</mark> <mark>connected</mark> late in the evening"
    body = await found(world.client, world.space.owner, "connections")
    marked = {r["id"]: r["snippet"] for r in body["results"]}
    assert marked[ids["connected"]] == "we <mark>connected</mark> late in the evening"
