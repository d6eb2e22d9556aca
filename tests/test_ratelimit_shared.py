"""Rate-limit windows shared by the processes of one node (cryb_node/gateway/ratelimit.py,
share_through): two limiters whose node.signals are joined the way the NATS relay joins them, on a
clock the test moves. tests/scale/test_edge_shared.py runs the same over NATS between real edges."""

from __future__ import annotations

import asyncio

import msgspec

from cryb_node.config import RateLimitSection, RateRule
from cryb_node.http.ratelimit import SHARE_EVERY_S, RateLimiter
from cryb_node.signals import Signals


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def joined(clock: Clock, limit: int = 5, window_s: float = 60) -> tuple[RateLimiter, RateLimiter]:
    config = RateLimitSection(buckets={"invites": RateRule(limit=limit, window_s=window_s)})
    a, b = RateLimiter(config, clock), RateLimiter(config, clock)
    sa, sb = Signals(), Signals()
    sa.transport = sb.deliver  # what the relay does over NATS, without the network
    sb.transport = sa.deliver
    a.share_through(sa)
    b.share_through(sb)
    return a, b


async def shared() -> None:
    await asyncio.sleep(SHARE_EVERY_S * 3)


async def test_hits_in_one_process_use_up_the_window_in_the_other():
    clock = Clock()
    a, b = joined(clock)
    assert all(a.hit("invites", "ip:203.0.113.9").allowed for _ in range(3))
    await shared()
    assert [b.hit("invites", "ip:203.0.113.9").allowed for _ in range(3)] == [True, True, False]
    await shared()
    assert not a.hit("invites", "ip:203.0.113.9").allowed
    # another caller and another bucket are their own
    assert b.hit("invites", "ip:198.51.100.1").allowed
    assert b.hit("default", "ip:203.0.113.9").allowed


async def test_a_window_opened_by_another_process_ends_where_it_does_there():
    clock = Clock()
    a, b = joined(clock, limit=2, window_s=60)
    a.hit("invites", "user:1")
    a.hit("invites", "user:1")
    await shared()
    clock.now += 30
    refused = b.hit("invites", "user:1")
    assert not refused.allowed and refused.reset_after == 30
    clock.now += 31
    assert b.hit("invites", "user:1").allowed  # the window both counted in is over


async def test_hits_of_a_window_already_over_are_not_counted():
    clock = Clock()
    _, b = joined(clock, limit=1, window_s=10)
    # a late share (NATS was slow): hits from a window that ended 10 s ago
    b._merge(msgspec.msgpack.encode([["invites", "user:2", clock.now - 20, 5]]))
    assert b.hit("invites", "user:2").allowed


async def test_a_malformed_share_is_ignored():
    clock = Clock()
    _, b = joined(clock, limit=1)
    b._merge(b"not msgpack \xc1")
    assert b.hit("invites", "user:3").allowed
