"""A chat message's actions as members use them: the hover toolbar, the right-click menu, the keyboard
and a long press on a phone; reporting a message to the community's moderators with a reasons form;
threads started from a message, listed per channel and answered live on another member's screen; and
the "New" line above what a member has not read yet, after a reload. Screenshots: chat-menu-*,
chat-report-*, chat-thread-*, chat-unread-* in the test artifacts."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    message,
    new_page,
    register,
    send,
    serve,
    shoot,
)

pytestmark = pytest.mark.browser


async def community_of_three(aiohttp_server, tmp_path, browser, name: str, bob_options=None):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob, carol = (
        await new_page(browser),
        await new_page(browser, **(bob_options or {})),
        await new_page(browser),
    )
    for page, user in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        await register(page, base, user)
    channel_url = await create_community(alice, name)
    link = await invite_link(alice)
    await accept_invite(bob, link)
    await accept_invite(carol, link)
    return base, channel_url, alice, bob, carol


def community_id(channel_url: str) -> str:
    return channel_url.rstrip("/").split("/")[-2]


async def file_report(page, title: str, reason: str, details: str = "") -> None:
    dialog = page.get_by_role("dialog", name=title)
    await expect(dialog).to_be_visible()
    await dialog.get_by_label(reason).check()
    if details:
        await dialog.get_by_label("Details (optional)").fill(details)
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Report sent to the moderators.")
    await dialog.get_by_role("button", name="Done").click()
    await expect(dialog).to_be_hidden()


async def long_press(page, locator) -> None:
    """A finger held on the element (real touch events through the browser's input pipeline)."""
    box = await locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    await page.wait_for_timeout(800)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def test_a_member_reports_messages_by_toolbar_and_right_click_and_the_moderators_see_them(
    aiohttp_server, tmp_path, browser
):
    base, channel_url, alice, bob, carol = await community_of_three(
        aiohttp_server, tmp_path, browser, "Book Club"
    )
    await send(carol, "buy cheap followers at spam.example")
    await send(carol, "you are all idiots")
    await send(carol, "this one will be gone")
    await send(bob, "my own words")
    spam = message(bob, "buy cheap followers")
    await expect(message(bob, "this one will be gone")).to_be_visible()

    # The hover toolbar: Report opens a form of reasons, not a browser prompt.
    await spam.hover()
    await spam.get_by_role("button", name="Report").click()
    dialog = bob.get_by_role("dialog", name="Report message by carol")
    await expect(dialog.locator(".report-excerpt")).to_have_text("buy cheap followers at spam.example")
    await dialog.get_by_role("button", name="Send report").click()  # no reason chosen: refused in place
    await expect(dialog.get_by_text("Choose a reason.")).to_be_visible()
    await expect(dialog.get_by_role("radio")).to_have_count(6)
    await dialog.get_by_label("Spam or a scam").check()
    await dialog.get_by_label("Details (optional)").fill("posted in every channel")
    await shoot(bob, "chat-report-dialog-desktop")
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog.get_by_role("status")).to_contain_text("Report sent to the moderators.")
    await shoot(bob, "chat-report-sent-desktop")
    await dialog.get_by_role("button", name="Done").click()
    await expect(dialog).to_be_hidden()

    # Right-click: the same actions as a menu; Report is there for others' messages.
    insult = message(bob, "you are all idiots")
    await insult.click(button="right")
    menu = bob.get_by_role("menu")
    await expect(menu).to_be_visible()
    await expect(menu.get_by_role("menuitem")).to_have_text(
        ["Reply", "Add reaction", "Start thread", "Copy link", "Save message", "Forward…", "Report"]
    )
    await shoot(bob, "chat-menu-desktop")
    await menu.get_by_role("menuitem", name="Report").click()
    await file_report(bob, "Report message by carol", "Harassment or hate")

    # Never on your own message: not on the toolbar, not in the menu (which offers Edit and Delete).
    mine = message(bob, "my own words")
    await mine.hover()
    await expect(mine.get_by_role("button", name="Report")).to_have_count(0)
    await mine.click(button="right")
    await expect(menu.get_by_role("menuitem")).to_have_text(
        ["Reply", "Add reaction", "Start thread", "Copy link", "Save message", "Forward…", "Edit", "Delete"]
    )
    await bob.keyboard.press("Escape")
    await expect(menu).to_be_hidden()

    # The keyboard: Shift+F10 on a focused message opens the menu; Escape returns to the message.
    await mine.focus()
    await bob.keyboard.press("Shift+F10")
    await expect(menu.get_by_role("menuitem", name="Reply")).to_be_focused()
    await bob.keyboard.press("End")
    await expect(menu.get_by_role("menuitem", name="Delete")).to_be_focused()
    await bob.keyboard.press("Escape")
    await expect(mine).to_be_focused()

    # A report the node refuses (the message was deleted meanwhile) says so inside the dialog.
    gone = message(bob, "this one will be gone")
    await gone.hover()
    await gone.get_by_role("button", name="Report").click()
    dialog = bob.get_by_role("dialog", name="Report message by carol")
    await dialog.get_by_label("Something else").check()
    doomed = message(carol, "this one will be gone")
    await doomed.hover()
    await doomed.get_by_role("button", name="Delete").click()
    await carol.get_by_role("dialog", name="Delete message").get_by_role("button", name="Delete").click()
    await expect(message(carol, "this one will be gone")).to_have_count(0)
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog.locator(".form-banner")).to_contain_text("no such message")
    await expect(dialog.get_by_role("button", name="Send report")).to_be_visible()
    await bob.keyboard.press("Escape")

    # The owner (a moderator) finds both reports in the community's queue, with text and reason.
    await alice.goto(f"{base}/channels/{community_id(channel_url)}/@mod")
    spam_report = alice.locator("li.report", has_text="buy cheap followers")
    # (a cold page load of the queue under a busy machine: give it time)
    await expect(spam_report).to_contain_text(
        "Reason: Spam or a scam: posted in every channel", timeout=20_000
    )
    await expect(alice.locator("li.report", has_text="you are all idiots")).to_contain_text(
        "Reason: Harassment or hate"
    )
    await expect(alice.locator("li.report")).to_have_count(2)
    for page in (alice, bob, carol):
        assert page.errors == [] and page.external_requests == []


