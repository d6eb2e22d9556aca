"""Every search example in the README's Search section, run as written against a small corpus with
users alice and bob, a #general channel and a public "Book club" that bob (who searches) has not
joined. A code span added to the section must be listed here, as a query with what it finds or as
something else, or this test fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.content.conftest import User, new_user, ok
from tests.media.conftest import png_with_alpha, upload_ok
from tests.search.conftest import found, indexed, say
from tests.users_fixtures import register_user

README = Path(__file__).resolve().parents[2] / "README.md"

# Query -> the documents bob finds with it (names below).
GARDEN = {"report", "party", "novel", "photo", "tools"}
MESSAGES = {"report", "party", "novel", "cats", "photo", "broken", "connection", "meeting"}
PEOPLE_AND_COMMUNITIES = {"user:alice", "user:bob", "community:space", "community:Book club"}
EVERYTHING = MESSAGES | {"tools"} | PEOPLE_AND_COMMUNITIES
EXPECTED: dict[str, set[str]] = {
    "garden": GARDEN,
    "gardens": GARDEN,
    "gardening": GARDEN,
    '"garden report"': {"report"},
    "repo*": {"report", "broken"},
    "connecti*": {"connection"},
    "connection*": {"connection"},
    "gen?ral": {"meeting"},
    "from:alice": {"report", "novel", "cats", "tools", "connection", "meeting"},
    "from:alice@other.example": set(),  # no user of another node is called alice here
    "mentions:bob": {"cats"},
    "in:#general": MESSAGES,  # both #general channels: space's and Book club's
    "in:general": MESSAGES,
    'community:"Book club"': {"novel", "community:Book club"},
    "has:link": {"party", "tools"},
    "has:file": {"photo"},
    "has:image": {"photo"},
    "has:video": set(),
    "has:audio": set(),
    "has:embed": {"tools"},
    "pinned:true": {"report"},
    "pinned:false": MESSAGES - {"report"} | {"tools"},
    "is:post": {"tools"},
    "is:message": MESSAGES,
    "is:comment": set(),
    "is:user": {"user:alice", "user:bob"},
    "is:community": {"community:space", "community:Book club"},
    # The corpus is written today, so the README's 2024 dates find nothing before or during them.
    "before:2024-05-01": set(),
    "after:2024-04-01": EVERYTHING,
    "during:2024-05-01": set(),
    "during:2024-05": set(),
    "during:2024": set(),
    "garden NOT has:link": {"report", "novel", "photo"},
    "party OR novel": {"party", "novel"},
    "garden (from:alice OR in:#general)": {"report", "party", "novel", "photo", "tools"},
    "from:alice cats OR dogs": {"cats"},
    "NOT in:#general": {"tools"},
}
# Code spans of the section that are not queries (an API path, words shown in a description,
# operator names, parameters and names checked by other tests).
NOT_QUERIES = {
    "GET /api/v1/search?q=…&sort=relevance|new|old",
    "?",
    "*",
    "from:",
    "mentions:",
    "in:",
    "has:",
    "pinned:",
    "is:",
    "sort=new",  # test_readme_sort_parameters
    "sort=old",
    "@name",  # tests/search/test_snippets.py
    "@role",
    "#channel",
    "#unknown-channel",
    "data/search/",
    '"partial": true',  # tests/search/test_ready.py
    "cryb search reindex",  # tests/search/test_cli.py
    "cryb search stats",
}


def readme_spans() -> set[str]:
    text = README.read_text()
    section = text[text.index("### Search\n") : text.index("Permissions are checked inside each query")]
    return set(re.findall(r"`([^`]+)`", section))


def test_every_code_span_of_the_readme_search_section_is_known():
    spans = readme_spans()
    assert spans - NOT_QUERIES - set(EXPECTED) == set(), "README examples this test does not run"
    assert set(EXPECTED) - spans == set(), "queries here that the README no longer shows"


async def _user(client, name: str) -> User:
    return User(*await register_user(client, name))


@pytest.fixture
async def corpus(sc):
    c = sc
    alice, bob = await _user(c, "alice"), await _user(c, "bob")
    space = await ok(c, "POST", "/communities", alice, json={"name": "space", "public": True})
    chans = await ok(c, "GET", f"/communities/{space['id']}/channels", alice)
    general = next(ch["id"] for ch in chans["channels"] if ch["kind"] == "text")
    forum = await ok(
        c, "POST", f"/communities/{space['id']}/channels", alice, json={"name": "forum", "kind": "forum"}
    )
    await ok(c, "PUT", f"/communities/{space['id']}/members/@me", bob, json={})
    book = await ok(c, "POST", "/communities", alice, json={"name": "Book club", "public": True})
    chans = await ok(c, "GET", f"/communities/{book['id']}/channels", alice)
    book_general = next(ch["id"] for ch in chans["channels"] if ch["kind"] == "text")
    photo = await upload_ok(c, bob.token, png_with_alpha(24, 24), filename="photo.png")
    ids = {
        "report": await say(c, alice, general, "the garden report is ready"),
        "party": await say(c, bob, general, "garden party at https://example.test/party"),
        "novel": await say(c, alice, book_general, "a novel about a garden"),
        "cats": await say(c, alice, general, f"cats and puppies for <@{bob.id}>"),
        "photo": await say(c, bob, general, "gardening photo", attachments=[photo["id"]]),
        "broken": await say(c, bob, general, "reporting the broken gate"),
        "connection": await say(c, alice, general, "the connection was refused, we connected later"),
        "meeting": await say(c, alice, general, "the general meeting"),
    }
    link_post = {"title": "Garden tools", "body": "rakes", "url": "https://example.test/tools"}
    post = await ok(c, "POST", f"/channels/{forum['id']}/posts", alice, json=link_post)
    ids["tools"] = post["id"]
    await ok(c, "PUT", f"/channels/{general}/pins/{ids['report']}", alice)
    await indexed(c)
    names = {v: k for k, v in ids.items()}
    names.update({alice.id: "user:alice", bob.id: "user:bob", space["id"]: "community:space",
                  book["id"]: "community:Book club"})  # fmt: skip
    # A stranger makes sure user documents of unrelated people do not creep into the expectations.
    await new_user(c)
    return c, bob, names


async def test_every_readme_search_example_finds_what_the_readme_says(corpus):
    c, bob, names = corpus
    wrong = []
    for q, want in EXPECTED.items():
        body = await found(c, bob, q, limit=50)
        got = {names.get(r["id"], f"{r['kind']}:other") for r in body["results"]}
        got.discard("user:other")  # the stranger's profile (matched by after: and is:user)
        if got != want:
            wrong.append((q, sorted(got), sorted(want)))
    assert wrong == []


async def test_readme_sort_parameters(corpus):
    c, bob, names = corpus
    new = [names[r["id"]] for r in (await found(c, bob, "garden", sort="new"))["results"]]
    old = [names[r["id"]] for r in (await found(c, bob, "garden", sort="old"))["results"]]
    assert new == ["tools", "photo", "novel", "party", "report"] and old == new[::-1]
    # Without words, relevance means nothing: newest first.
    plain = [names[r["id"]] for r in (await found(c, bob, "has:link"))["results"]]
    assert plain == ["tools", "party"]


DOCS = Path(__file__).resolve().parents[2] / "docs" / "search.md"


def _shape(node):
    """A tree without the positions of words and the numbers of operators."""
    from cryb_plugins.search.syntax import And, Not, Op, Or, Word

    if isinstance(node, Word):
        return ("word", node.text)
    if isinstance(node, Op):
        return ("op", node.name, node.value, node.lo, node.hi)
    if isinstance(node, Not):
        return ("not", _shape(node.item))
    if isinstance(node, (And, Or)):
        return (type(node).__name__, tuple(_shape(i) for i in node.items))
    return node


def test_docs_precedence_example_groups_as_documented():
    from cryb_plugins.search.syntax import parse

    said = parse("garden from:alice OR from:bob NOT has:link")
    meant = parse("garden AND (from:alice OR from:bob) AND NOT has:link")
    assert _shape(said.tree) == _shape(meant.tree)
    # The README's own example: alice's messages about cats or dogs.
    assert _shape(parse("from:alice cats OR dogs").tree) == _shape(parse("from:alice (cats OR dogs)").tree)


async def test_docs_search_query_examples_run(corpus):
    c, bob, _ = corpus
    text = DOCS.read_text()
    table = text[text.index("| Query | Means |") : text.index("| Operator | Values | Matches |")]
    examples = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    assert len(examples) == 5
    for q in examples:
        await found(c, bob, q)  # a 200
