"""Modules imported on first use: libraries that cost start-up time and resident memory (libvips,
the data console's sqlite-utils, QR codes) while most nodes go long stretches without needing them.

    if TYPE_CHECKING:
        import pyvips
    else:
        pyvips = lazy.module("pyvips")

Python 3.11's lazy modules are not safe to load from two threads at once: code that may first
touch one in a worker thread calls ``ready(mod)`` before using it.
The plain ``import`` under TYPE_CHECKING keeps type checkers and PyInstaller's import scan seeing it.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType


def module(name: str) -> ModuleType:
    """``name`` as a module object whose code runs on its first attribute access."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    loader.exec_module(mod)
    return mod


_loading = threading.Lock()


def ready(mod: ModuleType) -> ModuleType:
    """Run a lazy module's code now (once, under a lock) and return it."""
    with _loading:
        mod.__spec__  # noqa: B018 - any attribute access loads it
    return mod