async def test_threads_start_from_a_message_and_the_other_member_sees_and_answers_them_live(
    aiohttp_server, tmp_path, browser
):
    _base, _channel_url, alice, bob, carol = await community_of_three(
        aiohttp_server, tmp_path, browser, "Picnic"
    )
    await carol.close()
    await send(alice, "Who is coming to the picnic?")
    await send(alice, "And who has a blanket?")
    question = message(alice, "Who is coming")
    await expect(message(bob, "Who is coming")).to_be_visible()

    # Bob opens the channel's thread list before there is one.
    await bob.get_by_role("button", name="Threads").click()
    threads_b = bob.get_by_role("complementary", name="Threads in #general")
    await expect(threads_b).to_contain_text("No threads here yet.")

    # Alice starts a thread from the toolbar and writes the first reply in the pane.
    await question.hover()
    await question.get_by_role("button", name="Start thread").click()
    pane_a = alice.get_by_role("complementary", name="Thread")
    await expect(pane_a.locator(".thread-root")).to_contain_text("Who is coming to the picnic?")
    await expect(pane_a).to_contain_text("No replies yet.")
    reply_box = pane_a.get_by_label("Reply in thread")
    await expect(reply_box).to_be_focused()
    await reply_box.fill("Count me in, I bring lemonade")
    await reply_box.press("Enter")
    await expect(pane_a.locator(".thread-replies")).to_contain_text("Count me in, I bring lemonade")
    # The reply lives in the thread, not in the channel; the root says how many replies it has.
    await expect(message(alice, "Count me in")).to_have_count(0)
    await expect(question.get_by_role("button", name="Open thread: 1 reply")).to_be_visible()

    # Bob sees it appear without a reload: in his thread list and under the root message.
    await expect(threads_b.locator(".thread-item")).to_have_count(1)
    await expect(threads_b.locator(".thread-item")).to_contain_text("alice · 1 reply")
    await expect(threads_b.locator(".thread-item")).to_contain_text("Who is coming to the picnic?")
    await expect(
        message(bob, "Who is coming").get_by_role("button", name="Open thread: 1 reply")
    ).to_be_visible()
    await shoot(bob, "chat-thread-list-desktop")
    await threads_b.locator(".thread-item").click()
    pane_b = bob.get_by_role("complementary", name="Thread")
    await expect(pane_b.locator(".thread-replies")).to_contain_text("Count me in, I bring lemonade")
    await pane_b.get_by_label("Reply in thread").fill("Sandwiches from me")
    await pane_b.get_by_label("Reply in thread").press("Enter")

    # ...and Alice's open pane shows his reply live; neither channel view shows thread replies.
    await expect(pane_a.locator(".thread-replies .thread-msg")).to_have_count(2)
    await expect(pane_a.locator(".thread-replies")).to_contain_text("Sandwiches from me")
    await expect(question.get_by_role("button", name="Open thread: 2 replies")).to_be_visible()
    await expect(message(bob, "Sandwiches")).to_have_count(0)
    await expect(message(alice, "Sandwiches")).to_have_count(0)
    await shoot(alice, "chat-thread-desktop")

    # A second thread, started from the right-click menu, joins Bob's list live (most recent first).
    await bob.get_by_role("button", name="All threads").click()
    await expect(threads_b.locator(".thread-item")).to_have_count(1)
    blanket = message(alice, "who has a blanket")
    await blanket.click(button="right")
    await alice.get_by_role("menu").get_by_role("menuitem", name="Start thread").click()
    await pane_a.get_by_label("Reply in thread").fill("I do, a big one")
    await pane_a.get_by_label("Reply in thread").press("Enter")
    await expect(threads_b.locator(".thread-item")).to_have_count(2)
    await expect(threads_b.locator(".thread-item").first).to_contain_text("And who has a blanket?")
    await expect(threads_b.locator(".thread-item").last).to_contain_text("2 replies")

    # After a reload the thread is still there, from the node (history and the thread list).
    await bob.reload()
    await expect(
        message(bob, "Who is coming").get_by_role("button", name="Open thread: 2 replies")
    ).to_be_visible()
    await expect(message(bob, "Sandwiches")).to_have_count(0)
    await message(bob, "Who is coming").get_by_role("button", name="Open thread: 2 replies").click()
    await expect(bob.get_by_role("complementary", name="Thread").locator(".thread-msg")).to_have_count(3)
    await bob.keyboard.press("Escape")
    await expect(bob.get_by_role("complementary", name="Thread")).to_have_count(0)

    # At phone width the pane takes the whole screen.
    await alice.set_viewport_size(PHONE)
    await alice.get_by_role("button", name="All threads").click()  # her pane is still open
    await alice.get_by_role("complementary", name="Threads in #general").locator(".thread-item").last.click()
    pane = alice.get_by_role("complementary", name="Thread")
    box = await pane.bounding_box()
    assert box["width"] == PHONE["width"] and box["x"] == 0, box
    await expect(pane.locator(".thread-replies")).to_contain_text("Sandwiches from me")
    await shoot(alice, "chat-thread-phone")
    for page in (alice, bob):
        assert page.errors == [] and page.external_requests == []


