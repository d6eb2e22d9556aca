"""Issue 8, acceptance 2 (the hard case): `cryb serve` is SIGKILLed while a mail waits in the outbox
(SMTP down), then started again with SMTP back: the mail is delivered exactly once."""

from __future__ import annotations

import asyncio

import aiohttp
import pysqlite3.dbapi2 as sqlite3

from tests.conftest import free_port
from tests.notifications.test_mail import smtp_on
from tests.support.waiting import eventually

ENV = {
    "CRYB_RATE_LIMITS__ENABLED": "false",
    "CRYB_LOG__LEVEL": "WARNING",
    "CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT": "1",
    "CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT": "8192",
    "CRYB_PLUGIN__NOTIFICATIONS__POLL_S": "0.1",
    "CRYB_PLUGIN__NOTIFICATIONS__RETRY_BASE_S": "0.2",
    "CRYB_PLUGIN__NOTIFICATIONS__RETRY_MAX_S": "0.4",
    "CRYB_MAIL__SMTP_HOST": "127.0.0.1",
    "CRYB_MAIL__SECURITY": "none",
    "CRYB_MAIL__TIMEOUT_S": "2",
}


def _db(node, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(node.data_dir / "cryb.db", timeout=10)
    try:
        with conn:
            return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_a_mail_queued_when_the_node_is_killed_is_sent_once_after_the_restart(node_process, tmp_path):
    port = free_port()
    node = node_process(CRYB_MAIL__SMTP_PORT=str(port), **ENV).start()
    api = node.url + "/api/v1"
    async with aiohttp.ClientSession() as http:

        async def register(name: str) -> tuple[str, dict[str, str]]:
            body = {"username": name, "email": f"{name}@example.test", "password": "a long enough password"}
            async with http.post(f"{api}/auth/register", json=body) as resp:
                out = await resp.json()
                assert resp.status == 201, out
                return out["user"]["id"], {"Authorization": f"Bearer {out['access_token']}"}

        alice, alice_h = await register("alice")
        _, bob_h = await register("bob")
        _db(node, "UPDATE users_accounts SET email_verified = 1 WHERE id = ?", (alice,))
        prefs = {"kinds": {"dm": {"email": True}}}
        async with http.patch(f"{api}/notifications/preferences", json=prefs, headers=alice_h) as resp:
            assert resp.status == 200
        async with http.post(f"{api}/dms", json={"recipients": [alice]}, headers=bob_h) as resp:
            dm = await resp.json()
        msg = {"content": "sent while the mail server was down"}
        async with http.post(f"{api}/channels/{dm['id']}/messages", json=msg, headers=bob_h) as resp:
            assert resp.status < 300
        await eventually(lambda: _db(node, "SELECT 1 FROM notif_outbox WHERE attempts >= 1"), 15)
    node.kill()
    assert _db(node, "SELECT count(*), count(sent_at) FROM notif_outbox") == [(1, 0)]
    with smtp_on(port) as inbox:
        node.start()
        (mail,) = await inbox.wait(1, timeout=15)
        assert "sent while the mail server was down" in mail.get_body(("plain",)).get_content()
        await asyncio.sleep(1.0)
        assert len(inbox.messages) == 1
        assert _db(node, "SELECT count(*), count(sent_at) FROM notif_outbox") == [(1, 1)]
    node.terminate()
