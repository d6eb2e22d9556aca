"""Identifiers and the hybrid logical clock."""

from __future__ import annotations

import threading

from cryb_node.clock import HLC, new_id, wall_ms


def test_ids_made_in_one_millisecond_sort_in_the_order_they_were_made():
    ids = [new_id() for _ in range(5000)]  # thousands per millisecond on any machine
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 for i in ids)


def test_ids_stay_ordered_and_unique_across_threads():
    made: list[list[str]] = [[] for _ in range(4)]

    def work(out: list[str]) -> None:
        for _ in range(2000):
            out.append(new_id())

    threads = [threading.Thread(target=work, args=(m,)) for m in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for m in made for i in m]
    assert len(set(every)) == len(every)
    assert all(m == sorted(m) for m in made)


def test_hlc_is_strictly_increasing_even_when_the_wall_clock_stands_still():
    clock = HLC(now_ms=lambda: 1_000)
    ticks = [clock.tick() for _ in range(100)]
    assert ticks == sorted(set(ticks))
    assert {wall_ms(t) for t in ticks} == {1_000}