async def test_on_a_phone_a_long_press_opens_the_actions_sheet_to_report_and_start_a_thread(
    aiohttp_server, tmp_path, browser
):
    phone = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
    base, channel_url, alice, bob, carol = await community_of_three(
        aiohttp_server, tmp_path, browser, "Hikers", bob_options=phone
    )
    await send(carol, "free gift cards, click here")
    await send(alice, "Trail map for Saturday is pinned")
    spam = message(bob, "free gift cards")
    await expect(message(bob, "Trail map")).to_be_visible()

    await long_press(bob, spam.locator(".msg-body"))
    sheet = bob.get_by_role("menu")
    await expect(sheet).to_have_class("msg-menu sheet")
    await expect(sheet.get_by_role("menuitem", name="Report")).to_be_visible()
    box = await sheet.bounding_box()
    assert box["width"] == PHONE["width"] and box["y"] + box["height"] == pytest.approx(
        PHONE["height"], abs=1
    ), box
    await shoot(bob, "chat-menu-phone")
    await sheet.get_by_role("menuitem", name="Report").tap()
    dialog = bob.get_by_role("dialog", name="Report message by carol")
    await dialog.get_by_label("Spam or a scam").check()
    await shoot(bob, "chat-report-dialog-phone")
    await dialog.get_by_role("button", name="Send report").tap()
    await expect(dialog.get_by_role("status")).to_contain_text("Report sent to the moderators.")
    await dialog.get_by_role("button", name="Done").tap()

    # A long press on a thread's root: Start thread opens the pane full screen.
    await long_press(bob, message(bob, "Trail map").locator(".msg-body"))
    await bob.get_by_role("menu").get_by_role("menuitem", name="Start thread").tap()
    pane = bob.get_by_role("complementary", name="Thread")
    await pane.get_by_label("Reply in thread").fill("Which trailhead?")
    await pane.get_by_role("button", name="Send reply").tap()
    await expect(pane.locator(".thread-replies")).to_contain_text("Which trailhead?")
    await expect(
        message(alice, "Trail map").get_by_role("button", name="Open thread: 1 reply")
    ).to_be_visible()
    await shoot(bob, "chat-thread-start-phone")
    await pane.get_by_role("button", name="Close thread pane").tap()
    await expect(pane).to_have_count(0)

    # No Report in the sheet for your own message.
    await send(bob, "see you there")
    await long_press(bob, message(bob, "see you there").locator(".msg-body"))
    await expect(bob.get_by_role("menu").get_by_role("menuitem", name="Edit")).to_be_visible()
    await expect(bob.get_by_role("menu").get_by_role("menuitem", name="Report")).to_have_count(0)

    await alice.goto(f"{base}/channels/{community_id(channel_url)}/@mod")
    await expect(alice.locator("li.report", has_text="free gift cards")).to_contain_text(
        "Reason: Spam or a scam", timeout=20_000
    )
    for page in (alice, bob, carol):
        assert page.errors == [] and page.external_requests == []


