"""Email verification, change of address and password reset, through a real SMTP server on loopback."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cryb_plugins.users import emails
from cryb_plugins.users.service import CLI

from tests.users.conftest import count, users_service
from tests.users_fixtures import PASSWORD, auth, register_user

LINK = re.compile(r"https?://\S+")


def link_path(message) -> str:
    url = LINK.search(message.get_content()).group(0)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def token_of(message) -> str:
    return link_path(message).split("token=")[1]


async def test_verification_mail_arrives_its_link_verifies_once(mail_client):
    client, inbox = mail_client
    _, token = await register_user(client, "mailer", email="mailer@example.test")
    (mail,) = await inbox.wait(1)
    assert mail["To"] == "mailer@example.test" and "Confirm" in mail["Subject"]
    path = link_path(mail)

    resp = await client.get(path)
    assert resp.status == 200 and (await resp.json())["status"] == "verified"
    me = await (await client.get("/api/v1/users/@me", headers=auth(token))).json()
    assert me["email_verified"] is True

    again = await client.get(path)
    assert again.status == 400
    body = await again.json()
    assert body["code"] == "invalid_email_token" and body["field"] == "token"


async def test_password_reset_by_mail_sets_the_password_and_ends_sessions(mail_client):
    client, inbox = mail_client
    _, old_token = await register_user(client, "forgetful", email="forgetful@example.test")
    await inbox.wait(1)
    resp = await client.post("/api/v1/auth/password-reset", json={"email": "forgetful@example.test"})
    assert resp.status == 202
    # An unknown address gets the same answer and no mail.
    same = await client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.test"})
    assert same.status == 202 and await same.json() == await resp.json()
    mails = await inbox.wait(2)
    reset = token_of(mails[1])
    new_password = "a brand new passphrase"
    resp = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": reset, "new_password": new_password}
    )
    assert resp.status == 204
    assert (await client.get("/api/v1/users/@me", headers=auth(old_token))).status == 401
    old = await client.post("/api/v1/auth/login", json={"login": "forgetful", "password": PASSWORD})
    assert old.status == 401
    new = await client.post("/api/v1/auth/login", json={"login": "forgetful", "password": new_password})
    assert new.status == 200
    replay = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": reset, "new_password": "yet another one!"}
    )
    assert replay.status == 400
    assert len(inbox.messages) == 2


async def test_changing_email_needs_the_password_and_reverification(mail_client):
    client, inbox = mail_client
    _, token = await register_user(client, "mover", email="mover@example.test")
    await register_user(client, "other", email="other@example.test")
    await inbox.wait(2)
    await client.get(link_path(inbox.messages[0]))
    wrong = await client.post(
        "/api/v1/users/@me/email",
        json={"email": "new@example.test", "password": "not my password"},
        headers=auth(token),
    )
    assert wrong.status == 403 and (await wrong.json())["field"] == "password"
    taken = await client.post(
        "/api/v1/users/@me/email",
        json={"email": "OTHER@example.test", "password": PASSWORD},
        headers=auth(token),
    )
    assert taken.status == 409 and (await taken.json())["field"] == "email"
    resp = await client.post(
        "/api/v1/users/@me/email",
        json={"email": "new@example.test", "password": PASSWORD},
        headers=auth(token),
    )
    assert resp.status == 202
    me = await (await client.get("/api/v1/users/@me", headers=auth(token))).json()
    assert me["email"] == "new@example.test" and me["email_verified"] is False
    mails = await inbox.wait(3)
    assert mails[2]["To"] == "new@example.test"
    assert (await client.get(link_path(mails[2]))).status == 200
    login = await client.post("/api/v1/auth/login", json={"login": "new@example.test", "password": PASSWORD})
    assert login.status == 200
    audit = await count(client, "SELECT count(*) FROM users_audit WHERE action = 'email.changed'")
    assert audit == 1


async def test_without_smtp_nothing_is_sent_and_the_link_is_not_logged(uclient, caplog):
    user_id, _ = await register_user(uclient, "offline")
    with caplog.at_level("INFO"):
        url = await emails.send_verification(users_service(uclient), user_id, CLI)
    token = url.split("token=")[1]
    assert "verify_email mail generated but not sent" in caplog.text
    assert token not in caplog.text
    assert (await uclient.get(f"/api/v1/auth/verify-email?token={token}")).status == 200
