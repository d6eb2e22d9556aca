"""Search analytics over time: the stats window counts the queries of its last days, and the daily
prune forgets those older than analytics_retention_days (the node's clock is stepped, not waited)."""

from __future__ import annotations

from cryb_node.appkeys import NODE

from .conftest import found, indexed


async def test_the_stats_window_and_the_prune_follow_the_nodes_clock(world, clock):
    from cryb_plugins.search import state_of

    c, owner = world.client, world.space.owner
    await indexed(c)
    await found(c, owner, "garden")
    service = state_of(c.server.app[NODE]).service
    assert (await service.stats(days=1)).queries == 1

    clock.advance(2 * 86_400)
    assert (await service.stats(days=1)).queries == 0  # two days ago: outside a one-day window
    assert (await service.stats(days=30)).queries == 1

    clock.advance(service.settings.analytics_retention_days * 86_400)
    await service.prune()
    assert (await service.stats(days=10_000)).queries == 0
