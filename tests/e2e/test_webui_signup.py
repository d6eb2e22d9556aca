"""The sign-up page in each registration mode (a node per mode), and the admin's Sign-ups tab: open
signs up at once; invite needs a code (prefilled from an invite link) or a token the admin made on
the tab; approval asks the node's question, solves the proof of work in a worker ("Checking your
browser…"), and waits until the admin approves or rejects it on the tab (the applicant is mailed);
closed shows no form, and the admin creates the account from the tab instead.
Screenshots: test-artifacts/screenshots/signup-*.png (desktop and 390 px)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cryb_plugins.users.service import CLI, USERS
from playwright.async_api import expect

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import free_port, make_config
from tests.e2e.webui import DESKTOP, PHONE, new_page, shoot
from tests.users.conftest import Inbox
from tests.users_fixtures import FAST_HASHING, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


async def serve(aiohttp_server: Any, tmp_path: Path, mode: str, users: dict | None = None, **sections: Any):
    """A node in ``mode`` on loopback; returns (base URL, node)."""
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": {**FAST_HASHING, "registration": mode, **(users or {})}},
        rate_limits={"enabled": False},
        **sections,
    )
    server = await aiohttp_server(build_app(cfg))
    return f"http://127.0.0.1:{server.port}", server.app[NODE]


async def make_admin(node: Any, name: str = "nodeadmin") -> None:
    users = node.services.require(USERS)
    await users.create_account(name, f"{name}@example.test", PASSWORD, client=CLI, admin=True, session=False)


async def sign_in(page: Any, base: str, login: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Username or email").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def fill_basics(page: Any, name: str) -> None:
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Email").fill(f"{name}@example.test")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)


async def both_widths(page: Any, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        await shoot(page, f"signup-{name}-{label}")
    await page.set_viewport_size(DESKTOP)


async def test_open_mode_signs_up_at_once_and_a_bot_filling_the_honeypot_is_turned_away(
    aiohttp_server, tmp_path, browser
):
    base, node = await serve(aiohttp_server, tmp_path, "open")
    page = await new_page(browser)
    await page.goto(f"{base}/register")
    await expect(page.get_by_role("form", name="Register")).to_be_visible()
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    assert await page.get_by_label("Invite code or token").count() == 0
    # the honeypot is in the form but neither seen nor reachable: off screen, aria-hidden, no tab stop
    trap = page.locator("input[name=website]")
    assert await trap.count() == 1 and await page.get_by_role("textbox", name="Website").count() == 0
    box = await trap.bounding_box()
    assert box is not None and box["x"] + box["width"] < 0
    assert await trap.get_attribute("tabindex") == "-1"
    await both_widths(page, "open")

    # a bot fills every field, the hidden one too: refused, without being told why
    await fill_basics(page, "form_bot")
    await trap.evaluate("el => { el.value = 'http://spam.example' }")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator(".form-banner")).to_have_text("this sign-up could not be completed")
    assert await node.db.fetchval("SELECT count(*) FROM users_accounts") == 0

    person = await new_page(browser)
    await person.goto(f"{base}/register")
    await fill_basics(person, "real_person")
    await person.get_by_role("button", name="Create account").click()
    await person.wait_for_url("**/channels/@me")
    assert page.errors == [] and person.errors == [] and page.external_requests == []


async def test_invite_mode_takes_an_invite_link_or_a_token_from_the_admin_tab(
    aiohttp_server, tmp_path, browser
):
    base, node = await serve(aiohttp_server, tmp_path, "invite")
    await make_admin(node)
    admin = await new_page(browser)
    await sign_in(admin, base, "nodeadmin")
    await admin.wait_for_url("**/channels/@me")
    # the admin makes a private community and an invite link (the API the invite dialog uses)
    invite = await admin.evaluate(
        """async () => {
          const api = await import('/web/js/api.js');
          const c = await api.post('/api/v1/communities', { name: 'Allotment', public: false });
          return (await api.post(`/api/v1/communities/${c.id}/invites`, {})).code;
        }"""
    )

    # Someone follows the invite link: sign in first, or register with the code already there.
    guest = await new_page(browser)
    await guest.goto(f"{base}/invite/{invite}")
    await guest.wait_for_url("**/login")
    await guest.get_by_role("link", name="Register").click()
    code = guest.get_by_label("Invite code or token")
    await expect(code).to_have_value(invite)
    await fill_basics(guest, "invited_guest")
    await both_widths(guest, "invite")
    await guest.get_by_role("button", name="Create account").click()
    await guest.wait_for_url(f"**/invite/{invite}")
    await guest.get_by_role("button", name="Accept invite").click()
    await guest.locator("#composer-input").wait_for()

    # No code: the field says so. A wrong one: likewise.
    stranger = await new_page(browser)
    await stranger.goto(f"{base}/register")
    await fill_basics(stranger, "no_code_person")
    await stranger.get_by_role("button", name="Create account").click()
    code_error = stranger.locator(".field", has=stranger.get_by_label("Invite code or token")).locator(
        ".field-error"
    )
    await expect(code_error).to_contain_text("invite code or a registration token")
    await stranger.get_by_label("Invite code or token").fill("made-up")
    await stranger.get_by_role("button", name="Create account").click()
    await expect(code_error).to_have_text("this invite code or token is not valid")

    # The admin makes a one-use token on the Sign-ups tab; the stranger signs up with it.
    await admin.goto(f"{base}/admin?tab=signups")
    tokens = admin.get_by_role("region", name="Registration tokens")
    await tokens.get_by_label("Uses").fill("1")
    await tokens.get_by_label("Expires").select_option(label="7 days")
    await tokens.get_by_role("button", name="Create token").click()
    made = admin.locator("#new-token")
    await expect(made).to_have_value(re.compile(r"^rg_[0-9a-f]{64}$"))
    token = await made.input_value()
    row = tokens.locator("tbody tr").first
    await expect(row).to_contain_text(token[:9])
    await expect(row).to_contain_text("0 / 1")
    await expect(row.locator(".flag")).to_have_text("active")
    await shoot(admin, "signup-admin-tokens-desktop")
    await stranger.get_by_label("Invite code or token").fill(token)
    await stranger.get_by_role("button", name="Create account").click()
    await stranger.wait_for_url("**/channels/@me")
    await admin.reload()
    await expect(tokens.locator("tbody tr").first.locator(".flag")).to_have_text("used up")
    # a second token, revoked from the tab
    await tokens.get_by_role("button", name="Create token").click()
    await expect(tokens.locator("tbody tr")).to_have_count(2)
    await tokens.locator("tbody tr").first.get_by_role("button", name=re.compile("^Revoke")).click()
    await expect(tokens.locator("tbody tr").first.locator(".flag")).to_have_text("revoked")
    assert (
        await node.db.fetchval("SELECT count(*) FROM users_registration_tokens WHERE revoked_at IS NOT NULL")
        == 1
    )
    for p in (admin, guest, stranger):
        assert p.errors == [] and p.external_requests == []


async def test_approval_mode_asks_the_question_checks_the_browser_and_waits_for_the_admin(
    aiohttp_server, tmp_path, browser, inbox
):
    question = "Which plot would you like to tend?"
    base, node = await serve(
        aiohttp_server, tmp_path, "approval",
        {"registration_question": question, "registration_pow_bits": 16},
        mail={"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "security": "none"},
    )  # fmt: skip
    await make_admin(node)

    async def apply(name: str, answer: str) -> Any:
        page = await new_page(browser)
        workers: list[str] = []
        page.on("worker", lambda w: workers.append(w.url))
        await page.goto(f"{base}/register")
        await expect(page.get_by_role("heading", name="Apply for an account")).to_be_visible()
        status = page.locator(".pow-status")
        # 16 bits take from a few milliseconds to a second: the check may be over already.
        await expect(status).to_have_text(re.compile("^(Checking your browser…|Browser checked.)$"))
        if name == "plot_seeker":
            await both_widths(page, "approval-checking")
        await fill_basics(page, name)
        await page.get_by_label(question).fill(answer)
        await expect(status).to_have_text("Browser checked.", timeout=60_000)
        assert any(u.endswith("/js/pow-worker.js") for u in workers), workers
        await page.get_by_role("button", name="Send application").click()
        await expect(page.get_by_role("heading", name="Application sent")).to_be_visible()
        await expect(page.locator(".signup-pending")).to_contain_text(
            "Your application is waiting for approval"
        )
        return page

    seeker = await apply("plot_seeker", "The sunny one by the shed, for tomatoes.")
    await both_widths(seeker, "approval-waiting")
    await apply("seo_expert", "Great backlinks, cheap!")
    # waiting: it cannot sign in yet, and the page says why
    await sign_in(seeker, base, "plot_seeker")
    await expect(seeker.locator(".form-banner")).to_contain_text("waiting for a node admin's approval")

    admin = await new_page(browser)
    await sign_in(admin, base, "nodeadmin")
    await admin.wait_for_url("**/channels/@me")
    await admin.get_by_role("link", name="Node admin").click()
    await admin.get_by_role("tab", name="Sign-ups").click()
    await admin.wait_for_url("**/admin?tab=signups")
    apps = admin.get_by_role("region", name="Applications")
    await expect(apps.get_by_role("heading")).to_have_text("Applications waiting (2)")
    first = apps.get_by_role("article", name="Application from plot_seeker")
    await expect(first.locator(".application-question")).to_have_text(question)
    await expect(first.locator(".application-answer")).to_have_text(
        "The sunny one by the shed, for tomatoes."
    )
    await expect(first).to_contain_text("plot_seeker@example.test")
    await both_widths(admin, "admin-applications")

    await first.get_by_role("button", name="Approve").click()
    await expect(apps.get_by_role("heading")).to_have_text("Applications waiting (1)")
    spam = apps.get_by_role("article", name="Application from seo_expert")
    await spam.get_by_label("Note to seo_expert").fill("This is a gardening club.")
    await spam.get_by_role("button", name="Reject").click()
    await expect(apps).to_contain_text("No applications are waiting.")

    mails = await inbox.wait(4)  # two verification mails, then the two decisions
    decided = {m["To"]: m for m in mails if "approved" in m["Subject"] or "application" in m["Subject"]}
    assert "/login" in decided["plot_seeker@example.test"].get_content()
    assert "This is a gardening club." in decided["seo_expert@example.test"].get_content()
    status = await node.db.fetchall(
        "SELECT username, status FROM users_accounts WHERE admin = 0 ORDER BY username"
    )
    assert [tuple(r) for r in status] == [("deleted", "deleted"), ("plot_seeker", "active")]

    await sign_in(seeker, base, "plot_seeker")
    await seeker.wait_for_url("**/channels/@me")
    assert seeker.errors == [] and admin.errors == [] and seeker.external_requests == []


async def test_closed_mode_shows_no_form_and_the_admin_creates_the_account(aiohttp_server, tmp_path, browser):
    base, node = await serve(aiohttp_server, tmp_path, "closed")
    await make_admin(node)
    page = await new_page(browser)
    await page.goto(f"{base}/register")
    await expect(page.get_by_role("heading", name="Sign-ups are closed")).to_be_visible()
    await expect(page.locator(".signup-closed")).to_have_text(
        "Sign-ups are closed on this node. A node admin can create an account for you."
    )
    assert await page.locator("form").count() == 0 and await page.get_by_label("Username").count() == 0
    await both_widths(page, "closed")

    admin = await new_page(browser)
    await sign_in(admin, base, "nodeadmin")
    await admin.wait_for_url("**/channels/@me")
    await admin.goto(f"{base}/admin?tab=signups")
    await expect(admin.locator(".signup-mode")).to_contain_text("closed")
    create = admin.get_by_role("region", name="Create an account")
    await create.get_by_label("Username").fill("walk_in")
    await create.get_by_label("Email").fill("walk_in@example.test")
    await create.get_by_label("Password").fill(PASSWORD)
    await create.get_by_role("button", name="Create account").click()
    await expect(create.locator(".account-made")).to_have_text("Created walk_in. They can sign in now.")
    await sign_in(page, base, "walk_in")
    await page.wait_for_url("**/channels/@me")
    assert page.errors == [] and admin.errors == []


async def test_the_fallback_sha256_matches_the_browsers(aiohttp_server, tmp_path, browser):
    # a node on plain http away from localhost has no crypto.subtle: pow.js hashes by itself then
    base, _ = await serve(aiohttp_server, tmp_path, "open")
    page = await new_page(browser)
    await page.goto(f"{base}/login")
    same = await page.evaluate(
        """async () => {
          const pow = await import('/web/js/pow.js');
          const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
          const inputs = ['', 'abc', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(64), '16.17.ab.cd:12345'];
          const out = [];
          for (const s of inputs) {
            const bytes = new TextEncoder().encode(s);
            out.push(hex(pow.sha256(bytes)) === hex(await crypto.subtle.digest('SHA-256', bytes)));
          }
          return out;
        }"""
    )
    assert same == [True] * 6


async def test_an_invite_link_opened_signed_out_names_its_community_until_it_is_accepted(
    aiohttp_server, tmp_path, browser
):
    """A friend's invite link, opened on a phone by someone without an account: the sign-in and
    sign-up cards say which community invited them (they said only "Welcome back!"); after signing
    up, the invite page opens. A link whose invite was revoked names nothing."""
    base, node = await serve(aiohttp_server, tmp_path, "open")
    await make_admin(node)
    host = await new_page(browser)
    await sign_in(host, base, "nodeadmin")
    await host.wait_for_url("**/channels/@me")
    live, revoked = await host.evaluate(
        """async () => {
          const api = await import('/web/js/api.js');
          const c = await api.post('/api/v1/communities', { name: 'Allotment', public: false });
          const live = (await api.post(`/api/v1/communities/${c.id}/invites`, {})).code;
          const revoked = (await api.post(`/api/v1/communities/${c.id}/invites`, {})).code;
          await api.api('DELETE', `/api/v1/invites/${revoked}`);
          return [live, revoked];
        }"""
    )

    guest = await new_page(browser, PHONE)
    await guest.goto(f"{base}/invite/{live}")
    await guest.wait_for_url("**/login")
    note = guest.get_by_role("status").filter(has_text="invited")
    await expect(note).to_have_text(
        "You have been invited to join Allotment. Sign in or create an account to accept."
    )
    await shoot(guest, "signup-invited-login-phone")
    await guest.get_by_role("link", name="Register").click()
    await expect(guest.get_by_role("heading", name="Create an account")).to_be_visible()
    await expect(note).to_contain_text("invited to join Allotment")
    await fill_basics(guest, "new_friend")
    await guest.get_by_role("button", name="Create account").click()
    await guest.wait_for_url(f"**/invite/{live}")
    await guest.get_by_role("button", name="Accept invite").click()
    await guest.locator("#composer-input").wait_for()

    late = await new_page(browser, PHONE)
    await late.goto(f"{base}/invite/{revoked}")
    await expect(late.get_by_role("heading", name="Welcome back!")).to_be_visible()
    await late.wait_for_load_state("networkidle")
    await expect(late.locator(".invited")).to_be_hidden()
    await expect(late.get_by_text("invited to join")).to_have_count(0)
    for page in (guest, late):
        assert page.errors == [] and page.external_requests == []
