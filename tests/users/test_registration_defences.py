"""Bot defences on sign-up that need no third-party service: the honeypot field, sign-up rate limits
per address and node-wide (kept across a restart), and the proof-of-work challenge (missing, wrong,
replayed, expired). Every refusal is audited with its reason and nothing about the applicant."""

from __future__ import annotations

from cryb_plugins.users.signup_defences import solve

from cryb_node.app import build_app
from tests.users.conftest import count
from tests.users.registration_fixtures import (
    accounts_named,
    refusals,
    reg_client,
    reg_config,
    registration,
    signup,
)

# Rate limits on (the sign-up limits follow [rate_limits] enabled), with room in the auth bucket so
# only the sign-up limits are tested; 127.0.0.1 is a trusted proxy so each test picks its addresses.
LIMITED = {
    "rate_limits": {"enabled": True, "buckets": {"auth": {"limit": 1000, "window_s": 60}}},
    "server": {"trusted_proxies": ["127.0.0.1"]},
}


def from_(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def test_a_bot_filling_the_honeypot_is_refused_without_being_told_why(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path)
    status, out = await signup(client, "busy_bot", website="https://spam.example")
    assert (status, out["code"]) == (400, "signup_refused")
    assert "field" not in out
    for telltale in ("website", "honeypot", "hidden", "bot"):
        assert telltale not in out["detail"].lower()
    assert await accounts_named(client, "busy_bot") == 0
    assert await refusals(client) == ["honeypot"]
    # The same sign-up without the field goes through.
    status, _ = await signup(client, "busy_bot")
    assert status == 201


async def test_refusals_are_audited_with_the_reason_and_no_personal_data(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    await signup(client, "privacy_check", website="x")
    await signup(client, "privacy_check", invite="wrong")
    rows = await _audit_rows(client)
    assert [d for d, _, _ in rows] == [
        '{"reason":"honeypot","mode":"invite"}',
        '{"reason":"invite_invalid","mode":"invite"}',
    ]
    for detail, ip_ct, user_id in rows:
        assert "privacy_check" not in detail and "example.test" not in detail
        assert (
            user_id is None and ip_ct is not None and b"127.0.0.1" not in ip_ct
        )  # sealed, as audit keeps it


async def _audit_rows(client):
    from cryb_node.appkeys import NODE

    return await client.app[NODE].db.fetchall(
        "SELECT detail, ip_ct, user_id FROM users_audit WHERE action = 'registration.refused' ORDER BY id"
    )


async def test_sign_ups_are_limited_per_address(aiohttp_client, tmp_path, clock):
    limits = {"registration_address_limit": 2, "registration_address_window_s": 600}
    client = await reg_client(aiohttp_client, tmp_path, users=limits, clock=clock, **LIMITED)
    for name in ("from_a_1", "from_a_2"):
        assert (await signup(client, name, headers=from_("203.0.113.1")))[0] == 201
    resp = await client.post(
        "/api/v1/auth/register",
        json={"username": "from_a_3", "email": "a3@example.test", "password": "correct horse battery"},
        headers=from_("203.0.113.1"),
    )
    out = await resp.json()
    assert (resp.status, out["code"]) == (429, "signup_rate_limited")
    assert "your address" in out["detail"] and 1 <= int(resp.headers["Retry-After"]) <= 600
    # another address is not held back
    assert (await signup(client, "from_b_1", headers=from_("203.0.113.2")))[0] == 201
    assert await accounts_named(client, "from_a_3") == 0
    assert await refusals(client) == ["rate_address"]
    # the window passes (on the node's clock) and the address may sign up again
    clock.advance(601)
    assert (await signup(client, "from_a_3", headers=from_("203.0.113.1")))[0] == 201


async def test_sign_ups_are_limited_on_the_whole_node(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, users={"registration_global_limit": 3}, **LIMITED)
    for i in range(3):
        assert (await signup(client, f"wave_{i}", headers=from_(f"198.51.100.{i}")))[0] == 201
    status, out = await signup(client, "wave_3", headers=from_("198.51.100.3"))
    assert (status, out["code"]) == (429, "signup_rate_limited") and "this node" in out["detail"]
    assert await refusals(client) == ["rate_global"]


async def test_an_address_over_its_limit_does_not_use_up_the_node_wide_allowance(aiohttp_client, tmp_path):
    limits = {"registration_address_limit": 1, "registration_global_limit": 3}
    client = await reg_client(aiohttp_client, tmp_path, users=limits, **LIMITED)
    assert (await signup(client, "greedy_0", headers=from_("192.0.2.7")))[0] == 201
    for i in range(1, 6):
        assert (await signup(client, f"greedy_{i}", headers=from_("192.0.2.7")))[0] == 429
    assert (await signup(client, "patient_1", headers=from_("192.0.2.8")))[0] == 201
    assert (await signup(client, "patient_2", headers=from_("192.0.2.9")))[0] == 201


async def test_sign_up_limits_survive_a_restart(aiohttp_client, tmp_path):
    cfg = reg_config(tmp_path / "data", users={"registration_address_limit": 1}, **LIMITED)
    first = await aiohttp_client(build_app(cfg))
    assert (await signup(first, "before_restart", headers=from_("203.0.113.9")))[0] == 201
    await first.close()  # a clean stop saves the windows
    second = await aiohttp_client(build_app(cfg))
    status, out = await signup(second, "after_restart", headers=from_("203.0.113.9"))
    assert (status, out["code"]) == (429, "signup_rate_limited")


async def test_without_rate_limits_there_are_no_sign_up_limits(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, users={"registration_address_limit": 1})
    for i in range(3):
        assert (await signup(client, f"unlimited_{i}"))[0] == 201


async def challenge(client) -> dict:
    pow_ = (await (await client.get("/api/v1/auth/registration")).json())["pow"]
    assert pow_ is not None
    return pow_


async def test_proof_of_work_is_needed_when_on_and_a_solved_challenge_signs_up(
    aiohttp_client, tmp_path, clock
):
    client = await reg_client(aiohttp_client, tmp_path, users={"registration_pow_bits": 8}, clock=clock)
    c = await challenge(client)
    assert c["bits"] == 8 and c["expires_at"] - clock.time() > 590
    status, out = await signup(client, "lazy")
    assert (status, out["code"], out["field"]) == (400, "pow_required", "pow")
    status, out = await signup(
        client, "worker", pow={"challenge": c["challenge"], "nonce": solve(c["challenge"], 8)}
    )
    assert status == 201, out
    assert await refusals(client) == ["pow_missing"]


async def test_wrong_or_forged_proof_of_work_is_refused(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, users={"registration_pow_bits": 12})
    c = (await challenge(client))["challenge"]
    nonce = solve(c, 12)
    wrong = next(str(n) for n in range(10**6) if not _ok(c, n, 12))
    status, out = await signup(client, "guesser", pow={"challenge": c, "nonce": wrong})
    assert (status, out["code"]) == (400, "pow_invalid")
    # a challenge made up by the client (or one asking fewer bits) does not carry the node's MAC
    bits, expires, cid, mac = c.split(".")
    for forged in (
        f"0.{expires}.{cid}.{mac}",
        f"{bits}.{int(expires) + 9999}.{cid}.{mac}",
        f"{bits}.{expires}.{cid}.{'0' * 32}",
        "x",
    ):
        status, out = await signup(client, "forger", pow={"challenge": forged, "nonce": solve(forged, 0)})
        assert (status, out["code"]) == (400, "pow_invalid"), forged
    assert await accounts_named(client, "guesser", "forger") == 0
    assert await refusals(client) == ["pow_invalid"] * 5
    # the real solution still works: refusals above did not use the challenge
    assert (await signup(client, "honest", pow={"challenge": c, "nonce": nonce}))[0] == 201


def _ok(challenge: str, nonce: int, bits: int) -> bool:
    import hashlib

    from cryb_plugins.users.signup_defences import zero_bits

    return zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) >= bits


async def test_a_solved_challenge_works_once_even_across_a_restart(aiohttp_client, tmp_path):
    cfg = reg_config(tmp_path / "data", users={"registration_pow_bits": 8})
    first = await aiohttp_client(build_app(cfg))
    c = (await challenge(first))["challenge"]
    solution = {"challenge": c, "nonce": solve(c, 8)}
    assert (await signup(first, "original", pow=solution))[0] == 201
    status, out = await signup(first, "replayer", pow=solution)
    assert (status, out["code"]) == (400, "pow_replayed")
    await first.close()
    second = await aiohttp_client(build_app(cfg))
    status, out = await signup(second, "replayer", pow=solution)
    assert (status, out["code"]) == (400, "pow_replayed")
    assert await refusals(second) == ["pow_replayed", "pow_replayed"]


async def test_an_expired_challenge_is_refused(aiohttp_client, tmp_path, clock):
    pow_60s = {"registration_pow_bits": 8, "registration_pow_ttl_s": 60}
    client = await reg_client(aiohttp_client, tmp_path, users=pow_60s, clock=clock)
    c = (await challenge(client))["challenge"]
    clock.advance(61)
    status, out = await signup(client, "too_slow", pow={"challenge": c, "nonce": solve(c, 8)})
    assert (status, out["code"], out["field"]) == (400, "pow_expired", "pow")
    assert await refusals(client) == ["pow_expired"]


async def test_a_challenge_from_before_the_bits_were_raised_is_not_enough(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, users={"registration_pow_bits": 4})
    c = (await challenge(client))["challenge"]
    registration(client).s.registration_pow_bits = 10  # as if the node restarted with more bits
    nonce = next(str(n) for n in range(10**6) if _ok(c, n, 4) and not _ok(c, n, 10))
    status, out = await signup(client, "cheap", pow={"challenge": c, "nonce": nonce})
    assert (status, out["code"]) == (400, "pow_invalid")
    assert await count(client, "SELECT count(*) FROM users_accounts") == 0
