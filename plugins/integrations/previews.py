"""Link previews: the links of each message and post (from their create events), fetched SSRF-safely
(netguard: permitted addresses only, every redirect re-checked, connect and total time limits, a byte
cap past which a page is cut off), read for OpenGraph/Twitter/oEmbed metadata with selectolax (the
Lexbor HTML5 parser), the image re-encoded through the media plugin, and cached by URL.

A preview is node-local, not an event: it is derived from the message's text and from the web, each
node fetches it under its own address policy and media pipeline, and a peer's fetched text and image
are nobody's signed words, so a peer could otherwise put anything under a member's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import aiohttp
import msgspec
from selectolax.lexbor import LexborHTMLParser

from cryb_node.clock import wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.services import MEDIA_STORE, MediaRefused

from . import queries
from . import schemas as s
from .netguard import AddressRefused, Guard

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)
KINDS = frozenset({"message.create", "post.create", "message.edit", "post.edit"})
CONSUMER = "integrations.previews"
FRESH_MS = 86_400_000
FETCHES = 4  # pages fetched at once
PREVIEW_OWNER = "@previews"  # the media owner of preview images (no account; never a quota)
OEMBED_MAX = 65_536
# A link in <angle brackets> is not previewed (the Discord habit); trailing punctuation is not part
# of a link.
_URL = re.compile(r"(?<![<\w])https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?)]}*_~"


def links(text: str, limit: int) -> list[str]:
    out: list[str] = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(_TRAILING)
        end = m.start() + len(url)
        if end < len(text) and text[end] == ">" and m.start() > 0 and text[m.start() - 1] == "<":
            continue
        if url not in out and len(url) <= 2000:
            out.append(url)
        if len(out) >= limit:
            break
    return out


@dataclass
class Page:
    url: str  # after redirects
    content_type: str
    body: bytes
    truncated: bool  # the cap cut it off


@dataclass
class Meta:
    title: str | None = None
    description: str | None = None
    site_name: str | None = None
    image: str | None = None
    oembed: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_html(html: bytes, base: str, charset: str | None) -> Meta:
    text = html.decode(charset or "utf-8", "replace")
    tree = LexborHTMLParser(text)
    tags: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        value = attrs.get("content")
        if key and value and key not in tags:
            tags[key] = value.strip()
    title_node = tree.css_first("title")
    oembed = tree.css_first('link[type="application/json+oembed"]')

    def first(*keys: str) -> str | None:
        return next((tags[k] for k in keys if tags.get(k)), None)

    image = first("og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src")
    return Meta(
        title=_clip(first("og:title", "twitter:title") or (title_node.text() if title_node else None), 256),
        description=_clip(first("og:description", "twitter:description", "description"), 1000),
        site_name=_clip(first("og:site_name", "application-name"), 128),
        image=urljoin(base, image) if image else None,
        oembed=urljoin(base, oembed.attributes.get("href") or "") if oembed is not None else None,
    )


def _clip(text: str | None, n: int) -> str | None:
    if not text:
        return None
    text = " ".join(text.split())
    return text[: n - 1] + "…" if len(text) > n else text or None


class Previews:
    def __init__(self, node: Node, settings: s.Settings, guard: Guard) -> None:
        self.node = node
        self.s = settings
        self.guard = guard
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(FETCHES)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self.stats = {"fetched": 0, "refused": 0, "truncated": 0, "bytes_read": 0}

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._http = self.guard.session(
            connect_s=self.s.preview_connect_timeout_s,
            total_s=self.s.preview_timeout_s,
            headers={"User-Agent": "CRYB-node-link-preview/1 (+https://github.com/cryb)"},
        )

    async def stop(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http:
            await self._http.close()

    # -- the consumer (in the writer, with the bus offset) ----------------------------------------

    def record_links(self, conn: Connection, events: list[Event]) -> None:
        todo: list[str] = []
        for ev in events:
            p, b = ev.payload, ev.body
            if p is None or b.target is None:
                continue
            text = getattr(p, "content", None) or getattr(p, "body", None) or ""
            if ev.kind.startswith("post.") and getattr(p, "url", None):
                text = f"{p.url} {text}"
            edit = ev.kind.endswith(".edit")
            if not edit and "http" not in text:
                continue
            if not _newest(conn, b.target, b.hlc, b.author, edit):
                continue
            found = links(text, self.s.previews_per_message)
            queries.replace_links(
                conn, b.target, [(i, url, p.channel_id, b.community, b.author) for i, url in enumerate(found)]
            )
            fresh = wall_ms(b.hlc) > self.node.clock.time_ms() - FRESH_MS
            if found and fresh and self.s.link_previews and _enabled(conn, b.community):
                todo += found  # older links (a backlog, a node turning previews on) wait to be read
        if todo and self._loop is not None:
            self._loop.call_soon_threadsafe(self._kick, todo)

    def _kick(self, urls: list[str]) -> None:
        for url in urls:
            self.ensure(url)

    def ensure(self, url: str) -> asyncio.Task[None]:
        """The fetch of ``url`` under way (one at a time per URL), started if need be."""
        task = self._inflight.get(url)
        if task is None:
            task = asyncio.create_task(self._refresh(url), name="integrations:preview")
            self._inflight[url] = task
            task.add_done_callback(functools.partial(self._forget, url))
        return task

    def _forget(self, url: str, _task: asyncio.Task[Any]) -> None:
        self._inflight.pop(url, None)

    async def _refresh(self, url: str) -> None:
        row = await self.node.db.fetchone(queries.PREVIEW_AGE, (url,))
        now = self.node.clock.time_ms()
        if row is not None and now - row["fetched_at"] < self.s.preview_ttl_s * 1000:
            return
        try:
            async with self._slots:
                values = await self.fetch(url)
        except Exception as err:  # recorded as a failed preview; the message shows without one
            if not isinstance(err, AddressRefused | aiohttp.ClientError | TimeoutError | ValueError):
                log.exception("link preview of a message failed")
            values = {"ok": 0, "error": f"{type(err).__name__}: {err}"[:300]}
        await self.node.db.write(lambda conn: queries.store_preview(conn, url, values, now))
        old = row["image"] if row is not None else None
        store = self.node.services.get(MEDIA_STORE)
        if old and old != values.get("image") and store is not None:
            await store.detach(old)  # the replaced image becomes an orphan the media cleanup deletes

    # -- fetching ---------------------------------------------------------------------------------

    async def get(self, url: str, cap: int, accept: str) -> Page:
        """GET ``url`` following at most preview_max_redirects redirects, each hop checked; the body
        is read up to ``cap`` bytes and the connection dropped past it."""
        assert self._http is not None
        for _ in range(self.s.preview_max_redirects + 1):
            try:
                self.guard.check_url(url)
            except AddressRefused:
                self.stats["refused"] += 1
                raise
            async with self._http.get(url, allow_redirects=False, headers={"Accept": accept}) as resp:
                if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    continue
                if resp.status != 200:
                    raise ValueError(f"the site answered {resp.status}")
                body = bytearray()
                truncated = False
                async for chunk in resp.content.iter_chunked(65_536):
                    body += chunk
                    if len(body) >= cap:
                        del body[cap:]
                        truncated = True
                        break
                self.stats["bytes_read"] += len(body)
                if truncated:
                    self.stats["truncated"] += 1
                    resp.close()  # drop the connection: the rest is never read
                return Page(str(resp.url), resp.headers.get("Content-Type", ""), bytes(body), truncated)
        raise ValueError("too many redirects")

    async def fetch(self, url: str) -> dict[str, Any]:
        """The preview row for ``url``."""
        async with asyncio.timeout(self.s.preview_timeout_s):
            page = await self.get(url, self.s.preview_max_bytes, "text/html,application/xhtml+xml")
            kind, _, params = page.content_type.partition(";")
            if kind.strip().lower() not in ("text/html", "application/xhtml+xml"):
                raise ValueError(f"not a web page ({kind.strip() or 'no type'})")
            # The header's charset, else the page's own <meta charset> (in its first 2 KiB), else UTF-8.
            header = re.search(r"charset=([\w-]+)", params, re.I)
            inline = (
                None if header else re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", page.body[:2048], re.I)
            )
            charset = header.group(1) if header else inline.group(1).decode("ascii") if inline else None
            try:  # up to preview_max_bytes of HTML: parsed off the event loop
                meta = await asyncio.to_thread(parse_html, page.body, page.url, charset)
            except LookupError:  # a charset Python does not know
                meta = await asyncio.to_thread(parse_html, page.body, page.url, None)
            if meta.oembed and (not meta.title or not meta.image):
                await self._oembed(meta)
            row: dict[str, Any] = {
                "ok": 1, "title": meta.title, "description": meta.description, "site_name": meta.site_name,
            }  # fmt: skip
            if meta.image:
                row.update(await self._image(meta.image))
        self.stats["fetched"] += 1
        return row

    async def _oembed(self, meta: Meta) -> None:
        assert meta.oembed is not None
        try:
            page = await self.get(meta.oembed, OEMBED_MAX, "application/json")
            data = msgspec.json.decode(page.body) if not page.truncated else {}
        except (AddressRefused, aiohttp.ClientError, ValueError, msgspec.DecodeError) as err:
            log.info("oEmbed of a link preview not used: %s", err)
            return
        if not isinstance(data, dict):
            return
        meta.title = meta.title or _clip(_str(data.get("title")), 256)
        meta.site_name = meta.site_name or _clip(_str(data.get("provider_name")), 128)
        if not meta.description and _str(data.get("author_name")):
            meta.description = _clip(f"by {data['author_name']}", 1000)
        thumb = _str(data.get("thumbnail_url"))
        if not meta.image and thumb:
            meta.image = urljoin(meta.oembed, thumb)

    async def _image(self, url: str) -> dict[str, Any]:
        store = self.node.services.get(MEDIA_STORE)
        if store is None:
            return {}
        try:
            page = await self.get(url, self.s.preview_image_max_bytes + 1, "image/*")
            if page.truncated:
                raise MediaRefused("the image is larger than preview_image_max_bytes")
            ref = await store.ingest(page.body, PREVIEW_OWNER, "preview")
        except (AddressRefused, aiohttp.ClientError, ValueError, MediaRefused) as err:
            log.info("link preview image not used: %s", err)
            return {}
        return {"image": ref.id, "image_width": ref.width, "image_height": ref.height}

    # -- reading ----------------------------------------------------------------------------------

    async def embeds(self, channel_id: str, ids: list[str], wait: bool) -> dict[str, list[s.Embed]]:
        if not self.s.link_previews or not ids:
            return {}
        consumer = self.node.bus.consumers.get(CONSUMER) if wait else None
        if consumer is not None:
            # A message sent a moment ago: its links are recorded once the consumer reaches it.
            with contextlib.suppress(TimeoutError):
                await consumer.caught_up(timeout=3.0)
        marks = ",".join("?" * len(ids))
        rows = await self.node.db.fetchall(queries.LINKS_OF.format(marks=marks), (channel_id, *ids))
        if not rows or not await self.enabled(rows[0]["community_id"]):
            return {}
        urls = sorted({r["url"] for r in rows})
        cached = await self._cached(urls)
        missing = [u for u in urls if u not in cached]
        if missing:
            tasks = [self.ensure(u) for u in missing]
            if wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        asyncio.gather(*tasks, return_exceptions=True), self.s.preview_timeout_s + 2
                    )
                cached = await self._cached(urls)
        store = self.node.services.get(MEDIA_STORE)
        out: dict[str, list[s.Embed]] = {}
        for link in rows:
            url = link["url"]
            r = cached.get(url)
            if r is None or not r["ok"] or not (r["title"] or r["description"] or r["image"]):
                continue
            image = None
            if r["image"] and store is not None:
                w, h = r["image_width"], r["image_height"]
                # A 640 px thumbnail exists only for larger images (the media plugin never upscales).
                variant = "thumb_640" if max(w or 0, h or 0) > 640 else "webp"
                image = s.EmbedImage(
                    media_id=r["image"], url=store.url(r["image"], variant), width=w, height=h
                )
            out.setdefault(link["target_id"], []).append(
                s.Embed(
                    url=url,
                    title=r["title"],
                    description=r["description"],
                    site_name=r["site_name"],
                    image=image,
                )
            )
        return out

    async def enabled(self, community_id: str | None) -> bool:
        if community_id is None:
            return True
        value = await self.node.db.fetchval(queries.PREVIEWS_ON, (community_id,))
        return value is None or bool(value)

    async def set_enabled(self, community_id: str, on: bool) -> None:
        await self.node.db.write(lambda conn: queries.set_previews_on(conn, community_id, on))

    async def suppress(self, target_id: str, user_id: str, on: bool) -> None:
        now = self.node.clock.time_ms()
        if on:
            await self.node.db.write(lambda conn: queries.suppress(conn, target_id, user_id, now))
        else:
            await self.node.db.write(lambda conn: queries.unsuppress(conn, target_id))

    async def link_owner(self, channel_id: str, target_id: str) -> str | None:
        """The author of a message or post with links in ``channel_id`` (None: no links known)."""
        return await self.node.db.fetchval(queries.LINK_OWNER, (target_id, channel_id))

    async def _cached(self, urls: list[str]) -> dict[str, Any]:
        """The stored preview of each of ``urls`` that has one (rows of queries.PREVIEWS_OF)."""
        marks = ",".join("?" * len(urls))
        rows = await self.node.db.fetchall(queries.PREVIEWS_OF.format(marks=marks), tuple(urls))
        return {r["url"]: r for r in rows}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _newest(conn: Connection, target: str, hlc: int, author: str | None, edit: bool) -> bool:
    """Record that ``target``'s links now come from this version, if it is the newest one: a create
    only when nothing came before it (an edit that arrived first is newer), an edit only when it is
    newer than what is recorded and by the same author."""
    row = conn.execute(queries.LINK_VERSION, (target,)).fetchone()
    if row is not None and (not edit or row["hlc"] >= hlc or row["author_id"] != author):
        return False
    queries.set_link_version(conn, target, hlc, author)
    return True


def _enabled(conn: Any, community_id: str | None) -> bool:
    if community_id is None:
        return True
    row = conn.execute(queries.PREVIEWS_ON, (community_id,)).fetchone()
    return row is None or bool(row["link_previews"])
