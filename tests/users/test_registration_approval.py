"""Approval mode end to end: an application waits with its answer, a node admin approves or rejects
it over HTTP, and the applicant is mailed either way (through a real SMTP server, aiosmtpd). A
rejected applicant's personal data is wiped and their name and address are free again."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from tests.support.waiting import eventually
from tests.users.conftest import count
from tests.users.registration_fixtures import login, member, node_admin, reg_client, signup

APPS = "/api/v1/admin/applications"
QUESTION = "Which garden do you tend?"


async def approval_node(aiohttp_client, tmp_path, smtp_server):
    _, port = smtp_server
    return await reg_client(
        aiohttp_client, tmp_path, "approval", users={"registration_question": QUESTION},
        mail={"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none"},
    )  # fmt: skip


def mails_to(inbox, address: str, subject_part: str) -> list:
    return [m for m in inbox.messages if m["To"] == address and subject_part in m["Subject"]]


async def mail_to(inbox, address: str, subject_part: str):
    """The one mail to ``address`` about ``subject_part``, once it came. Not "once N mails came":
    the node admin made for the test is mailed too (its address verification, in the background),
    so a count can be reached before the mail it was meant to wait for."""
    await eventually(lambda: mails_to(inbox, address, subject_part), what=f"{subject_part} mail to {address}")
    [mail] = mails_to(inbox, address, subject_part)
    return mail


async def test_an_approved_applicant_is_mailed_and_can_sign_in(aiohttp_client, tmp_path, smtp_server):
    inbox, _ = smtp_server
    client = await approval_node(aiohttp_client, tmp_path, smtp_server)
    admin_id, admin = await node_admin(client)
    status, out = await signup(client, "rosalind", answer="The rose beds by the river", display_name="Ros")
    assert status == 202
    user_id = out["user_id"]

    listed = await (await client.get(APPS, headers=admin)).json()
    assert listed["question"] == QUESTION
    [app] = listed["applications"]
    assert (app["user_id"], app["username"], app["email"], app["answer"], app["display_name"]) == (
        user_id, "rosalind", "rosalind@example.test", "The rose beds by the river", "Ros",
    )  # fmt: skip

    resp = await client.post(f"{APPS}/{user_id}/approve", headers=admin)
    decision = await resp.json()
    assert resp.status == 200 and decision == {"user_id": user_id, "status": "active", "mailed": True}
    mail = await mail_to(inbox, "rosalind@example.test", "approved")
    assert "/login" in mail.get_content() and "rosalind" in mail.get_content()

    status, pair = await login(client, "rosalind")
    assert status == 200 and pair["access_token"]
    profile = await (await client.get(f"/api/v1/users/{user_id}")).json()
    assert (profile["username"], profile["display_name"]) == ("rosalind", "Ros")
    assert (await (await client.get(APPS, headers=admin)).json())["applications"] == []
    approved_by = "SELECT actor_id FROM users_audit WHERE action = 'registration.approved' AND user_id = ?"
    assert await count(client, approved_by, (user_id,)) == admin_id
    # decided once: a second decision finds no application
    assert (await client.post(f"{APPS}/{user_id}/approve", headers=admin)).status == 404
    assert (await client.post(f"{APPS}/{user_id}/reject", json={}, headers=admin)).status == 404


async def test_a_rejected_applicant_is_mailed_and_their_data_wiped(aiohttp_client, tmp_path, smtp_server):
    inbox, _ = smtp_server
    client = await approval_node(aiohttp_client, tmp_path, smtp_server)
    _, admin = await node_admin(client)
    status, out = await signup(client, "spammy", answer="cheap pills at example dot com")
    assert status == 202
    user_id = out["user_id"]
    await mail_to(inbox, "spammy@example.test", "Confirm")  # every sign-up with an address gets it
    assert await count(client, "SELECT count(*) FROM users_email_tokens WHERE user_id = ?", (user_id,)) == 1

    resp = await client.post(
        f"{APPS}/{user_id}/reject", json={"reason": "We are a gardening club."}, headers=admin
    )
    assert resp.status == 200 and (await resp.json()) == {
        "user_id": user_id,
        "status": "rejected",
        "mailed": True,
    }
    mail = await mail_to(inbox, "spammy@example.test", "application")
    text = mail.get_content()
    assert "did not accept" in text and "We are a gardening club." in text and "deleted" in text

    db = client.app[NODE].db
    row = await db.fetchone(
        "SELECT username, username_key, email_ct, email_index, password_hash, last_ip_ct, status"
        " FROM users_accounts WHERE id = ?",
        (user_id,),
    )
    assert tuple(row) == ("deleted", f"deleted:{user_id}", None, None, None, None, "deleted")
    for table in ("users_applications", "users_email_tokens"):
        assert await count(client, f"SELECT count(*) FROM {table} WHERE user_id = ?", (user_id,)) == 0
    # nothing of the applicant is left in clear anywhere in the audit either
    details = " ".join(r[0] for r in await db.fetchall("SELECT detail FROM users_audit"))
    assert "spammy" not in details and "pills" not in details
    status, out = await login(client, "spammy")
    assert (status, out["code"]) == (401, "invalid_credentials")
    # the name and the address are free again
    status, out = await signup(client, "spammy", answer="second try, honestly")
    assert status == 202 and out["user_id"] != user_id


async def test_decisions_without_mail_set_up_still_apply(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "approval")
    _, admin = await node_admin(client)
    _, out = await signup(client, "quiet_one", answer="hello")
    resp = await client.post(f"{APPS}/{out['user_id']}/approve", headers=admin)
    assert (await resp.json())["mailed"] is False
    assert (await login(client, "quiet_one"))[0] == 200


async def test_application_routes_are_for_node_admins_only(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "approval")
    _, admin = await node_admin(client)
    _, plain = await member(client)
    _, out = await signup(client, "hopeful", answer="please")
    user_id = out["user_id"]
    for method, path, body in (
        ("GET", APPS, None),
        ("POST", f"{APPS}/{user_id}/approve", None),
        ("POST", f"{APPS}/{user_id}/reject", {}),
    ):
        resp = await client.request(method, path, json=body, headers=plain)
        assert resp.status == 403, (method, path)
        assert (await client.request(method, path, json=body)).status == 401, (method, path)
    assert await count(client, "SELECT status FROM users_accounts WHERE id = ?", (user_id,)) == "pending"
    # an admin naming no application gets 404, a long reason 400 naming the field
    assert (await client.post(f"{APPS}/01nosuchuser/approve", headers=admin)).status == 404
    resp = await client.post(f"{APPS}/{user_id}/reject", json={"reason": "x" * 501}, headers=admin)
    assert resp.status == 400 and (await resp.json())["field"] == "reason"
    # an active account is not an application
    plain_id = (await (await client.get("/api/v1/users/@me", headers=plain)).json())["id"]
    assert (await client.post(f"{APPS}/{plain_id}/reject", json={}, headers=admin)).status == 404
