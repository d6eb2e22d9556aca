"""The web UI's files as one versioned bundle: a content hash over web/, each file's gzip and brotli
bodies (made once, then kept in memory), and the HTTP answers for them (immutable, revalidated, 304).

Why one hash for the whole tree rather than a hash per file: the UI is vanilla ES modules with
relative imports (`./dom.js`) and no build step. Serving the tree under /assets/<hash>/ keeps every
relative import, `new URL('./pow-worker.js', import.meta.url)` and dynamic `import()` working
unchanged, and only index.html and sw.js (rewritten here at start) need to know the hash. A hash per
file would need an import map, which module workers do not see. The cost: any release changes every
URL, so browsers fetch the whole UI again once per release, which on a self-hosted node is rare.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

import brotli
from aiohttp import web

# A year, the longest cache lifetime browsers honour: the URL changes whenever the content does.
IMMUTABLE = "public, max-age=31536000, immutable"
# The page and the service worker name the current hash, so they are always revalidated (a 304 when
# nothing changed) and a new release takes over on the next load.
REVALIDATE = "no-cache"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".txt": "text/plain",
    ".html": "text/html",
}
# Text compresses well; images and fonts are compressed formats already.
COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".txt", ".html"}
# Below this, headers outweigh what compression saves.
MIN_COMPRESS = 512
# A static import or re-export of a relative module (`import { h } from './dom.js'`, `import './x.js'`,
# `export { a } from './a.js'`), possibly over several lines; no parentheses, so `import('./x.js')` in
# a function body (a lazy load) is not taken for one.
_STATIC_IMPORT = re.compile(r"^\s*(?:import|export)\b[^;'\"()]*?['\"](\.{1,2}/[^'\"]+)['\"]", re.M)


@lru_cache(maxsize=512)
def encode(data: bytes, coding: str) -> bytes:
    """``data`` compressed once per process (every app in a test run shares it): brotli at its best
    quality (slow, but done once per file and release), gzip at level 9."""
    if coding == "br":
        return brotli.compress(data, quality=11)
    return gzip.compress(data, compresslevel=9, mtime=0)


@lru_cache(maxsize=1024)
def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=10).hexdigest()


def accepted(header: str) -> list[str]:
    """The codings the client takes, best first (br, then gzip); a ``q=0`` refuses one."""
    taken = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=")
        try:
            weight = float(q) if params.strip().startswith("q=") else 1.0
        except ValueError:
            weight = 1.0
        if weight > 0:
            taken.add(name.strip().lower())
    return [c for c in ("br", "gzip") if c in taken]


def _servable(root: Path) -> list[tuple[str, Path]]:
    """The files under ``root`` that may be served (no dot-files, no Python), by relative path."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and path.suffix in TYPES and not any(p.startswith(".") for p in rel.parts):
            out.append((rel.as_posix(), path))
    return out


def bundle(root: Path) -> Bundle:
    """``Bundle(root)``, read once per process while its files stay as they are: every app built in
    one process (a test run builds a thousand) shares it, and a changed file makes a new one."""
    stamp = tuple((rel, path.stat().st_mtime_ns, path.stat().st_size) for rel, path in _servable(root))
    return _bundle(root, stamp)


@lru_cache(maxsize=4)
def _bundle(root: Path, stamp: tuple[tuple[str, int, int], ...]) -> Bundle:
    return Bundle(root)


class Bundle:
    """The files under ``root`` that may be served (no dot-files, no Python), read once at start."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, bytes] = {}
        digest = hashlib.sha256()
        for rel, path in _servable(root):
            data = path.read_bytes()
            self.files[rel] = data
            digest.update(rel.encode() + b"\0" + data + b"\0")
        self.version = digest.hexdigest()[:16]
        self.prefix = f"/assets/{self.version}/"

    def preloads(self, entry: str) -> list[str]:
        """The modules ``entry`` imports statically, transitively (the first screen's module graph), in
        the order found; dynamic ``import()`` stays lazy and is not listed."""
        seen: list[str] = []
        todo = [entry]
        while todo:
            rel = todo.pop(0)
            if rel in seen or rel not in self.files:
                continue
            seen.append(rel)
            base = Path(rel).parent
            for spec in _STATIC_IMPORT.findall(self.files[rel].decode("utf-8", "replace")):
                todo.append(_normalise(base / spec))
        return seen

    def page(self, name: str, entry: str) -> tuple[bytes, str]:
        """index.html pointing at the versioned files, and the CSP source allowing its import map.

        The page gets a modulepreload hint for every module of the first screen, so the browser
        fetches them in parallel instead of one import level at a time. Its import map sends any
        import of /web/... (scripts run in the page, a bookmarklet, the tests) to the versioned URL:
        a module is one instance per URL, and /web/js/api.js must be the instance the app uses."""
        text = self.files[name].decode()
        text = text.replace('"/web/', f'"{self.prefix}')
        imports = json.dumps({"imports": {"/web/": self.prefix}}, separators=(",", ":"))
        source = "'sha256-" + base64.b64encode(hashlib.sha256(imports.encode()).digest()).decode() + "'"
        # The import map must come before any module load, preloads included.
        text = text.replace("<title>", f'<script type="importmap">{imports}</script>\n<title>', 1)
        hints = "".join(
            f'<link rel="modulepreload" href="{self.prefix}{m}">\n' for m in self.preloads(entry)[1:]
        )
        return text.replace("</head>", hints + "</head>", 1).encode(), source

    def warm(self, bodies: list[bytes]) -> None:
        """Compress ``bodies`` in both codings now (run in a thread at start), so that not even the
        first visitor after a restart waits for brotli."""
        for body in bodies:
            if len(body) >= MIN_COMPRESS:
                for coding in ("br", "gzip"):
                    encode(body, coding)

    def worker(self, name: str) -> bytes:
        """sw.js with its ASSETS constant set to this version's prefix (a new release is a new worker)."""
        text = self.files[name].decode()
        return text.replace("const ASSETS = '/web/';", f"const ASSETS = '{self.prefix}';", 1).encode()


def _normalise(path: Path) -> str:
    parts: list[str] = []
    for part in path.as_posix().split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


async def respond(
    request: web.Request, body: bytes, suffix: str, cache: str, headers: dict[str, str] | None = None
) -> web.Response:
    """``body`` as the client prefers it (brotli, gzip or as is), with a strong ETag per coding and a
    304 when the client already holds it."""
    headers = {"Cache-Control": cache, **(headers or {})}
    coding = ""
    if suffix in COMPRESSIBLE and len(body) >= MIN_COMPRESS:
        headers["Vary"] = "Accept-Encoding"
        codings = accepted(request.headers.get("Accept-Encoding", ""))
        coding = codings[0] if codings else ""
    tag = f'"{_digest(body)}-{coding}"' if coding else f'"{_digest(body)}"'
    headers["ETag"] = tag
    if tag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    if coding:
        # Made once per file (then cached); off the event loop, as brotli's best quality is slow.
        body = await asyncio.to_thread(encode, body, coding)
        headers["Content-Encoding"] = coding
    headers["Content-Type"] = TYPES.get(suffix, "application/octet-stream")
    if suffix in COMPRESSIBLE and "charset" not in headers["Content-Type"]:
        headers["Content-Type"] += "; charset=utf-8"
    return web.Response(body=body, headers=headers)
