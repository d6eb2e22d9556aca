"""The UI's files over HTTP (a real node on loopback): versioned under /assets/<content hash>/ and kept
for a year, compressed as the client asks (brotli, gzip), while the page and the service worker are
revalidated with ETags (a 304 when nothing changed)."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import aiohttp
import brotli
import pytest

from cryb_node import static
from cryb_node.app import build_app
from cryb_node.webui import web_root
from tests.conftest import make_config

YEAR = "public, max-age=31536000, immutable"


@pytest.fixture
async def node(aiohttp_server, tmp_path):
    """The node's URL and a raw HTTP session: no automatic decompression, no default Accept-Encoding,
    so what the node put on the wire is what the test sees."""
    server = await aiohttp_server(build_app(make_config(tmp_path / "data")))
    async with aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=["Accept-Encoding"]) as http:
        yield f"http://127.0.0.1:{server.port}", http


async def get(http, url, **headers):
    async with http.get(url, headers=headers) as resp:
        return resp.status, resp.headers, await resp.read()


async def prefix(http, base) -> str:
    _, _, body = await get(http, f"{base}/")
    return re.search(r'src="(/assets/[0-9a-f]{16}/)js/main\.js"', body.decode()).group(1)


async def test_page_points_at_versioned_files_and_preloads_the_first_screens_modules(node):
    base, http = node
    status, headers, body = await get(http, f"{base}/channels/@me")
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assets = await prefix(http, base)
    assert f'<link rel="stylesheet" href="{assets}app.css">' in page
    assert not re.search(r'(href|src)="/web/', page)
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', page)
    # The modules main.js reaches by static imports, however deep, all under the same version.
    # The chat view's parts among them: the service worker keeps what the first screen loaded, so
    # they are there for a cold start offline too.
    chat = ("chat.js", "chat_history.js", "chat_messages.js", "composer.js")
    for module in ("js/api.js", "js/dom.js", "js/views/shell.js", *(f"js/views/{m}" for m in chat)):
        assert f"{assets}{module}" in preloads
    # Dynamically imported modules (the admin tabs, the proof-of-work worker) stay lazy.
    assert not [p for p in preloads if "/views/admin/" in p or p.endswith("pow-worker.js")]
    assert len(preloads) == len(set(preloads))
    for url in preloads:
        status, headers, _ = await get(http, f"{base}{url}")
        assert status == 200 and headers["Cache-Control"] == YEAR


@pytest.mark.parametrize("path", ["js/main.js", "js/views/chat.js", "app.css", "icon.svg"])
async def test_versioned_files_are_cached_for_a_year(node, path):
    base, http = node
    status, headers, body = await get(http, f"{base}{await prefix(http, base)}{path}")
    assert status == 200
    assert headers["Cache-Control"] == YEAR
    assert body == (web_root() / path).read_bytes()  # no Accept-Encoding: the file as it is
    assert "Content-Encoding" not in headers


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br", "br"),
        ("br;q=1.0, gzip;q=0.8", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("deflate", None),
        ("identity", None),
    ],
)
async def test_compression_follows_accept_encoding(node, accept, coding):
    base, http = node
    status, headers, body = await get(
        http, f"{base}{await prefix(http, base)}js/views/shell.js", **{"Accept-Encoding": accept}
    )
    raw = (web_root() / "js/views/shell.js").read_bytes()
    assert status == 200
    assert headers["Vary"] == "Accept-Encoding"
    assert headers.get("Content-Encoding") == coding
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding](body)
    assert decoded == raw
    if coding:
        assert len(body) < len(raw) / 3
        assert int(headers["Content-Length"]) == len(body)


@pytest.mark.parametrize("path", ["/", "/channels/@me", "/sw.js"])
async def test_page_and_service_worker_are_revalidated_and_answer_304(node, path):
    base, http = node
    status, headers, body = await get(http, f"{base}{path}", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Cache-Control"] == "no-cache"
    tag = headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]+(-gzip)?"', tag)

    status, headers, body = await get(
        http, f"{base}{path}", **{"Accept-Encoding": "gzip", "If-None-Match": tag}
    )
    assert status == 304 and body == b""
    assert headers["ETag"] == tag and headers["Cache-Control"] == "no-cache"
    # A tag the node never gave (or another coding's tag) gets the full answer.
    status, _, body = await get(
        http, f"{base}{path}", **{"Accept-Encoding": "gzip", "If-None-Match": '"stale"'}
    )
    assert status == 200 and body


async def test_versioned_file_answers_304_to_its_etag(node):
    base, http = node
    url = f"{base}{await prefix(http, base)}js/dom.js"
    _, headers, _ = await get(http, url, **{"Accept-Encoding": "br"})
    status, again, body = await get(http, url, **{"Accept-Encoding": "br", "If-None-Match": headers["ETag"]})
    assert status == 304 and body == b"" and again["Cache-Control"] == YEAR


async def test_service_worker_caches_this_versions_files(node):
    base, http = node
    assets = await prefix(http, base)
    status, headers, body = await get(http, f"{base}/sw.js")
    worker = body.decode()
    assert status == 200 and headers["Service-Worker-Allowed"] == "/"
    assert f"const ASSETS = '{assets}';" in worker
    assert "const ASSETS = '/web/';" not in worker


async def test_an_old_versions_url_gets_todays_file_but_not_for_keeps(node):
    base, http = node
    status, headers, body = await get(http, f"{base}/assets/0000000000000000/js/main.js")
    assert status == 200 and body == (web_root() / "js/main.js").read_bytes()
    assert headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "__init__.py",
        "index.html",
        "sw.js",
        "../cryb_node/app.py",
        "%2e%2e/setup.cfg",
        "js/missing.js",
        ".hidden.js",
        "vendor/VERSIONS",
    ],
)
async def test_nothing_but_the_ui_files_is_served_under_assets(node, path):
    base, http = node
    status, _, _ = await get(http, f"{base}{await prefix(http, base)}{path}")
    assert status == 404


async def test_each_file_is_compressed_once_not_per_request(node):
    base, http = node
    url = f"{base}{await prefix(http, base)}js/views/forum.js"
    await get(http, url, **{"Accept-Encoding": "br"})
    before = static.encode.cache_info()
    for _ in range(3):
        status, headers, _ = await get(http, url, **{"Accept-Encoding": "br"})
        assert status == 200 and headers["Content-Encoding"] == "br"
    after = static.encode.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 3


def test_the_version_changes_when_any_file_does(tmp_path):
    copy = tmp_path / "web"
    shutil.copytree(web_root(), copy, ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    first = static.Bundle(copy)
    assert static.Bundle(copy).version == first.version  # the same files, the same version
    (copy / "js" / "dom.js").write_text((copy / "js" / "dom.js").read_text() + "\n// changed\n")
    changed = static.Bundle(copy)
    assert changed.version != first.version
    assert changed.prefix in changed.page("index.html", "js/main.js")[0].decode()


def test_apps_share_one_read_of_the_files_until_one_changes(tmp_path):
    copy = tmp_path / "web"
    shutil.copytree(web_root(), copy, ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    first = static.bundle(copy)
    assert static.bundle(copy) is first
    (copy / "js" / "dom.js").write_text((copy / "js" / "dom.js").read_text() + "\n// changed\n")
    changed = static.bundle(copy)
    assert changed is not first and changed.version != first.version
    assert changed.files["js/dom.js"].endswith(b"// changed\n")


def test_preloads_follow_static_imports_only(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "main.js").write_text(
        "import { x } from './a/x.js';\nimport {\n  y,\n} from './y.js';\nconst z = await import('./z.js');\n"
    )
    (tmp_path / "a" / "x.js").write_text(
        "import '../y.js';\nexport { w } from './w.js';\nexport const x = 1;\n"
    )
    for name in ("y.js", "z.js", "a/w.js"):
        (tmp_path / name).write_text("export const v = 1;\n")
    assert static.Bundle(tmp_path).preloads("main.js") == ["main.js", "a/x.js", "y.js", "a/w.js"]


def test_the_stylesheet_closes_every_block_and_no_file_holds_merge_markers():
    # One unclosed @media block silently scopes every rule after it (seen: a merge left the thread
    # pane's desktop block open, so the phone layout of every later feature was lost).

    web = Path(__file__).resolve().parents[1] / "web"
    css = re.sub(r"/\*.*?\*/", "", (web / "app.css").read_text(), flags=re.S)
    depth = 0
    for line_no, line in enumerate(css.splitlines(), 1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"app.css closes a block it never opened at line {line_no}"
    assert depth == 0, "app.css leaves a block open"
    for path in web.rglob("*"):
        if path.suffix in {".js", ".css", ".html"} and "vendor" not in path.parts:
            text = path.read_text()
            assert not re.search(r"^(<<<<<<<|>>>>>>>|=======$)", text, re.M), path
