"""Discovery, pinning and who may call /federation/v1."""

from __future__ import annotations

import logging

import aiohttp
import nacl.signing

from cryb_node.sync import auth, peers
from cryb_node.sync.transport import PeerCallError, PeerClient
from cryb_node.sync.wire import Hello, HelloReply


async def test_well_known_names_the_node_key_and_certified_log_keys(federation) -> None:
    (a,) = await federation(1)
    card = await peers.fetch_card(a.url)
    assert card.node_key == a.key.hex()
    assert card.log_keys[0]["origin"] == a.node.identity.origin.hex()
    assert "cryb-federation/1" in card.protocols


async def test_pinned_peer_is_served(federation) -> None:
    a, b = await federation(2)
    async with aiohttp.ClientSession() as http:
        peer = await peers.get(a.node.db, b.key)
        reply = await PeerClient(http, a.node.identity.node_key, peer, a.node.clock).call(
            "hello", Hello(follows=[]), HelloReply
        )
    assert reply.node_key == b.key.hex()


async def test_unpinned_node_is_refused_with_403_and_logged(federation, caplog) -> None:
    a, b = await federation(2, pin=False)
    await a.pin(b)  # a trusts b, but b has not pinned a
    peer = await peers.get(a.node.db, b.key)
    with caplog.at_level(logging.WARNING, logger="cryb.sync"):
        async with aiohttp.ClientSession() as http:
            try:
                await PeerClient(http, a.node.identity.node_key, peer, a.node.clock).call(
                    "hello", Hello(follows=[]), HelloReply
                )
            except PeerCallError as err:
                assert err.status == 403
            else:
                raise AssertionError("an unpinned node was served")
    assert any(
        a.key.hex() in r.getMessage() and "not a pinned peer" in r.getMessage() for r in caplog.records
    )
    assert b.sync.refused == 1


async def test_unsigned_bad_and_replayed_calls_get_401(federation) -> None:
    a, b = await federation(2)
    path = "/federation/v1/hello"
    body = b"\x81\xa7follows\x90"
    resp = await b.client.post(path, data=body)
    assert resp.status == 401
    assert (await resp.json())["code"] == "node_signature_required"
    # signed by a key pretending to be a's: the signature does not verify under a's key
    now_ms = a.node.clock.time_ms()
    header, _ = auth.sign_request(
        nacl.signing.SigningKey.generate(), b.key, "POST", path, body, now_ms=now_ms
    )
    forged = f"{a.key.hex()}.{header.split('.', 1)[1]}"
    resp = await b.client.post(path, data=body, headers={auth.HEADER: forged})
    assert resp.status == 401 and (await resp.json())["code"] == "invalid_node_signature"
    # a genuine one, sent twice: the second is a replay
    header, _ = auth.sign_request(a.node.identity.node_key, b.key, "POST", path, body, now_ms=now_ms)
    assert (await b.client.post(path, data=body, headers={auth.HEADER: header})).status == 200
    resp = await b.client.post(path, data=body, headers={auth.HEADER: header})
    assert resp.status == 401 and "replayed" in (await resp.json())["detail"]
    # signed for another node (audience) or too old
    header, _ = auth.sign_request(a.node.identity.node_key, a.key, "POST", path, body, now_ms=now_ms)
    assert (await b.client.post(path, data=body, headers={auth.HEADER: header})).status == 401
    header, _ = auth.sign_request(a.node.identity.node_key, b.key, "POST", path, body, now_ms=1)
    assert (await b.client.post(path, data=body, headers={auth.HEADER: header})).status == 401


async def test_answer_not_signed_by_the_pinned_key_is_refused(federation) -> None:
    a, b, c = await federation(3)
    # a pins c's key at b's address: b answers, but not as c
    await peers.pin(a.node.db, c.key, b.url, "impostor", now=a.node.clock.time())
    peer = await peers.get(a.node.db, c.key)
    async with aiohttp.ClientSession() as http:
        try:
            await PeerClient(http, a.node.identity.node_key, peer, a.node.clock).call(
                "hello", Hello(follows=[]), HelloReply
            )
        except PeerCallError as err:
            assert err.status in (401, 200)
        else:
            raise AssertionError("an impostor's answer was accepted")
