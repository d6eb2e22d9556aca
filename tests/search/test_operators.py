"""Issue 22, acceptance 1: every operator alone, negated, OR-ed and inside parentheses, with the
result set it must give on a fixed corpus (tests/search/corpus.py), read by the member M, who may not
read #secret (s1) and has not joined the public Book Club (b1)."""

import pytest

from tests.search.corpus import make_corpus

GARDEN = {"g1", "g2", "g3", "g4", "g5", "b1", "p1"}  # every document M can read with "garden"

ALONE = [
    ("garden", GARDEN),
    ("from:{O}", {"g1", "g5", "b1"}),
    ("from:@{M}", {"g2", "g4", "g6", "g7", "p1"}),
    ("from:nobody_at_all", set()),
    ("in:#general", {"g1", "g2", "g3", "g4", "g5", "g6", "g7", "b1"}),
    ("in:forum", {"p1"}),
    ("in:#secret", set()),  # M cannot read it: naming it finds nothing
    ('community:"book club"', {"b1", "community:book"}),
    ("garden community:space", GARDEN - {"b1"}),
    ("has:link", {"g2", "p1"}),
    ("has:file", {"g4", "g5", "g7"}),
    ("has:attachment", {"g4", "g5", "g7"}),
    ("has:audio", {"g7"}),
    ("has:sound", {"g7"}),
    ("has:image", {"g4"}),
    ("has:video", {"g5"}),
    ("has:embed", {"p1"}),
    ("mentions:{M}", {"g3"}),
    ("mentions:@{M}", {"g3"}),
    ("pinned:true", {"g1"}),
    ("is:post", {"p1"}),
    ("garden is:message", GARDEN - {"p1"}),
    ("garden during:{today}", GARDEN),
    ("garden during:{month}", GARDEN),
    ("garden during:{yesterday}", set()),
    ("garden after:{yesterday}", GARDEN),
    ("garden before:{today}", set()),
    ('"garden report"', {"g1"}),
    ("repo*", {"g1", "g6"}),
]

NEGATED = [
    ("garden NOT has:link", {"g1", "g3", "g4", "g5", "b1"}),
    ("garden NOT from:{O}", {"g2", "g3", "g4", "p1"}),
    ("NOT in:#general", {"p1"}),
    ("garden NOT in:#general", {"p1"}),
    ("garden NOT community:space", {"b1"}),
    ("garden NOT has:file", {"g1", "g2", "g3", "b1", "p1"}),
    ("garden NOT has:image", GARDEN - {"g4"}),
    ("garden NOT has:embed", GARDEN - {"p1"}),
    ("garden NOT mentions:{M}", GARDEN - {"g3"}),
    ("garden NOT pinned:true", GARDEN - {"g1"}),
    ("garden pinned:false", GARDEN - {"g1"}),
    ("garden NOT is:message", {"p1"}),
    ("garden NOT during:{today}", set()),
    ('garden NOT "garden report"', GARDEN - {"g1"}),
    ("garden NOT repo*", GARDEN - {"g1"}),
    ("NOT garden in:#general", {"g6", "g7"}),
    ("garden NOT from:nobody_at_all", GARDEN),
]

ORED = [
    ("broken OR has:link", {"g6", "g2", "p1"}),
    ("party OR novel", {"g2", "b1"}),
    ("from:{O} OR mentions:{M}", {"g1", "g5", "b1", "g3"}),
    ("has:image OR has:video", {"g4", "g5"}),
    ("has:audio OR has:embed", {"g7", "p1"}),
    ("in:#forum OR pinned:true", {"p1", "g1"}),
    ("broken OR from:{I}", {"g6", "g3"}),
    ("garden from:{O} OR from:{I}", {"g1", "g5", "b1", "g3"}),  # OR binds tighter than AND
    ("broken OR from:nobody_at_all", {"g6"}),
    ("is:post OR is:comment", {"p1"}),
]

GROUPED = [
    ("garden (has:link)", {"g2", "p1"}),
    ("(has:image)", {"g4"}),
    ("garden (from:{M} OR in:#forum)", {"g2", "g4", "p1"}),
    ("garden (from:{I} OR in:#general) NOT has:file", {"g1", "g2", "g3", "b1"}),
    ("(party OR novel) from:{O}", {"b1"}),
    ("garden NOT (from:{O} OR has:link)", {"g3", "g4"}),
    ("garden AND (pinned:true OR mentions:{M})", {"g1", "g3"}),
    ("((garden) (NOT (has:file)))", {"g1", "g2", "g3", "b1", "p1"}),
    ('(community:"book club" OR has:embed) garden', {"b1", "p1"}),
]

# The insider reads #secret; the owner reads everything but is no member of nothing hidden here.
OTHER_READERS = [
    ("garden in:#secret", {"s1"}, "I"),
    ("garden NOT in:#general", {"s1", "p1"}, "I"),
    ("garden from:{I}", {"g3", "s1"}, "I"),
    ("in:#secret", set(), "M"),
]


@pytest.fixture
async def corpus(sc, tmp_path):
    return await make_corpus(sc, tmp_path)


async def _mismatches(corpus, table, who="M"):
    out = []
    for row in table:
        q, want = row[0], row[1]
        reader = row[2] if len(row) > 2 else who
        got = await corpus.names_found(q, reader)
        got = {"community:book" if g == f"community:{corpus.book}" else g for g in got}
        if got != want:
            out.append((q, reader, sorted(got), sorted(want)))
    return out


async def test_each_operator_alone(corpus):
    assert await _mismatches(corpus, ALONE) == []


async def test_each_operator_negated(corpus):
    assert await _mismatches(corpus, NEGATED) == []


async def test_operators_ored(corpus):
    assert await _mismatches(corpus, ORED) == []


async def test_operators_inside_parentheses(corpus):
    assert await _mismatches(corpus, GROUPED) == []


async def test_other_readers_see_their_own_channels(corpus):
    assert await _mismatches(corpus, OTHER_READERS) == []


async def test_pinning_unpinning_and_sticky_posts_show_in_pinned_at_once(corpus):
    from tests.search.conftest import indexed, ok

    c, sp, ids = corpus.client, corpus.world.space, corpus.ids
    await ok(c, "PUT", f"/channels/{sp.text}/pins/{ids['g6']}", sp.owner)
    await ok(c, "DELETE", f"/channels/{sp.text}/pins/{ids['g1']}", sp.owner)
    await ok(c, "POST", f"/posts/{ids['p1']}/moderation", sp.owner, json={"action": "sticky"})
    await indexed(c)
    assert await corpus.names_found("pinned:true") == {"g6", "p1"}
    assert await corpus.names_found("garden pinned:false") == GARDEN - {"p1"}
