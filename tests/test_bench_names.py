"""The bench scripts are run by hand (`make bench`), not by `make test`: a rename in the node must
not leave them calling a name that is gone. Every ``from cryb_... import name`` they make, and every
``module.attribute`` they read off an imported cryb module, must exist."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import ROOT

BENCHES = sorted((ROOT / "bench").glob("*.py"))
OURS = ("cryb_node", "cryb_plugins")


def _ours(name: str | None) -> bool:
    return name is not None and name.split(".")[0] in OURS


@pytest.mark.parametrize("script", BENCHES, ids=[p.name for p in BENCHES])
def test_a_bench_script_names_only_what_the_node_has(script: Path):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    modules: dict[str, object] = {}  # local name -> an imported module of ours
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    module = importlib.import_module(alias.name)
                    if alias.asname:
                        modules[alias.asname] = module
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _ours(node.module):
            assert node.module is not None
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:
                    try:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        missing.append(f"{node.module}.{alias.name}")
                        continue
                if hasattr(value, "__path__") or type(value).__name__ == "module":
                    modules[alias.asname or alias.name] = value
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = modules.get(node.value.id)
            if module is not None and not hasattr(module, node.attr):
                missing.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    assert missing == [], f"{script.name} names what the node no longer has"
