"""Issue 8, acceptance 2, against a real SMTP server (aiosmtpd) on loopback: digest contents, immediate
mail for the kinds a user picked, one-click unsubscribe, and mail queued while SMTP is down then
delivered exactly once when it is back, including across a node restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.services import Perm
from tests.conftest import free_port
from tests.content.conftest import call, make_space, ok
from tests.notifications.conftest import notif_config, parts, settle, verify_email
from tests.support.waiting import eventually
from tests.users.conftest import Inbox

DAY_MS = 86_400_000


@contextlib.contextmanager
def smtp_on(port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
async def mc(aiohttp_client, tmp_path, smtp_port):
    return await aiohttp_client(build_app(notif_config(tmp_path / "data", smtp_port)))


async def outbox(client) -> list[tuple]:
    return [
        tuple(r)
        for r in await client.app[NODE].db.fetchall(
            "SELECT channel, attempts, sent_at IS NOT NULL, failed_at IS NOT NULL"
            " FROM notif_outbox ORDER BY id"
        )
    ]


async def test_the_digest_lists_each_unread_notification_once_escaped_with_unsubscribe_headers(mc, smtp_port):
    space = await make_space(mc)
    c, owner, alice = mc, space.owner, space.member
    await verify_email(c, alice.id)
    await ok(c, "PATCH", "/notifications/preferences", alice, json={"email_digest": "daily"})
    for text in ("first <b>bold</b> & co", "second"):
        await ok(
            c, "POST", f"/channels/{space.text}/messages", owner, json={"content": f"<@{alice.id}> {text}"}
        )
    await ok(c, "POST", f"/channels/{space.text}/messages", owner, json={"content": f"<@{alice.id}> seen"})
    await settle(c)
    listed = (await ok(c, "GET", "/notifications", alice))["notifications"]
    seen = next(n for n in listed if n["preview"].endswith("seen"))
    await ok(c, "POST", f"/notifications/{seen['id']}/read", alice)
    svc, box = parts(c).svc, parts(c).outbox
    with smtp_on(smtp_port) as inbox:
        assert await box.run_digests() == 1
        assert await box.run_digests() == 0  # not due again for a day
        (mail,) = await inbox.wait(1)
        assert mail["To"] == f"{(await owner_name(c, alice.id))}@example.test"
        assert mail["Subject"] == "Your daily CRYB digest: 2 new notification(s)"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        # Mentions read as names, never raw ids (issue 21, part 3).
        name = await owner_name(c, alice.id)
        assert f"@{name} first <b>bold</b> & co" in text and f"@{name} second" in text
        assert "<@" not in text and "&lt;@" not in html
        assert "seen" not in text and "seen" not in html
        assert "first &lt;b&gt;bold&lt;/b&gt; &amp; co" in html and "<b>bold" not in html
        link = mail["List-Unsubscribe"].strip("<>")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in text
        # A day later only what came since is in the next digest.
        await ok(
            c, "POST", f"/channels/{space.text}/messages", owner, json={"content": f"<@{alice.id}> third"}
        )
        await settle(c)
        now = svc.clock()
        svc.clock = lambda: now + DAY_MS + 1000
        assert await box.run_digests() == 1
        (_, second) = await inbox.wait(2)
        assert second["Subject"] == "Your daily CRYB digest: 1 new notification(s)"
        assert "third" in second.get_body(("plain",)).get_content()
        # One-click unsubscribe (RFC 8058): the GET shows a button, the POST turns mail off.
        url = urlsplit(link)
        page = await c.get(f"{url.path}?{url.query}")
        assert page.status == 200 and "<form" in await page.text()
        assert (await ok(c, "GET", "/notifications/preferences", alice))["email"] is True
        done = await c.post(f"{url.path}?{url.query}", data="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert done.status == 200 and (await done.json()) == {"unsubscribed": True}
        assert (await ok(c, "GET", "/notifications/preferences", alice))["email"] is False
        forged = await c.post(f"{url.path}?token={url.query.split('=')[1][:-2]}xx")
        assert forged.status == 400 and (await forged.json())["field"] == "token"
        await ok(
            c, "POST", f"/channels/{space.text}/messages", owner, json={"content": f"<@{alice.id}> fourth"}
        )
        await settle(c)
        svc.clock = lambda: now + 2 * DAY_MS + 2000
        assert await box.run_digests() == 0
        await asyncio.sleep(0.3)
        assert len(inbox.messages) == 2


async def owner_name(client, user_id: str) -> str:
    return await client.app[NODE].db.fetchval("SELECT username FROM users_accounts WHERE id = ?", (user_id,))


async def test_immediate_mail_only_for_the_kinds_the_user_picked(mc, smtp_port):
    space = await make_space(mc)
    c, owner, alice = mc, space.owner, space.member
    await verify_email(c, alice.id)
    await ok(c, "PATCH", "/notifications/preferences", alice, json={"kinds": {"dm": {"email": True}}})
    with smtp_on(smtp_port) as inbox:
        await ok(c, "POST", f"/channels/{space.text}/messages", owner, json={"content": f"<@{alice.id}> hi"})
        dm = await ok(c, "POST", "/dms", owner, json={"recipients": [alice.id]})
        await ok(c, "POST", f"/channels/{dm['id']}/messages", owner, json={"content": "a <secret> plan"})
        (mail,) = await inbox.wait(1)
        assert mail["Subject"].startswith("New direct message from ")
        assert "a <secret> plan" in mail.get_body(("plain",)).get_content()
        assert "a &lt;secret&gt; plan" in mail.get_body(("html",)).get_content()
        await asyncio.sleep(0.3)
        assert len(inbox.messages) == 1
    # An address that is not verified is never written to.
    bob = await space.join()
    await ok(c, "PATCH", "/notifications/preferences", bob, json={"kinds": {"dm": {"email": True}}})
    dm2 = await ok(c, "POST", "/dms", owner, json={"recipients": [bob.id]})
    await ok(c, "POST", f"/channels/{dm2['id']}/messages", owner, json={"content": "hello bob"})
    await settle(c)
    await eventually(lambda: _all_done(c))
    rows = await c.app[NODE].db.fetchall("SELECT last_error FROM notif_outbox WHERE user_id = ?", (bob.id,))
    assert [tuple(r) for r in rows] == [("no verified address",)]


async def _all_done(client) -> bool:
    rows = await outbox(client)
    return all(sent or failed for _, _, sent, failed in rows)


async def test_smtp_down_mail_is_queued_then_delivered_exactly_once(mc, smtp_port):
    space = await make_space(mc)
    c, owner, alice = mc, space.owner, space.member
    await verify_email(c, alice.id)
    await ok(c, "PATCH", "/notifications/preferences", alice, json={"kinds": {"dm": {"email": True}}})
    dm = await ok(c, "POST", "/dms", owner, json={"recipients": [alice.id]})
    for text in ("one", "two", "three"):
        await ok(c, "POST", f"/channels/{dm['id']}/messages", owner, json={"content": text})
    box = parts(c).outbox

    async def tried_and_open() -> bool:
        rows = await outbox(c)
        return len(rows) == 3 and any(a >= 1 for _, a, _, _ in rows) and box.breaker.state == "open"

    await eventually(tried_and_open)  # SMTP refused: retried with backoff, then the breaker opened
    rows = await outbox(c)
    assert all(not sent and not failed for _, _, sent, failed in rows)
    with smtp_on(smtp_port) as inbox:
        await inbox.wait(3, timeout=10)
        await eventually(lambda: _all_done(c))
        assert await box.run_due() == 0  # a further pass of the worker sends nothing again
        assert len(inbox.messages) == 3
        bodies = sorted(m.get_body(("plain",)).get_content() for m in inbox.messages)
        said = sorted(b.splitlines()[2].rsplit(": ", 1)[1] for b in bodies)  # the "actor: text" line
        assert said == ["one", "three", "two"]
        assert len({m["Message-ID"] for m in inbox.messages}) == 3
    rows = await outbox(c)
    assert [(sent, failed) for _, _, sent, failed in rows] == [(True, False)] * 3
    assert box.breaker.state == "closed"


async def test_queued_mail_survives_a_restart_and_is_sent_exactly_once(aiohttp_client, tmp_path, smtp_port):
    cfg = notif_config(tmp_path / "data", smtp_port)
    first = await aiohttp_client(build_app(cfg))
    space = await make_space(first)
    owner, alice = space.owner, space.member
    await verify_email(first, alice.id)
    await ok(first, "PATCH", "/notifications/preferences", alice, json={"kinds": {"dm": {"email": True}}})
    dm = await ok(first, "POST", "/dms", owner, json={"recipients": [alice.id]})
    await ok(first, "POST", f"/channels/{dm['id']}/messages", owner, json={"content": "before the restart"})
    await eventually(lambda: _attempted(first))
    await first.close()  # the node stops with the mail still queued
    with smtp_on(smtp_port) as inbox:
        second = await aiohttp_client(build_app(cfg))
        (mail,) = await inbox.wait(1, timeout=10)
        assert "before the restart" in mail.get_body(("plain",)).get_content()
        await eventually(lambda: _all_done(second))
        assert await parts(second).outbox.run_due() == 0  # a further pass sends nothing again
        assert len(inbox.messages) == 1
        rows = await outbox(second)
        assert [(sent, failed) for _, _, sent, failed in rows] == [(True, False)]
        status, _ = await call(second, "GET", "/notifications/unread", alice)
        assert status == 200


async def _attempted(client) -> bool:
    rows = await outbox(client)
    return bool(rows) and rows[0][1] >= 1


async def test_the_scheduled_digest_job_sends_due_digests_by_itself(aiohttp_client, tmp_path, smtp_port):
    c = await aiohttp_client(build_app(notif_config(tmp_path / "data", smtp_port, digest_every_s=1)))
    space = await make_space(c)
    alice = space.member
    await verify_email(c, alice.id)
    await ok(
        c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": f"<@{alice.id}> hi"}
    )
    await settle(c)
    with smtp_on(smtp_port) as inbox:
        # Asked for after the notification exists, so the job's first run for alice includes it.
        await ok(c, "PATCH", "/notifications/preferences", alice, json={"email_digest": "weekly"})
        (mail,) = await inbox.wait(1, timeout=10)  # APScheduler ran the job; nobody called it
        assert mail["Subject"] == "Your weekly CRYB digest: 1 new notification(s)"
        assert c.app[NODE].scheduler.runs["notifications.digests"] >= 1


async def test_mail_names_mentioned_people_roles_and_only_the_channels_the_reader_can_see(mc, smtp_port):
    space = await make_space(mc)
    c, owner, alice = mc, space.owner, space.member
    await verify_email(c, alice.id)
    await ok(c, "PATCH", "/notifications/preferences", alice, json={"kinds": {"mention": {"email": True}}})
    role = await ok(c, "POST", f"/communities/{space.community}/roles", owner, json={"name": "hikers"})
    staff = await ok(c, "POST", f"/communities/{space.community}/channels", owner, json={"name": "staff"})
    await ok(c, "PUT", f"/channels/{staff['id']}/overwrites/role/{space.community}", owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    text = f"<@{alice.id}> and <@&{role['id']}>: see <#{space.text}>, not <#{staff['id']}>"
    with smtp_on(smtp_port) as inbox:
        await ok(c, "POST", f"/channels/{space.text}/messages", owner, json={"content": text})
        (mail,) = await inbox.wait(1)
    plain, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    name, general = await owner_name(c, alice.id), "general"
    # The hidden channel is not named to Alice, who cannot see it.
    expected = f"@{name} and @hikers: see #{general}, not #unknown-channel"
    assert expected in plain, plain
    assert expected in html, html
    assert "staff" not in plain and "staff" not in html
