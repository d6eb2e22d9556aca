"""The search rules: who may see what (permissions go INTO the Whoosh query, so totals, facets,
snippets and suggestions are computed only over documents the searcher may read now), operators
resolved to ids, paging, highlighting, "did you mean", and the analytics around it.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from whoosh import highlight, sorting
from whoosh import query as wq
from whoosh.searching import Results

from cryb_node.clock import new_id
from cryb_node.problems import Problem
from cryb_node.services import Perm, Permissions
from cryb_node.sync.homes import remote_homes

from . import queries as sql
from .indexer import Indexer
from .query import Parsed, parse, text_parser, text_query
from .schema import CONTENT_KINDS
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


class _Escaping(highlight.Formatter):
    """Snippets are HTML: every character of the text is escaped, matches are wrapped in <mark>."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=True)}</mark>"


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
    text: wq.Query | None
    filters: list[wq.Query]
    parsed: Parsed
    params: SearchQuery
    impossible: bool  # an operator named nothing this user can see: no results, no search

    def full(self, text: wq.Query | None = None) -> wq.Query:
        text = self.text if text is None else text
        if text is None:  # operators only: the readable channels' postings drive, skipping together
            return wq.And([self.scope.query(), *self.filters])
        # The text drives; each of its candidates is checked against the scope (searching.Allowed).
        inner = wq.And([*self.filters, text]) if self.filters else text
        return Allowed(inner, self.scope.channels, self.scope.communities)


