"""Each registration mode over HTTP: what GET /api/v1/auth/registration tells the sign-up page, what
a sign-up gets, and that closed and invite mode hold (OAuth sign-in cannot go around them)."""

from __future__ import annotations

import pytest

from cryb_node.app import build_app
from tests.users.conftest import count, users_config
from tests.users.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.users.registration_fixtures import (
    accounts_named,
    login,
    member,
    node_admin,
    refusals,
    reg_client,
    signup,
)
from tests.users.test_oauth import through_provider
from tests.users_fixtures import PASSWORD, auth


async def info(client):
    resp = await client.get("/api/v1/auth/registration")
    assert resp.status == 200
    return await resp.json()


async def test_open_is_the_default_and_signs_up_at_once(aiohttp_client, tmp_path):
    client = await aiohttp_client(build_app(users_config(tmp_path / "data")))
    assert await info(client) == {"mode": "open", "invite_required": False, "question": None, "pow": None}
    status, out = await signup(client, "opener")
    assert status == 201 and out["user"]["status"] == "active" and out["access_token"]
    me = await client.get("/api/v1/users/@me", headers=auth(out["access_token"]))
    assert me.status == 200


async def test_closed_refuses_every_sign_up_and_audits_it(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "closed", users={"registration_pow_bits": 8})
    assert await info(client) == {"mode": "closed", "invite_required": False, "question": None, "pow": None}
    status, out = await signup(client, "shut_out")
    assert status == 403 and out["code"] == "registration_closed"
    assert "admin" in out["detail"]
    assert await accounts_named(client, "shut_out") == 0
    assert await refusals(client) == ["closed"]


async def test_closed_leaves_admins_creating_accounts_over_http(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "closed")
    _, admin = await node_admin(client)
    new = {"username": "made_by_admin", "email": "made@example.test", "password": PASSWORD}
    resp = await client.post("/api/v1/admin/users", json=new, headers=admin)
    made = await resp.json()
    assert resp.status == 201, made
    assert (made["username"], made["email"], made["email_verified"], made["status"]) == (
        "made_by_admin", "made@example.test", True, "active",
    )  # fmt: skip
    status, pair = await login(client, "made_by_admin")
    assert status == 200 and pair["access_token"]
    # the name is taken now; bad input names its field
    again = await client.post("/api/v1/admin/users", json=new, headers=admin)
    assert again.status == 409 and (await again.json())["field"] == "username"
    bad = await client.post("/api/v1/admin/users", json={**new, "username": "x"}, headers=admin)
    assert bad.status == 400 and (await bad.json())["field"] == "username"


async def test_only_node_admins_create_accounts_over_http(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "closed")
    _, plain = await member(client)
    new = {"username": "sneaky", "email": "sneaky@example.test", "password": PASSWORD}
    assert (await client.post("/api/v1/admin/users", json=new, headers=plain)).status == 403
    assert (await client.post("/api/v1/admin/users", json=new)).status == 401
    assert await accounts_named(client, "sneaky") == 0


