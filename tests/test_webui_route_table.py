"""The web UI's route table (issue 23): every API path the UI calls is built in web/js/content.js, and
views call its named functions. An API path spelled anywhere else in web/js fails here; comments may
still name the endpoints they describe. api.js keeps only the session's own auth calls (refresh,
sign-in, sign-up, sign-out, first-run setup), which live with the token they manage."""

from __future__ import annotations

import re

from cryb_node.webui import web_root

JS = web_root() / "js"
TABLE = JS / "content.js"
API_PATH = re.compile(r"/api/v1/")
MEDIA_FILE = re.compile(r"""['"`]/media/""")
AUTH_INTERNALS = re.compile(r"['\"]/api/v1/auth/(refresh|login|register|logout|setup)['\"]")


def code_lines(text: str):
    """(line number, line) of what is not a comment: `//` lines and `/* ... */` blocks, written as
    the UI writes them (a comment starts its line), are skipped."""
    in_block = False
    for no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if in_block:
            in_block = "*/" not in s
            continue
        if s.startswith("/*"):
            in_block = "*/" not in s[2:]
            continue
        if s.startswith("//"):
            continue
        yield no, line


def modules():
    for path in sorted(JS.rglob("*.js")):
        rel = path.relative_to(JS).as_posix()
        if rel.startswith("vendor/") or path == TABLE:
            continue
        yield rel, path.read_text(encoding="utf-8")


def test_the_scan_sees_the_ui_and_the_table_holds_the_routes():
    names = {rel for rel, _ in modules()}
    assert {"api.js", "outbox.js", "store.js", "views/chat.js", "views/admin/bans.js"} <= names
    table = TABLE.read_text(encoding="utf-8")
    routes = re.findall(r"^  +\w+: \([^)]*\) =>", table, re.M)
    assert len(routes) > 150
    # Not fooled by a comment: code lines are still seen, comments are not.
    assert [no for no, _ in code_lines("// a\n/* b\n * c\n */\nx('/api/v1/y');\n/** d */\n")] == [5]


def test_no_api_path_is_spelled_outside_the_route_table():
    found = []
    for rel, text in modules():
        for no, line in code_lines(text):
            if not API_PATH.search(line):
                continue
            if rel == "api.js" and AUTH_INTERNALS.search(line):
                continue
            found.append(f"web/js/{rel}:{no}: {line.strip()}")
    assert not found, "API paths belong in web/js/content.js:\n" + "\n".join(found)


def test_media_file_urls_come_from_the_route_table():
    found = [
        f"web/js/{rel}:{no}: {line.strip()}"
        for rel, text in modules()
        for no, line in code_lines(text)
        if MEDIA_FILE.search(line)
    ]
    assert not found, "Media URLs belong in web/js/content.js (media.fileUrl):\n" + "\n".join(found)


def test_the_route_table_docs_call_only_functions_the_table_has():
    """docs/webui-routes.md shows views calling `R.area.name(...)`: each must be in content.js."""
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "webui-routes.md").read_text(encoding="utf-8")
    calls = set(re.findall(r"\bR\.(\w+)\.(\w+)\(", doc))
    assert calls, "the page shows no calls"
    table = TABLE.read_text(encoding="utf-8")
    areas = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^export const (\w+) = \{\n(.*?)^\};", table, flags=re.M | re.S)
    }
    for area, name in sorted(calls):
        assert area in areas, f"R.{area} is not an area of the table"
        assert re.search(rf"^  {name}: ", areas[area], flags=re.M), f"R.{area}.{name} is not in the table"
