"""The ``users.admin_changed`` signal between a node's processes: an edge counts an admin claim as
issued less the demotions the primary signalled. A malformed payload changes nothing, and a signal
can only take admin powers away, never grant them to a token without the claim."""

from __future__ import annotations

from cryb_plugins.users import ADMINS

from cryb_node.appkeys import NODE

from .conftest import users_service


async def test_an_edge_follows_demotions_and_ignores_malformed_signals(uclient):
    node = uclient.app[NODE]
    tokens = users_service(uclient).tokens
    tokens.edge = True  # as on an edge: no account rows to re-read
    admin = tokens.issue("u_admin", "s1", admin=True)
    plain = tokens.issue("u_plain", "s2", admin=False)

    async def is_admin(token: str) -> bool:
        who = await tokens.authenticate(token)
        assert who is not None
        return who.admin

    assert await is_admin(admin) and not await is_admin(plain)
    for bad in (b"", b"not json", b"[]", b'["u_admin"]', b'["u_admin", "no"]', b'{"u_admin": false}',
                b'[1, false]', b'["u_admin", false, 3]', b"\xff" * 64):  # fmt: skip
        node.signals.deliver(ADMINS, bad)
    assert await is_admin(admin)
    node.signals.deliver(ADMINS, b'["u_admin", false]')
    assert not await is_admin(admin)
    node.signals.deliver(ADMINS, b'["u_plain", true]')  # a signal grants nothing without the claim
    assert not await is_admin(plain)
    node.signals.deliver(ADMINS, b'["u_admin", true]')
    assert await is_admin(admin)
