"""`cryb serve` tunes the garbage collector once it listens (cryb_node.server.tune_gc)."""

from __future__ import annotations

import gc

from cryb_node.server import GC_THRESHOLD, tune_gc


def test_serving_freezes_what_startup_built_and_collects_young_objects_less_often():
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLD
        assert GC_THRESHOLD[0] > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
