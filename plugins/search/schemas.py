"""Request and response types of the search API (the OpenAPI document is derived from them)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class SearchSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[plugin.search]`` in cryb.toml."""

    # Events per indexing batch (one index transaction each, off the event loop).
    batch_size: Annotated[int, Meta(ge=1, le=10_000)] = 1000
    max_query_length: Annotated[int, Meta(ge=16, le=2048)] = 256
    # The daily optimize (merge every segment into one) runs at this hour, UTC.
    optimize_hour_utc: Annotated[int, Meta(ge=0, le=23)] = 4
    # Query and click analytics older than this are pruned by the optimize job.
    analytics_retention_days: Annotated[int, Meta(ge=1, le=3650)] = 90
    # How long indexing waits for the content plugin to apply a ban's purge window.
    ban_purge_wait_s: Annotated[float, Meta(ge=0, le=600)] = 30.0


class SearchQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    q: Annotated[str, Meta(max_length=2048)]
    page: Annotated[int, Meta(ge=1, le=500)] = 1
    limit: Annotated[int, Meta(ge=1, le=50)] = 20
    sort: Literal["relevance", "new", "old"] = "relevance"  # new: newest first, old: oldest first
    facets: bool = True


class Hit(msgspec.Struct, kw_only=True, omit_defaults=True):
    key: str  # "<kind>:<id>": what a click report names
    kind: str
    id: str
    author_id: str | None = None
    author: str | None = None  # username
    community_id: str | None = None
    community: str | None = None
    channel_id: str | None = None
    channel: str | None = None
    post_id: str | None = None  # a comment's post
    created_at: int  # ms since epoch
    title: str | None = None  # HTML: escaped, matches in <mark>
    snippet: str  # HTML: escaped, matches in <mark>
    has_link: bool = False
    has_attachment: bool = False
    score: float = 0.0


class FacetValue(msgspec.Struct, kw_only=True, omit_defaults=True):
    value: str
    name: str | None = None
    count: int


class Facets(msgspec.Struct, kw_only=True):
    community: list[FacetValue] = []
    channel: list[FacetValue] = []
    kind: list[FacetValue] = []


class SearchOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    query_id: str  # for POST /api/v1/search/clicks
    total: int
    # False when ``total`` (and the facet counts) are estimated: a newest-first search with many
    # matches stops after the page and counts "about N" from the newest matches it read.
    total_exact: bool = True
    page: int
    limit: int
    pages: int
    results: list[Hit]
    facets: Facets | None = None
    suggestion: str | None = None  # "did you mean": a corrected query that has results
    index_state: str  # ready | rebuilding | opening | failed
    # True while the index is being built (a new node, a lost or outdated index): the results are
    # what it holds so far, and may be incomplete.
    partial: bool


class ClickIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    query_id: Annotated[str, Meta(min_length=1, max_length=64)]
    key: Annotated[str, Meta(min_length=3, max_length=140)]
    position: Annotated[int, Meta(ge=0, le=100_000)] = 0


class QueryCount(msgspec.Struct):
    q: str
    count: int


class IndexStats(msgspec.Struct, kw_only=True):
    state: str
    reason: str
    generation: str | None
    documents: int
    by_kind: dict[str, int]
    segments: int
    bytes: int
    offset: int
    log_length: int
    lag_events: int
    progress_done: int
    progress_total: int


class StatsOut(msgspec.Struct, kw_only=True):
    index: IndexStats
    queries: int
    zero_result_queries: int
    clicks: int
    click_through_rate: float
    top_queries: list[QueryCount]
    top_zero_result: list[QueryCount]
