"""Signing in after an account move: the node the account left refuses every sign-in with
410 account_moved naming the new home and has revoked its sessions; the new home made a local
account for it (no password or email travelled) whose owner sets a password through a single-use
link its admin issues, then signs in there and writes as before."""

from __future__ import annotations

import asyncio

from cryb_node.sync import archive, homes
from tests.conftest import run_cryb
from tests.sync.conftest import Fed, User, make_community, mesh
from tests.users_fixtures import PASSWORD, register_user


async def _login(f: Fed, login: str, password: str = PASSWORD) -> tuple[int, dict]:
    resp = await f.client.post("/api/v1/auth/login", json={"login": login, "password": password})
    return resp.status, await resp.json()


async def _settled(*feds: Fed) -> None:
    for f in feds:
        await f.node.bus.consumers["users.moves"].caught_up()


async def test_moved_account_signs_in_only_on_its_new_home(federation, tmp_path) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    alice_id, _ = await register_user(a.client, "alice_moves")
    status, pair = await _login(a, "alice_moves")
    assert status == 200
    alice = User(alice_id, pair["access_token"])
    await a.ok("PUT", f"/communities/{cid}/members/@me", alice, json={})
    await a.ok("POST", f"/channels/{text}/messages", alice, json={"content": "before the move"})
    await mesh([a, b], rounds=1)
    await archive.import_archive(b.node, await archive.export(a.node, "account", alice_id))
    # nothing special before the move: b has no account for alice to sign in to
    assert (await _login(b, "alice_moves"))[0] == 401

    await homes.move_account(a.node, alice_id, b.key, b.url)
    await mesh([a, b], rounds=1)
    await _settled(a, b)

    # the old node: sign-in refused with the new home, right or wrong password, and by refresh
    for password in (PASSWORD, "not the password"):
        status, problem = await _login(a, "alice_moves", password)
        assert status == 410, problem
        assert problem["code"] == "account_moved" and problem["moved_to"] == b.url
        assert b.url in problem["detail"]
    status, problem = await _login(a, "alice_moves@example.test")  # by email too
    assert status == 410 and problem["moved_to"] == b.url
    resp = await a.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status == 401
    # ... and the sessions it had are over
    status, _ = await a.call("GET", "/users/@me", alice)
    assert status == 401
    revoked = await a.node.db.fetchall(
        "SELECT revoke_reason FROM users_sessions WHERE user_id = ?", (alice_id,)
    )
    assert revoked and {r[0] for r in revoked} == {"moved"}
    # other accounts of the old node are untouched
    assert (await a.ok("GET", "/users/@me", owner))["id"] == owner.id

    # the new home: a local account without credentials (none travelled) ...
    row = await b.node.db.fetchone(
        "SELECT username, password_hash, email_ct, status FROM users_accounts WHERE id = ?", (alice_id,)
    )
    assert tuple(row) == ("alice_moves", None, None, "active")
    assert (await _login(b, "alice_moves"))[0] == 401  # the old password does not work there
    # ... whose owner sets a password through the single-use link b's admin issues
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n')
    done = await asyncio.to_thread(
        run_cryb,
        "--config",
        str(toml),
        "--data",
        str(b.node.data_dir),
        "user",
        "reset-password",
        "alice_moves",
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().rsplit("token=", 1)[1]
    resp = await b.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "a new home, a new key"}
    )
    assert resp.status == 204, await resp.text()
    resp = await b.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "once is enough!!"}
    )
    assert resp.status == 400  # single use
    status, pair_b = await _login(b, "alice_moves", "a new home, a new key")
    assert status == 200, pair_b
    alice_b = User(alice_id, pair_b["access_token"])
    assert (await b.ok("GET", "/users/@me", alice_b))["id"] == alice_id
    await b.ok("POST", f"/channels/{text}/messages", alice_b, json={"content": "after the move"})
    await mesh([a, b], rounds=1)
    texts = {r[0] for r in await a.node.db.fetchall("SELECT content FROM content_messages")}
    assert {"before the move", "after the move"} <= texts
    # the old node still refuses, even with the new password
    assert (await _login(a, "alice_moves", "a new home, a new key"))[0] == 410


async def test_moved_account_whose_name_is_taken_on_the_new_home_gets_another(federation) -> None:
    a, b = await federation(2)
    await register_user(b.client, "bob_moves")  # b's own bob
    bob_id, _ = await register_user(a.client, "bob_moves")
    await mesh([a, b], rounds=1)
    await homes.move_account(a.node, bob_id, b.key, b.url)
    await mesh([a, b], rounds=1)
    await _settled(a, b)
    name = await b.node.db.fetchval("SELECT username FROM users_accounts WHERE id = ?", (bob_id,))
    assert name.startswith("bob_moves_") and name != "bob_moves"
    # b's own bob still signs in as before; a's refuses
    assert (await _login(b, "bob_moves"))[0] == 200
    assert (await _login(a, "bob_moves"))[0] == 410


async def test_after_two_moves_every_earlier_home_refuses_and_names_the_latest(federation) -> None:
    a, b, c = await federation(3)
    carl_id, _ = await register_user(a.client, "carl_moves")
    await mesh([a, b, c], rounds=1)
    await homes.move_account(a.node, carl_id, b.key, b.url)
    await mesh([a, b, c], rounds=1)
    await _settled(a, b, c)
    await homes.move_account(b.node, carl_id, c.key, c.url)
    await mesh([a, b, c], rounds=2)
    await _settled(a, b, c)
    for f in (a, b):  # a's forwarding record now names b as the mover; a still refuses, naming c
        status, problem = await _login(f, "carl_moves")
        assert status == 410 and problem["moved_to"] == c.url, (f.name, problem)
    # c made the local account; b's (made by the first move) is refused like a's
    assert await c.count("SELECT count(*) FROM users_accounts WHERE id = ?", carl_id) == 1
    assert (await _login(c, "carl_moves"))[0] == 401  # no password until the link is used