class SearchService:
    def __init__(self, node: Node, indexer: Indexer, settings: SearchSettings) -> None:
        self.node = node
        self.indexer = indexer
        self.settings = settings
        self.parser = text_parser(indexer.schema)
        self.searchers = Searchers()
        self._pending: set[asyncio.Task[Any]] = set()

    # -- who may see what ---------------------------------------------------------------------------

    async def scope(self, user_id: str) -> Scope:
        perms = self.node.services.get(Permissions)  # type: ignore[type-abstract]
        channels: set[str] = set()
        if perms is not None:
            for access in await perms.visible_channels(user_id):
                if access.has(Perm.VIEW_CHANNEL) and access.has(Perm.READ_HISTORY):
                    channels.add(access.channel_id)
        channels.update(await sql.dm_channels(self.node.db, user_id))
        communities = set(await sql.member_communities(self.node.db, user_id)) if perms else set()
        return Scope(frozenset(channels), frozenset(communities))

    async def plan(self, user_id: str, params: SearchQuery) -> Plan:
        parsed = parse(params.q, self.settings.max_query_length)
        text = text_query(self.parser, parsed.text)
        scope = await self.scope(user_id)
        db = self.node.db
        filters: list[wq.Query] = []
        impossible = False

        def any_of(fieldname: str, values: list[str] | set[str]) -> None:
            nonlocal impossible
            if not values:
                impossible = True
            else:
                filters.append(wq.Or([wq.Term(fieldname, v) for v in sorted(values)]))

        if parsed.authors:
            any_of("author", await self._authors(parsed.authors))
        if parsed.communities:
            any_of("community", await sql.community_ids(db, parsed.communities))
        if parsed.channels:
            # Only among channels this user may read: naming a hidden channel finds nothing.
            wanted = {n.lower() for n in parsed.channels}
            names = await sql.channel_names(db, sorted(scope.channels))
            any_of("channel", {cid for cid, name in names.items() if name.lower() in wanted or cid in wanted})
        if parsed.kinds:
            any_of("kind", parsed.kinds)
        if parsed.channels or parsed.has:
            filters.append(wq.Or([wq.Term("kind", k) for k in CONTENT_KINDS]))
        for fieldname in sorted(parsed.has):
            filters.append(wq.Term(fieldname, True))
        if parsed.before is not None or parsed.after is not None:
            hi = parsed.before - 1 if parsed.before is not None else None
            filters.append(wq.NumericRange("time", parsed.after, hi))
        if text is wq.NullQuery:
            impossible = True  # only stop words
        return Plan(scope, text, filters, parsed, params, impossible)

    # -- search ---------------------------------------------------------------------------------

    async def search(self, user_id: str, params: SearchQuery) -> SearchOut:
        began = time.perf_counter()
        plan = await self.plan(user_id, params)
        if plan.impossible or (self.indexer.live is None and self.indexer.building is None):
            out = SearchOut(query_id="", total=0, page=params.page, limit=params.limit, pages=0, results=[])
            out.facets = Facets() if params.facets else None
        else:
            try:
                out = await asyncio.to_thread(self._run_retrying, plan)
            except Problem:
                raise
            except Exception as err:
                log.exception("search failed; checking the index")
                self.indexer.rebuild(f"search failed: {type(err).__name__}")
                raise Problem(
                    "search_unavailable", 503, "the search index is being rebuilt; try again soon"
                ) from None
        await self._names(out)
        out.index_state = self.indexer.state
        out.query_id = new_id()
        took = int((time.perf_counter() - began) * 1000)
        normalised = re.sub(r"\s+", " ", params.q.strip().lower())[:256]
        self._background(
            self.node.db.write(lambda c: sql.record_query(c, out.query_id, normalised, out.total, took))
        )
        return out

    def _index(self) -> Any:
        ix = self.indexer.live or self.indexer.building
        if ix is None:
            raise Problem("search_unavailable", 503, "the search index is being built; try again soon")
        return ix

    def _run_retrying(self, plan: Plan) -> SearchOut:
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

    def _run(self, plan: Plan) -> SearchOut:
        params = plan.params
        s = self.searchers.get(self._index())
        q = plan.full()
        sortedby = None
        if params.sort == "new" or (params.sort == "relevance" and plan.text is None):
            sortedby = sorting.FieldFacet("time", reverse=True)
        elif params.sort == "old":
            sortedby = sorting.FieldFacet("time")
        want = params.page * params.limit
        # Every match passes through the recorder (exact total, facets); the child keeps the top N.
        rec = Recording(s.collector(limit=want, sortedby=sortedby, optimize=False))
        s.search_with_collector(q, rec)
        results: Results = rec.results()
        results.fragmenter = highlight.ContextFragmenter(maxchars=240, surround=60)
        results.formatter = _Escaping()
        total = rec.total()
        hits = [self._hit(h) for h in results[(params.page - 1) * params.limit : want]]
        out = SearchOut(
            query_id="",
            total=total,
            page=params.page,
            limit=params.limit,
            pages=math.ceil(total / params.limit),
            results=hits,
        )
        if params.facets:
            counts = facet_counts(rec, ("community", "channel", "kind"))
            out.facets = Facets(**{name: _facet(c) for name, c in counts.items()})
        if total == 0 and plan.parsed.words:
            out.suggestion = self._suggest(s, plan)
        return out

    def _hit(self, h: Any) -> Hit:
        f = h.fields()
        body = f.get("body", "")
        snippet = h.highlights("body", top=2) if body else ""
        if not snippet:
            snippet = html.escape(body[:240]) + ("…" if len(body) > 240 else "")
        title = f.get("title")
        if title is not None:
            title = h.highlights("title", minscore=0) or html.escape(title)
        kind = f["kind"]
        return Hit(
            key=f["key"],
            kind=kind,
            id=f["key"].split(":", 1)[1],
            author_id=f.get("author") or None,
            community_id=f.get("community") or None,
            channel_id=f.get("channel") or None,
            post_id=f.get("parent") or None,
            created_at=f.get("time", 0),
            title=title,
            snippet=snippet,
            has_link=bool(f.get("has_link")),
            has_attachment=bool(f.get("has_attachment")),
            score=round(float(h.score or 0.0), 4),
        )

    def _suggest(self, s: Any, plan: Plan) -> str | None:
        """A corrected query, offered only if it finds documents this user may read: the word list
        spans every channel, so a suggestion that found nothing visible could leak a private word."""
        corrector = s.corrector("spell")
        text = plan.parsed.text
        changed = False
        for word in dict.fromkeys(plan.parsed.words):
            if s.doc_frequency("spell", word):
                continue
            found = corrector.suggest(word, limit=1, maxdist=2)
            if found and found[0] != word:
                text = re.sub(rf"(?i)\b{re.escape(word)}\b", found[0], text)
                changed = True
        if not changed:
            return None
        try:
            corrected = text_query(self.parser, text)
        except Problem:
            return None
        if corrected is None or corrected is wq.NullQuery:
            return None
        if s.search(plan.full(corrected), limit=1).scored_length() == 0:
            return None
        ops = " ".join(t for t in plan.params.q.split() if re.match(r"^[A-Za-z]+:(?!//)", t))
        return f"{ops} {text}".strip()

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
        unames = await sql.usernames(db, sorted(users))
        # A peer's user is name@home, never mistaken for our user of that name.
        for uid, home in (await remote_homes(self.node, sorted(unames))).items():
            unames[uid] = f"{unames[uid]}@{home.node}"
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


def _facet(groups: dict[Any, int]) -> list[FacetValue]:
    values = [FacetValue(value=str(k), count=int(n)) for k, n in groups.items() if k]
    return sorted(values, key=lambda v: (-v.count, v.value))