async def test_invite_mode_needs_a_code_and_refuses_a_wrong_one(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    assert (await info(client))["invite_required"] is True
    status, out = await signup(client, "no_code")
    assert (status, out["code"], out["field"]) == (400, "invite_required", "invite")
    status, out = await signup(client, "bad_code", invite="not-a-real-code")
    assert (status, out["code"], out["field"]) == (403, "invite_invalid", "invite")
    assert await accounts_named(client, "no_code", "bad_code") == 0
    assert await refusals(client) == ["invite_missing", "invite_invalid"]


async def _community_invite(client, owner, **invite):
    # private: a public community's join does not count invite uses
    resp = await client.post(
        "/api/v1/communities", json={"name": "Garden Club", "public": False}, headers=owner
    )
    community = await resp.json()
    assert resp.status == 201, community
    resp = await client.post(f"/api/v1/communities/{community['id']}/invites", json=invite, headers=owner)
    assert resp.status == 201
    return community["id"], (await resp.json())["code"]


async def test_invite_mode_takes_a_community_invite_then_the_new_member_joins_with_it(
    aiohttp_client, tmp_path
):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    _, owner = await member(client)
    community_id, code = await _community_invite(client, owner, max_uses=1)
    status, out = await signup(client, "invited_in", invite=code)
    assert status == 201, out
    # Signing up did not use the invite: the new member joins with it.
    joined = await client.post(f"/api/v1/invites/{code}", headers=auth(out["access_token"]))
    assert joined.status == 200, await joined.text()
    assert (await joined.json())["id"] == community_id
    # ...which used it up for the next sign-up.
    status, out = await signup(client, "too_late", invite=code)
    assert (status, out["code"]) == (410, "invite_used_up")
    assert await accounts_named(client, "too_late") == 0
    assert "invite_used_up" in await refusals(client)


async def test_invite_mode_refuses_a_revoked_community_invite(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    _, owner = await member(client)
    _, code = await _community_invite(client, owner)
    assert (await client.delete(f"/api/v1/invites/{code}", headers=owner)).status == 204
    status, out = await signup(client, "after_revoke", invite=code)
    assert (status, out["code"], out["field"]) == (410, "invite_revoked", "invite")
    assert await refusals(client) == ["invite_revoked"]


async def test_approval_mode_asks_the_question_and_keeps_the_account_pending(aiohttp_client, tmp_path):
    question = "Which garden do you tend?"
    client = await reg_client(aiohttp_client, tmp_path, "approval", users={"registration_question": question})
    assert await info(client) == {
        "mode": "approval",
        "invite_required": False,
        "question": question,
        "pow": None,
    }
    status, out = await signup(client, "no_answer")
    assert (status, out["code"], out["field"]) == (400, "answer_required", "answer")
    status, out = await signup(client, "no_answer", answer="   ")
    assert (status, out["code"]) == (400, "answer_required")

    status, out = await signup(client, "applicant", answer="The one behind the library")
    assert status == 202 and out["status"] == "pending" and out["username"] == "applicant"
    assert "access_token" not in out
    user_id = out["user_id"]
    assert await count(client, "SELECT status FROM users_accounts WHERE id = ?", (user_id,)) == "pending"
    # It cannot sign in; the right password learns that it waits, a wrong one learns nothing.
    status, out = await login(client, "applicant")
    assert (status, out["code"]) == (403, "account_pending")
    status, out = await login(client, "applicant", "not the password at all")
    assert (status, out["code"]) == (401, "invalid_credentials")
    # Nothing public about it yet: no profile, no user.created event for peers.
    assert (await client.get(f"/api/v1/users/{user_id}")).status == 404
    assert await count(client, "SELECT count(*) FROM events WHERE kind = 'user.created'") == 0
    assert await count(client, "SELECT count(*) FROM users_profiles WHERE user_id = ?", (user_id,)) == 0
    # The answer is kept sealed, not in clear.
    sealed = await count(client, "SELECT answer_ct FROM users_applications WHERE user_id = ?", (user_id,))
    assert b"library" not in sealed


async def test_provider_sign_in_cannot_create_an_account_unless_open(
    aiohttp_server, aiohttp_client, tmp_path
):
    provider = Provider()
    server = await aiohttp_server(provider.app(), host="127.0.0.1")
    provider.issuer = str(server.make_url("")).rstrip("/")
    oauth = [{"name": "test", "preset": "oidc", "issuer": provider.issuer, "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET}]  # fmt: skip
    client = await reg_client(aiohttp_client, tmp_path, "invite", users={"oauth": oauth})
    resp = await client.get(await through_provider(client))
    out = await resp.json()
    assert (resp.status, out["code"]) == (403, "registration_closed")
    assert await count(client, "SELECT count(*) FROM users_accounts") == 0
    assert await refusals(client) == ["provider"]


@pytest.mark.parametrize("mode", ["open", "invite", "approval", "closed"])
async def test_the_mode_is_validated_in_config(tmp_path, mode):
    from cryb_node import config as configmod

    cfg = users_config(tmp_path / "d", {"registration": mode})
    assert cfg.plugin["users"]["registration"] == mode
    with pytest.raises(configmod.ConfigError, match="registration"):
        from cryb_node.plugins import load

        load(users_config(tmp_path / "d", {"registration": "sometimes"}))