async def test_a_member_who_comes_back_sees_the_new_line_above_what_they_have_not_read(
    aiohttp_server, tmp_path, browser
):
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    channel_url = await create_community(alice, "Late Night")
    for i in range(12):
        await send(alice, f"early chat {i}")
    await expect(message(alice, "early chat 11")).to_be_visible()
    # Bob joins late and reads what is there (the channel opens at the latest message).
    await register(bob, base, "bob")
    link = await invite_link(alice)
    async with bob.expect_response(lambda r: r.url.endswith("/ack") and r.request.method == "POST"):
        await accept_invite(bob, link)
    await expect(message(bob, "early chat 11")).to_be_visible()
    await expect(bob.locator(".new-divider")).to_have_count(0)  # all of it was new to him, but he was here
    await bob.goto(f"{base}/channels/@me")
    # While he is away, Alice goes on; many messages, so the first unread one is far above the bottom.
    for i in range(25):
        await send(alice, f"while bob was away {i}")
    await expect(message(alice, "while bob was away 24")).to_be_visible()

    await bob.goto(channel_url)
    divider = bob.locator(".new-divider")
    await expect(divider).to_have_count(1)
    first_new = message(bob, "while bob was away 0")
    await expect(first_new.locator(".new-divider")).to_have_text("New")
    await expect(divider).to_be_in_viewport()
    await expect(message(bob, "while bob was away 24")).not_to_be_in_viewport()
    await shoot(bob, "chat-unread-desktop")
    # It is Alice's last message before it that Bob had read: no line above his earlier reading.
    await expect(message(bob, "early chat 11").locator(".new-divider")).to_have_count(0)

    # Bob answers: the channel is read and the line goes; a reload shows none.
    await send(bob, "back now, catching up")
    await expect(divider).to_have_count(0)
    await bob.reload()
    await expect(message(bob, "back now")).to_be_visible()
    await bob.wait_for_timeout(300)
    await expect(bob.locator(".new-divider")).to_have_count(0)

    # On a phone, after a reload with new messages, the line is there too.
    await bob.goto(f"{base}/channels/@me")
    await send(alice, "one more for the phone")
    await expect(message(alice, "one more for the phone")).to_be_visible()
    await bob.set_viewport_size(PHONE)
    await bob.goto(channel_url)
    await expect(message(bob, "one more for the phone").locator(".new-divider")).to_be_visible()
    await shoot(bob, "chat-unread-phone")
    for page in (alice, bob):
        assert page.errors == [] and page.external_requests == []
