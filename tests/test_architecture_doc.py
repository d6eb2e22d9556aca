"""docs/architecture.md names a module and a function at each step: every file it names exists, and
every name it puts after a file (or as Class.method) is defined there, so the page stays true."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

DOC = ROOT / "docs" / "architecture.md"
SOURCES = [p for top in ("cryb_node", "plugins") for p in (ROOT / top).rglob("*.py")]


def _file(name: str) -> Path:
    for base in (ROOT, ROOT / "cryb_node"):
        if (base / name).is_file():
            return base / name
    if "/" not in name and any((ROOT / "plugins").glob(f"*/{name}")):  # a kind of plugin file
        return next((ROOT / "plugins").glob(f"*/{name}"))
    raise AssertionError(f"docs/architecture.md names {name}, which does not exist")


def _defines(text: str, name: str) -> bool:
    return (
        re.search(rf"^\s*(async def|def|class) {re.escape(name)}\b|^{re.escape(name)} = ", text, re.M)
        is not None
    )


def _call_name(token: str) -> str:
    return token.split("(")[0].strip()


def test_every_module_and_function_the_architecture_page_names_exists():
    text = DOC.read_text()
    checked = 0
    # `path.py` `Name` or `path.py` `Class.method`: the name is defined in that file.
    for path, name in re.findall(r"`([\w/]+\.py)` `([A-Za-z_][\w.]*)", text):
        source = _file(path).read_text()
        for part in _call_name(name).split("."):
            assert _defines(source, part), f"{path} has no {part} (docs/architecture.md)"
        checked += 1
    # every other `file.py` named exists
    for path in re.findall(r"`([\w/]+\.py)`", text):
        _file(path)
    # `Class.method` anywhere: the class and the method are defined in the core or a plugin
    everything = "\n".join(p.read_text() for p in SOURCES)
    for cls, meth in re.findall(r"`([A-Z]\w+)\.(\w+)[`(]", text):
        assert _defines(everything, cls) and _defines(everything, meth), f"{cls}.{meth} is not defined"
        checked += 1
    assert checked >= 30


def test_the_readme_links_the_architecture_page():
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text()
