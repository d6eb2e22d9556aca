"""Whatever is typed into the search box, the parser answers with a tree or a 400 naming ``q``: no
other exception, and every tree builds into a Whoosh query (or nothing to search for)."""

from cryb_plugins.search.build import NOTHING, marks, whole
from cryb_plugins.search.query import parse
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from cryb_node.problems import Problem

PIECES = st.sampled_from(
    ["garden", "Garden", "AND", "OR", "NOT", "(", ")", '"', "from:", "from:al", "in:#g", 'in:"a b"',
     "has:link", "has:x", "is:post", "pinned:false", "during:2024-05", "before:2024-05-01",
     "after:2024", "mentions:@b", "re*", "r*", "a?c", "*", "?", "https://x.test/a?b=(1)", "<@",
     "01m8aaaaaaaaaaaaaaaaaaaaaa", "é", "-", ":", "x:y", "", " "]
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(PIECES, max_size=12), st.sampled_from([" ", "", "  "]))
def test_any_query_is_a_tree_or_a_400(pieces, sep):
    q = sep.join(pieces)
    try:
        parsed = parse(q)
    except Problem as err:
        assert err.status == 400 and err.field == "q"
        return
    ops = {op.n: wq.Term("kind", "message") for op in parsed.ops}
    built = whole(parsed, ops)
    assert built is None or built is NOTHING or isinstance(built, wq.Query)
    marks(parsed)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_tree_or_a_400(q):
    try:
        parsed = parse(q)
    except Problem as err:
        assert err.status == 400 and err.field == "q"
        return
    whole(parsed, {op.n: None for op in parsed.ops})
