"""The search rules: who may see what (permissions go INTO the Whoosh query, so totals, facets,
snippets and suggestions are computed only over documents the searcher may read now), operators
resolved to ids, paging, snippets, "did you mean", and the analytics around it.

Search covers what the searcher can read: their communities' channels, the channels of public
communities they have not joined (readable without joining, as on the web), and their DMs; each
channel's VIEW_CHANNEL and READ_HISTORY decide.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whoosh import query as wq
from whoosh import sorting

from cryb_node.clock import new_id
from cryb_node.problems import Problem
from cryb_node.services import PERMISSIONS, Perm
from cryb_node.sync.homes import remote_homes

from . import newest, snippets
from . import queries as sql
from .build import Marks, corrected, drives, marks, whole
from .indexer import Indexer
from .query import Parsed, Word, parse
from .schemas import (
    ClickIn,
    Facets,
    FacetValue,
    Hit,
    IndexStats,
    QueryCount,
    SearchOut,
    SearchQuery,
    StatsOut,
)
from .searching import Allowed, Recording, Searchers, ZeroScore, facet_counts

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .schemas import SearchSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scope:
    """What one user may search: readable channels (VIEW_CHANNEL + READ_HISTORY, and their DMs)
    and the communities they belong to (for community documents of private communities)."""

    channels: frozenset[str]
    communities: frozenset[str]

    def query(self) -> wq.Query:
        allowed: list[wq.Query] = [wq.Term("channel", c) for c in sorted(self.channels)]
        allowed.append(wq.Term("kind", "user"))
        allowed.append(wq.And([wq.Term("kind", "community"), wq.Term("public", True)]))
        if self.communities:
            members = wq.Or([wq.Term("community", c) for c in sorted(self.communities)])
            allowed.append(wq.And([wq.Term("kind", "community"), members]))
        # Zero score: who may read a document must not change how it ranks.
        return ZeroScore(wq.Or(allowed))


@dataclass
class Plan:
    """A fully resolved search, ready to run in a worker thread."""

    scope: Scope
    parsed: Parsed
    ops: dict[int, wq.Query | None]  # each operator's query by its number (None: names nothing)
    params: SearchQuery
    marks: Marks = field(init=False)

    def __post_init__(self) -> None:
        self.marks = marks(self.parsed)

    def full(self, tree: Any = None) -> wq.Query | None:
        """The Whoosh query limited to what the scope may read (None: nothing can match)."""
        q = whole(self.parsed, self.ops, tree)
        if not isinstance(q, wq.Query):
            return None  # only stop words, or an operator naming nothing
        if drives(q):  # its matches drive; each is checked against the scope (searching.Allowed)
            return Allowed(q, self.scope.channels, self.scope.communities)
        # A pure negation (NOT in:#c): the readable channels' postings drive instead.
        return wq.And([self.scope.query(), q])


def _any_of(fieldname: str, values: list[str] | set[str]) -> wq.Query | None:
    terms = [wq.Term(fieldname, v) for v in sorted(set(values))]
    return None if not terms else terms[0] if len(terms) == 1 else wq.Or(terms)


class SearchService:
    def __init__(self, node: Node, indexer: Indexer, settings: SearchSettings) -> None:
        self.node = node
        self.indexer = indexer
        self.settings = settings
        self.searchers = Searchers()
        self._pending: set[asyncio.Task[Any]] = set()

    # -- who may see what ---------------------------------------------------------------------------

    async def scope(self, user_id: str) -> Scope:
        perms = self.node.services.get(PERMISSIONS)
        channels: set[str] = set()
        communities: set[str] = set()
        if perms is not None:
            communities = set(await sql.member_communities(self.node.db, user_id))
            accesses = list(await perms.visible_channels(user_id))
            for cid in await sql.public_communities(self.node.db):
                if cid not in communities:
                    accesses += await perms.visible_channels(user_id, cid)
            for access in accesses:
                if access.has(Perm.VIEW_CHANNEL) and access.has(Perm.READ_HISTORY):
                    channels.add(access.channel_id)
        channels.update(await sql.dm_channels(self.node.db, user_id))
        return Scope(frozenset(channels), frozenset(communities))

    async def resolve(self, parsed: Parsed, scope: Scope) -> dict[int, wq.Query | None]:
        """Each operator as a query on ids (None: it names nothing this user can see)."""
        db = self.node.db
        out: dict[int, wq.Query | None] = {}
        channel_names: dict[str, str] | None = None
        for op in parsed.ops:
            if op.name in ("from", "mentions"):
                field_ = "author" if op.name == "from" else "mentions"
                out[op.n] = _any_of(field_, await self._authors([op.value]))
            elif op.name == "community":
                out[op.n] = _any_of("community", await sql.community_ids(db, [op.value]))
            elif op.name == "in":
                # Only among channels this user may read: naming a hidden channel finds nothing.
                if channel_names is None:
                    channel_names = await sql.channel_names(db, sorted(scope.channels))
                wanted = op.value.lower()
                ids = {
                    cid for cid, name in channel_names.items() if name.lower() == wanted or cid == op.value
                }
                out[op.n] = _any_of("channel", ids)
            elif op.name == "has":
                out[op.n] = wq.Term(op.value, True)
            elif op.name == "pinned":
                out[op.n] = wq.Term("pinned", True)
            elif op.name == "is":
                out[op.n] = wq.Term("kind", op.value)
            else:  # before, after, during
                out[op.n] = wq.NumericRange("time", op.lo, op.hi)
        return out

    async def plan(self, user_id: str, params: SearchQuery) -> Plan:
        parsed = parse(params.q, self.settings.max_query_length)
        scope = await self.scope(user_id)
        return Plan(scope, parsed, await self.resolve(parsed, scope), params)

    # -- search ---------------------------------------------------------------------------------

    async def search(self, user_id: str, params: SearchQuery) -> SearchOut:
        began = time.perf_counter()
        plan = await self.plan(user_id, params)
        try:
            out, texts = await asyncio.to_thread(self._run_retrying, plan)
        except Problem:
            raise
        except Exception as err:
            log.exception("search failed; checking the index")
            self.indexer.rebuild(f"search failed: {type(err).__name__}")
            raise Problem(
                "search_unavailable", 503, "the search index is being rebuilt; try again soon"
            ) from None
        await self._names(out)
        if out.results:
            names = await self._mention_names(texts, plan.scope)
            await asyncio.to_thread(self._snippets, out, texts, names, plan.marks)
        out.query_id = new_id()
        took = int((time.perf_counter() - began) * 1000)
        normalised = re.sub(r"\s+", " ", params.q.strip().lower())[:256]
        self._background(
            self.node.db.write(lambda c: sql.record_query(c, out.query_id, normalised, out.total, took))
        )
        return out

    def _run_retrying(self, plan: Plan) -> tuple[SearchOut, list[tuple[str | None, str]]]:
        try:
            return self._run(plan)
        except Problem:
            raise
        except Exception as err:
            # A reused searcher may hold a generation a merge or rebuild has since removed: one more
            # try on a fresh searcher before calling the index broken.
            log.info("search retried on a fresh searcher (%s: %s)", type(err).__name__, err)
            self.searchers.drop()
            return self._run(plan)

    def _run(self, plan: Plan) -> tuple[SearchOut, list[tuple[str | None, str]]]:
        """Runs in a worker thread: the hits, and the stored (title, body) of each for its snippet."""
        params = plan.params
        # The state first: it turns "ready" only after the whole index is live, so a "ready" answer
        # is never a partial one.
        state = self.indexer.state
        ix, partial = self.indexer.serving()
        out = SearchOut(
            query_id="",
            total=0,
            page=params.page,
            limit=params.limit,
            pages=0,
            results=[],
            partial=partial,
            index_state=state,
        )
        out.facets = Facets() if params.facets else None
        q = plan.full()
        if ix is None or q is None:
            return out, []
        s = self.searchers.get(ix)
        if s.doc_count_all() == 0:  # a build that has not committed yet: nothing to find so far
            return out, []
        want = params.page * params.limit
        many = params.sort != "old" and q.estimate_size(s.reader()) > newest.FAST_MIN
        if many and (params.sort == "new" or not plan.parsed.has_text):
            return self._newest(s, q, plan, out)
        if many and plan.parsed.has_text:
            return self._top(s, q, plan, out)
        sortedby = None
        if params.sort == "new" or (params.sort == "relevance" and not plan.parsed.has_text):
            sortedby = sorting.FieldFacet("time", reverse=True)
        elif params.sort == "old":
            sortedby = sorting.FieldFacet("time")
        # Every match passes through the recorder (exact total, facets); the child keeps the top N.
        rec = Recording(s.collector(limit=want, sortedby=sortedby, optimize=False))
        s.search_with_collector(q, rec)
        texts: list[tuple[str | None, str]] = []
        for h in rec.results()[(params.page - 1) * params.limit : want]:
            f = h.fields()
            out.results.append(_hit(f, h.score))
            texts.append((f.get("title"), f.get("body", "")))
        out.total = rec.total()
        out.pages = math.ceil(out.total / params.limit)
        if params.facets:
            counts = facet_counts(rec.segments, ("community", "channel", "kind"))
            out.facets = Facets(**{name: _facet(c) for name, c in counts.items()})
        if out.total == 0 and plan.parsed.words:
            out.suggestion = self._suggest(s, plan)
        return out, texts

    def _newest(
        self, s: Any, q: wq.Query, plan: Plan, out: SearchOut
    ) -> tuple[SearchOut, list[tuple[str | None, str]]]:
        """Newest first over many matches: the page without scoring or sorting them all, the total
        and facets estimated from the newest ones (newest.py)."""
        params = plan.params
        w = newest.walk(s, q, params.page * params.limit)
        texts: list[tuple[str | None, str]] = []
        for _, docnum in w.hits[(params.page - 1) * params.limit :]:
            f = s.stored_fields(docnum)
            out.results.append(_hit(f, 0.0))
            texts.append((f.get("title"), f.get("body", "")))
        out.total, out.total_exact = w.total, w.exact
        out.pages = math.ceil(out.total / params.limit)
        if params.facets:
            counts = newest.facet_counts(w, ("community", "channel", "kind"))
            out.facets = Facets(**{name: _facet(c) for name, c in counts.items()})
        return out, texts

    def _top(
        self, s: Any, q: wq.Query, plan: Plan, out: SearchOut
    ) -> tuple[SearchOut, list[tuple[str | None, str]]]:
        """By relevance over many matches: Whoosh's top-N collector skips posting blocks that cannot
        beat the page (block-max scores) instead of scoring every match; the total and facets are
        estimated from the newest matches, as on the newest-first path."""
        params = plan.params
        want = params.page * params.limit
        top = s.collector(limit=want)
        s.search_with_collector(q, top)
        texts: list[tuple[str | None, str]] = []
        found = top.results()
        for h in found[(params.page - 1) * params.limit : want]:
            f = h.fields()
            out.results.append(_hit(f, h.score))
            texts.append((f.get("title"), f.get("body", "")))
        w = newest.walk(s, q, 0)
        # scored_length, not len(): Results.__len__ counts every match (profile: 41% of this path).
        out.total, out.total_exact = max(w.total, found.scored_length()), w.exact
        out.pages = math.ceil(out.total / params.limit)
        if params.facets:
            counts = newest.facet_counts(w, ("community", "channel", "kind"))
            out.facets = Facets(**{name: _facet(c) for name, c in counts.items()})
        return out, texts

    def _snippets(
        self, out: SearchOut, texts: list[tuple[str | None, str]], names: snippets.Names, found: Marks
    ) -> None:
        """Mentions as names, matches marked (in a worker thread: tokenising is pure Python)."""
        for hit, (title, body) in zip(out.results, texts, strict=True):
            hit.snippet = snippets.snippet(snippets.render(body, names), found)
            if title is not None:
                hit.title = snippets.whole(snippets.render(title, names), found)

    async def _mention_names(self, texts: list[tuple[str | None, str]], scope: Scope) -> snippets.Names:
        users, roles, channels = snippets.mentioned(t for pair in texts for t in pair if t)
        names = snippets.Names()
        if users:
            names.users = await self._usernames(sorted(users))
        if roles:
            names.roles = await sql.role_names(self.node.db, sorted(roles))
        readable = sorted(channels & scope.channels)  # a channel the reader cannot see stays unnamed
        if readable:
            names.channels = await sql.channel_names(self.node.db, readable)
        return names

    def _suggest(self, s: Any, plan: Plan) -> str | None:
        """A corrected query, offered only if it finds documents this user may read: the word list
        spans every channel, so a suggestion that found nothing visible could leak a private word."""
        corrector = s.corrector("words")
        fixes: dict[Word, str] = {}
        for w in plan.parsed.words:
            word = w.text.lower()
            if not re.fullmatch(r"[^\W\d_]{2,}", word) or s.doc_frequency("words", word):
                continue
            found = corrector.suggest(word, limit=1, maxdist=2)
            if found and found[0] != word:
                fixes[w] = found[0]
        if not fixes:
            return None
        q = plan.full(corrected(plan.parsed.tree, fixes))
        if q is None or s.search(q, limit=1).scored_length() == 0:
            return None
        text = plan.parsed.q
        for w in sorted(fixes, key=lambda w: w.start, reverse=True):
            text = text[: w.start] + fixes[w] + text[w.end :]
        return text

    async def _authors(self, names: list[str]) -> list[str]:
        """from: names read as the users plugin reads them (users/names.py): ``name@home`` a peer's
        user; a bare name our own user of that name, peers' users of that name only if we have none."""
        out: list[str] = []
        for name in names:
            username, _, home = name.partition("@")
            ids = await sql.user_ids(self.node.db, [username])
            homes = await remote_homes(self.node, ids)
            if home:
                out += [
                    u
                    for u in ids
                    if u in homes and home.lower() in (homes[u].node.lower(), homes[u].node_key)
                ]
            else:
                out += [u for u in ids if u not in homes] or ids
        return out

    async def _names(self, out: SearchOut) -> None:
        db = self.node.db
        users = {h.author_id for h in out.results if h.author_id}
        chans = {h.channel_id for h in out.results if h.channel_id}
        comms = {h.community_id for h in out.results if h.community_id}
        if out.facets is not None:
            chans |= {v.value for v in out.facets.channel}
            comms |= {v.value for v in out.facets.community}
        unames = await self._usernames(sorted(users))
        cnames = await sql.channel_names(db, sorted(chans))
        gnames = await sql.community_names(db, sorted(comms))
        for h in out.results:
            h.author = unames.get(h.author_id or "")
            h.channel = cnames.get(h.channel_id or "")
            h.community = gnames.get(h.community_id or "")
        if out.facets is not None:
            for v in out.facets.channel:
                v.name = cnames.get(v.value)
            for v in out.facets.community:
                v.name = gnames.get(v.value)

    async def _usernames(self, ids: list[str]) -> dict[str, str]:
        unames = await sql.usernames(self.node.db, ids)
        # A peer's user is name@home, never mistaken for our user of that name.
        for uid, home in (await remote_homes(self.node, sorted(unames))).items():
            unames[uid] = f"{unames[uid]}@{home.node}"
        return unames

    # -- analytics ------------------------------------------------------------------------------

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._pending.discard(task)
            if not t.cancelled() and t.exception() is not None:
                log.warning("search analytics write failed: %s", t.exception())

        task.add_done_callback(done)

    async def flush(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def click(self, body: ClickIn) -> None:
        await self.flush()
        ok = await self.node.db.write(lambda c: sql.record_click(c, body.query_id, body.key, body.position))
        if not ok:
            raise Problem("not_found", 404, "no such search (query_id)", field="query_id")

    async def stats(self, days: int = 30) -> StatsOut:
        await self.flush()
        since = time.time_ns() // 1_000_000 - days * 86_400_000
        a = await sql.analytics(self.node.db, since)
        return StatsOut(
            index=await self.index_stats(),
            queries=a["queries"],
            zero_result_queries=a["zero"],
            clicks=a["clicks"],
            click_through_rate=round(a["ctr"], 4),
            top_queries=[QueryCount(q, n) for q, n in a["top"]],
            top_zero_result=[QueryCount(q, n) for q, n in a["top_zero"]],
        )

    async def index_stats(self) -> IndexStats:
        st = self.indexer.status()
        extra = await self.indexer.stats()
        length = self.node.events.length
        return IndexStats(
            state=st.state,
            reason=st.reason,
            generation=st.generation,
            documents=st.documents,
            by_kind=extra["by_kind"],
            segments=extra["segments"],
            bytes=extra["bytes"],
            offset=st.offset,
            log_length=length,
            lag_events=max(0, length - st.offset),
            progress_done=st.progress[0],
            progress_total=st.progress[1],
        )

    async def prune(self) -> None:
        cutoff = time.time_ns() // 1_000_000 - self.settings.analytics_retention_days * 86_400_000
        await self.node.db.write(lambda c: sql.prune(c, cutoff))


def _hit(f: dict[str, Any], score: float | None) -> Hit:
    """A hit from its stored fields; title and snippet are made later (snippets.py)."""
    return Hit(
        key=f["key"],
        kind=f["kind"],
        id=f["key"].split(":", 1)[1],
        author_id=f.get("author") or None,
        community_id=f.get("community") or None,
        channel_id=f.get("channel") or None,
        post_id=f.get("parent") or None,
        created_at=f.get("time", 0),
        title=f.get("title"),
        snippet="",
        has_link=bool(f.get("has_link")),
        has_attachment=bool(f.get("has_attachment")),
        score=round(float(score or 0.0), 4),
    )


def _facet(groups: dict[Any, int]) -> list[FacetValue]:
    values = [FacetValue(value=str(k), count=int(n)) for k, n in groups.items() if k]
    return sorted(values, key=lambda v: (-v.count, v.value))
