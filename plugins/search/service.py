"""The search rules: who may see what (permissions go INTO the FTS5 query, so totals, facets,
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryb_node.clock import new_id
from cryb_node.problems import Problem
from cryb_node.services import PERMISSIONS, Perm
from cryb_node.sync.homes import remote_homes

from . import queries as sql
from . import searching, snippets
from .build import Marks, Match, corrected, marks, whole
from .documents import FLAGS, flag_tag, tag_id
from .indexer import Indexer
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
from .searching import Readers, Scope
from .store import StoredDoc
from .syntax import Parsed, Word, parse

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .schemas import SearchSettings

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """A fully resolved search, ready to run in a worker thread."""

    scope: Scope
    parsed: Parsed
    ops: dict[int, list[str] | None]  # each operator's tag tokens by its number (None: names nothing)
    params: SearchQuery
    marks: Marks = field(init=False)

    def __post_init__(self) -> None:
        self.marks = marks(self.parsed)


class SearchService:
    def __init__(self, node: Node, indexer: Indexer, settings: SearchSettings) -> None:
        self.node = node
        self.indexer = indexer
        self.settings = settings
        # (The bench runs searches with no node.)
        self.readers = Readers(node.config.db.busy_timeout_ms if node is not None else 5000)
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

    async def resolve(self, parsed: Parsed, scope: Scope) -> dict[int, list[str] | None]:
        """Each operator as tag tokens (None: it names nothing this user can see; dates need none)."""
        db = self.node.db
        out: dict[int, list[str] | None] = {}
        channel_names: dict[str, str] | None = None
        for op in parsed.ops:
            if op.name in ("from", "mentions"):
                prefix = "a" if op.name == "from" else "m"
                out[op.n] = [tag_id(prefix, u) for u in await self._authors([op.value])] or None
            elif op.name == "community":
                out[op.n] = [tag_id("g", c) for c in await sql.community_ids(db, [op.value])] or None
            elif op.name == "in":
                # Only among channels this user may read: naming a hidden channel finds nothing.
                if channel_names is None:
                    channel_names = await sql.channel_names(db, sorted(scope.channels))
                wanted = op.value.lower()
                ids = {
                    cid for cid, name in channel_names.items() if name.lower() == wanted or cid == op.value
                }
                out[op.n] = [tag_id("c", c) for c in sorted(ids)] or None
            elif op.name == "has":
                out[op.n] = [flag_tag(op.value)]
            elif op.name == "pinned":
                out[op.n] = [flag_tag("pinned")]
            elif op.name == "is":
                out[op.n] = [f"k{op.value}"]
            else:  # before, after, during: tokens or a rowid range (build.py)
                out[op.n] = []
        return out

    async def plan(self, user_id: str, params: SearchQuery) -> Plan:
        parsed = parse(params.q, self.settings.max_query_length)
        scope = await self.scope(user_id)
        return Plan(scope, parsed, await self.resolve(parsed, scope), params)

    # -- search ---------------------------------------------------------------------------------

    async def search(self, user_id: str, params: SearchQuery) -> SearchOut:
        clock = self.node.clock
        began = clock.monotonic()
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
        took = int((clock.monotonic() - began) * 1000)
        normalised = re.sub(r"\s+", " ", params.q.strip().lower())[:256]
        now = clock.time_ms()
        self._background(
            self.node.db.write(lambda c: sql.record_query(c, out.query_id, normalised, out.total, took, now))
        )
        return out

    def _run_retrying(self, plan: Plan) -> tuple[SearchOut, list[tuple[str | None, str]]]:
        try:
            return self._run(plan)
        except Problem:
            raise
        except Exception as err:
            # A connection may hold a generation a rebuild has since replaced: one more try on a
            # fresh connection before calling the index broken.
            log.info("search retried on a fresh connection (%s: %s)", type(err).__name__, err)
            self.readers.close()
            return self._run(plan)

    def _run(self, plan: Plan) -> tuple[SearchOut, list[tuple[str | None, str]]]:
        """Runs in a worker thread: the hits, and the stored (title, body) of each for its snippet."""
        params = plan.params
        # The state first: it turns "ready" only after the whole index is live, so a "ready" answer
        # is never a partial one.
        state = self.indexer.state
        path, partial = self.indexer.serving()
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
        if path is None:
            return out, []
        conn = self.readers.get(path)
        try:
            answer = self._search(conn, plan, out, path)
        except BaseException:
            conn.close()
            raise
        self.readers.put(path, conn)
        return answer

    def _search(
        self, conn: Any, plan: Plan, out: SearchOut, path: Path
    ) -> tuple[SearchOut, list[tuple[str | None, str]]]:
        params = plan.params
        m = whole(plan.parsed, plan.ops, expand=lambda p: searching.expand(conn, p))
        if not isinstance(m, Match):  # only stop words, or an operator naming nothing
            return out, []
        documents = self.indexer.documents() if not out.partial else None
        found = searching.run(
            conn,
            m,
            plan.scope,
            sort=params.sort,
            has_text=plan.parsed.has_text,
            offset=(params.page - 1) * params.limit,
            limit=params.limit,
            facets=params.facets,
            documents=documents,
            spread=(lambda: self.readers.spread(path, conn, documents)) if documents is not None else None,
        )
        texts: list[tuple[str | None, str]] = []
        for rowid, score in found.hits:
            row = found.rows.get(rowid)
            if row is None:  # removed between the match and the read
                continue
            out.results.append(_hit(row, score))
            texts.append((row.title or None, row.body))
        out.total, out.total_exact = found.total, found.exact
        out.pages = math.ceil(out.total / params.limit)
        if found.facets is not None:
            out.facets = Facets(**{name: _facet(c) for name, c in found.facets.items()})
        if out.total == 0 and plan.parsed.words:
            out.suggestion = self._suggest(conn, plan)
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

    def _suggest(self, conn: Any, plan: Plan) -> str | None:
        """A corrected query, offered only if it finds documents this user may read: the word list
        spans every channel, so a suggestion that found nothing visible could leak a private word."""
        fixes: dict[Word, str] = {}
        for w in plan.parsed.words:
            word = w.text.lower()
            if not re.fullmatch(r"[^\W\d_]{2,}", word) or searching.frequency(conn, word):
                continue
            found = searching.suggest(conn, word)
            if found and found != word:
                fixes[w] = found
        if not fixes:
            return None
        m = whole(plan.parsed, plan.ops, corrected(plan.parsed.tree, fixes))
        if not isinstance(m, Match) or not searching.Query(conn, m, plan.scope).count_upto(1):
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
        now = self.node.clock.time_ms()
        ok = await self.node.db.write(
            lambda c: sql.record_click(c, body.query_id, body.key, body.position, now)
        )
        if not ok:
            raise Problem("not_found", 404, "no such search (query_id)", field="query_id")

    async def stats(self, days: int = 30) -> StatsOut:
        await self.flush()
        since = self.node.clock.time_ms() - days * 86_400_000
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
        cutoff = self.node.clock.time_ms() - self.settings.analytics_retention_days * 86_400_000
        await self.node.db.write(lambda c: sql.prune(c, cutoff))


def _hit(doc: StoredDoc, score: float) -> Hit:
    """A hit from its stored fields (store.fetch_docs); title and snippet are made later."""
    return Hit(
        key=doc.key,
        kind=doc.kind,
        id=doc.key.split(":", 1)[1],
        author_id=doc.author or None,
        community_id=doc.community or None,
        channel_id=doc.channel or None,
        post_id=doc.parent or None,
        created_at=doc.time,
        title=doc.title or None,
        snippet="",
        has_link=bool(doc.flags & (1 << FLAGS.index("has_link"))),
        has_attachment=bool(doc.flags & (1 << FLAGS.index("has_attachment"))),
        score=round(float(score or 0.0), 4),
    )


def _facet(groups: Counter[str]) -> list[FacetValue]:
    values = [FacetValue(value=str(k), count=int(n)) for k, n in groups.items() if k]
    return sorted(values, key=lambda v: (-v.count, v.value))
