"""The `e2e`, `fuzz` and `process` markers, put on tests by where they live and what they run, so a
test file need not remember them and `make test-fast` (``-m "not (slow or e2e or fuzz or process)"``)
leaves out exactly the tests that drive a browser, search for inputs, or start `cryb` processes.

- e2e: tests under tests/e2e/, or marked ``browser``, or using the ``browser``/``page`` fixtures.
- fuzz: tests in a file whose name says fuzz or property (schemathesis and Hypothesis searches).
- process: tests whose code, or a helper or fixture it calls, starts a `cryb` child process: a name
  from SPAWNERS, or the ``cryb_node`` module or a ``cryb`` executable run as a subprocess. Helpers
  are followed through the test module's globals and fixture functions, so a new test that calls
  ``run_cryb`` is marked. Also every test under tests/replication and tests/scale: they run the
  outside programs those features are made of (Litestream, an S3 server, nats-server, proxies),
  and spend their time waiting for them.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

SPAWNERS = frozenset({"run_cryb", "NodeProcess", "node_process", "spawn_node", "cli_node"})
BROWSER_FIXTURES = frozenset({"browser", "page"})
E2E_DIR = Path(__file__).resolve().parent.parent / "e2e"
PROCESS_DIRS = tuple(Path(__file__).resolve().parent.parent / d for d in ("replication", "scale"))


def _spawns(code: types.CodeType, scope: dict[str, Any], seen: set[int]) -> bool:
    """Whether ``code`` (or a function of ``scope`` it names, or a nested function) starts `cryb`."""
    if id(code) in seen:
        return False
    seen.add(id(code))
    if SPAWNERS & set(code.co_names) or SPAWNERS & set(code.co_varnames):
        return True
    for const in code.co_consts:
        # [sys.executable, "-m", "cryb_node", ...] or an installed venv's bin/cryb
        if {"executable", "subprocess", "Popen"} & set(code.co_names) and (
            const == "cryb_node" or (const == "cryb" and "bin" in code.co_consts)
        ):
            return True
        if isinstance(const, types.CodeType) and _spawns(const, scope, seen):
            return True
    for name in code.co_names:
        value = scope.get(name)
        func = getattr(value, "__func__", value)
        if isinstance(func, types.FunctionType) and func.__module__ == scope.get("__name__"):
            if _spawns(func.__code__, func.__globals__, seen):
                return True
        elif isinstance(value, type) and value.__module__ == scope.get("__name__"):
            for attr in vars(value).values():
                attr = getattr(attr, "__func__", attr)
                if isinstance(attr, types.FunctionType) and _spawns(attr.__code__, attr.__globals__, seen):
                    return True
    return False


def _starts_processes(item: pytest.Function) -> bool:
    if SPAWNERS & set(item.fixturenames):
        return True
    seen: set[int] = set()
    func = getattr(item.obj, "__func__", item.obj)
    hypothesis_inner = getattr(getattr(func, "hypothesis", None), "inner_test", None)
    for f in (func, hypothesis_inner):
        if isinstance(f, types.FunctionType) and _spawns(f.__code__, f.__globals__, seen):
            return True
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else ():
        for fixturedef in defs:
            f = getattr(fixturedef.func, "__func__", fixturedef.func)
            f = getattr(f, "__wrapped__", f)
            if isinstance(f, types.FunctionType) and _spawns(f.__code__, f.__globals__, seen):
                return True
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        path = Path(str(item.path))
        if (
            E2E_DIR in path.parents
            or item.get_closest_marker("browser")
            or BROWSER_FIXTURES & set(item.fixturenames)
        ):
            item.add_marker(pytest.mark.e2e)
        if "fuzz" in path.name or "property" in path.name:
            item.add_marker(pytest.mark.fuzz)
        if any(d in path.parents for d in PROCESS_DIRS) or _starts_processes(item):
            item.add_marker(pytest.mark.process)
