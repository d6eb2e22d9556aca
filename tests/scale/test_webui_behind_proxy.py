"""The web UI behind a load balancer that is not sticky (the nginx block of docs/scaling.md over two
edges): what a member just wrote is there on their next read, whichever edge answers it, because the
UI sends back the newest Cryb-Log-Position the node gave it (web/js/api.js)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.conftest import browser  # noqa: F401  (the fixture)
from tests.e2e.webui import new_page
from tests.e2e.webui import register as sign_up

from .conftest import needs_nats
from .test_proxies import Proxy, needs_nginx

pytestmark = [needs_nats, needs_nginx, pytest.mark.browser]

WRITE_THEN_READ = """async (rounds) => {
  const api = await import('/web/js/api.js');
  const refused = [];
  for (let i = 0; i < rounds; i++) {
    const c = await api.post('/api/v1/communities', { name: `Room ${i}`, public: true });
    try {
      await api.get(`/api/v1/communities/${c.id}/channels`);  // at once: often the other edge
    } catch (err) {
      refused.push(`${c.id}: ${err.status}`);
    }
  }
  return refused;
}"""


async def test_a_members_own_writes_are_there_on_the_next_read_through_any_edge(cluster, browser):  # noqa: F811
    cluster.start_primary()
    e1, e2 = cluster.start_edge("edge1"), cluster.start_edge("edge2")
    proxy = Proxy("nginx", cluster.root / "nginx", [e1.port, e2.port])
    try:
        async with aiohttp.ClientSession() as http:
            await proxy.wait_up(http)
        page = await new_page(browser)
        await sign_up(page, proxy.url, "ada")
        given: list[int] = []  # positions the node named in answers to community creations
        sent: list[int] = []  # positions the UI sent with the reads that followed them
        page.on(
            "response",
            lambda r: (
                r.request.method == "POST"
                and r.url.endswith("/api/v1/communities")
                and given.append(int(r.headers["cryb-log-position"]))
            ),
        )
        page.on(
            "request",
            lambda r: r.url.endswith("/channels") and sent.append(int(r.headers.get("cryb-log-position", 0))),
        )
        assert await page.evaluate(WRITE_THEN_READ, 12) == []
        # Each read asked for at least the position of the write before it (on a fast machine the
        # other edge has often applied the write anyway; the header is what makes it certain).
        assert len(given) == len(sent) == 12
        assert all(s >= g > 0 for g, s in zip(given, sent, strict=True)), (given, sent)
        assert page.errors == [] and page.external_requests == []
    finally:
        proxy.stop()
