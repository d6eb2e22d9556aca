"""Whatever is typed into the search box, the parser answers with a tree or a 400 naming ``q``: no
other exception, and every tree builds into an FTS5 MATCH expression that FTS5 accepts (or nothing
to search for), run here against a real index file."""

import pytest
from cryb_plugins.search import searching
from cryb_plugins.search.build import NOTHING, Match, marks, whole
from cryb_plugins.search.documents import Doc
from cryb_plugins.search.searching import Scope
from cryb_plugins.search.store import Store
from cryb_plugins.search.syntax import parse
from hypothesis import given, settings
from hypothesis import strategies as st

from cryb_node.problems import Problem

PIECES = st.sampled_from(
    ["garden", "Garden", "AND", "OR", "NOT", "(", ")", '"', "from:", "from:al", "in:#g", 'in:"a b"',
     "has:link", "has:x", "is:post", "pinned:false", "during:2024-05", "before:2024-05-01",
     "after:2024", "mentions:@b", "re*", "r*", "a?c", "*", "?", "https://x.test/a?b=(1)", "<@",
     "01m8aaaaaaaaaaaaaaaaaaaaaa", "é", "-", ":", "x:y", "", " ", "gar*en", "NEAR", "^", "{x}"]
)  # fmt: skip


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    store = Store.create(tmp_path_factory.mktemp("ix"))
    store.write(
        [Doc(kind="message", id="m1", channel="c1", time=1_700_000_000_000, body="garden gate")], [], [], None
    )
    readers = searching.Readers()
    c = readers.get(store.path)
    yield c
    c.close()
    store.close()


def _runs(conn, parsed) -> None:
    ops = {op.n: ["kmessage"] for op in parsed.ops}
    built = whole(parsed, ops, expand=lambda p: searching.expand(conn, p))
    assert built is None or built is NOTHING or isinstance(built, Match)
    if isinstance(built, Match):
        for sort in ("new", "relevance"):
            searching.run(conn, built, Scope(frozenset({"c1"}), frozenset()), sort=sort, has_text=True,
                          offset=0, limit=5, facets=True)  # fmt: skip
    marks(parsed)


@settings(max_examples=600, deadline=None)
@given(st.lists(PIECES, max_size=12), st.sampled_from([" ", "", "  "]))
def test_any_query_is_a_tree_or_a_400(conn, pieces, sep):
    q = sep.join(pieces)
    try:
        parsed = parse(q)
    except Problem as err:
        assert err.status == 400 and err.field == "q"
        return
    _runs(conn, parsed)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_tree_or_a_400(conn, q):
    try:
        parsed = parse(q)
    except Problem as err:
        assert err.status == 400 and err.field == "q"
        return
    _runs(conn, parsed)
