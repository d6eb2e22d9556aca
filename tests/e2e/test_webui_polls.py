"""Polls in the browser (issue 26): alice makes a poll from the chat composer, alice and bob vote in
their own browsers and each sees the other's vote live, a reload keeps the counts and the vote
marked, alice ends it early; a post with a poll from the post composer. Desktop and 390 px."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    accept_invite,
    create_community,
    create_forum,
    invite_link,
    new_page,
    register,
    serve,
    shoot,
)

pytestmark = pytest.mark.browser


def poll(page: Any, question: str) -> Any:
    return page.get_by_role("region", name=f"Poll: {question}")


def answer(card: Any, text: str) -> Any:
    return card.locator("button.poll-answer", has_text=text)


async def fill_poll(scope: Any, question: str, answers: list[str]) -> None:
    await scope.get_by_label("Question").fill(question)
    for i, text in enumerate(answers):
        if i >= 2:
            await scope.get_by_role("button", name="Add answer").click()
        await scope.get_by_label(f"Answer {i + 1}", exact=True).fill(text)


async def fits_phone(page: Any, name: str) -> None:
    await page.set_viewport_size(PHONE)
    await page.wait_for_timeout(200)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width} px wide at 390 px"
    await shoot(page, f"{name}-phone")
    await page.set_viewport_size(DESKTOP)


async def test_two_members_vote_and_see_each_other_live(aiohttp_server, tmp_path, browser) -> None:
    base = await serve(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    channel_url = await create_community(alice, "Picnic")
    await accept_invite(bob, await invite_link(alice))
    await bob.goto(channel_url)
    await bob.locator("#composer-input").wait_for()

    # Alice writes the poll in the composer's dialog.
    await alice.get_by_role("button", name="Create a poll").click()
    dialog = alice.get_by_role("dialog", name="Create a poll")
    await fill_poll(dialog, "Where shall we meet?", ["The park", "The beach", "The café"])
    await dialog.get_by_label("Answer 2 emoji (optional)").fill("🏖️")
    await shoot(alice, "polls-composer")
    await dialog.get_by_role("button", name="Post poll").click()
    await expect(dialog).to_be_hidden()

    # Both see it (bob live); bob votes, alice sees the count move without reloading.
    for page in (alice, bob):
        await expect(poll(page, "Where shall we meet?")).to_be_visible()
    await answer(poll(bob, "Where shall we meet?"), "The beach").click()
    await expect(answer(poll(bob, "Where shall we meet?"), "The beach")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(answer(poll(alice, "Where shall we meet?"), "The beach")).to_contain_text("1 · 100%")
    await answer(poll(alice, "Where shall we meet?"), "The park").click()
    await expect(answer(poll(bob, "Where shall we meet?"), "The park")).to_contain_text("1 · 50%")
    await expect(poll(bob, "Where shall we meet?").locator(".poll-voters")).to_have_text("2 voters")
    await shoot(alice, "polls-chat-alice")
    await shoot(bob, "polls-chat-bob")

    # Bob changes his mind: alice sees it live; after a reload, bob's vote is still marked.
    await answer(poll(bob, "Where shall we meet?"), "The park").click()
    await expect(answer(poll(alice, "Where shall we meet?"), "The park")).to_contain_text("2 · 100%")
    await expect(answer(poll(alice, "Where shall we meet?"), "The beach")).to_contain_text("0 · 0%")
    await bob.reload()
    card = poll(bob, "Where shall we meet?")
    await expect(answer(card, "The park")).to_have_attribute("aria-pressed", "true")
    await expect(answer(card, "The park")).to_contain_text("2 · 100%")
    await expect(answer(card, "The beach")).to_have_attribute("aria-pressed", "false")
    await fits_phone(bob, "polls-chat")

    # Alice ends it: bob's buttons stop taking votes, live.
    await poll(alice, "Where shall we meet?").get_by_role("button", name="End poll").click()
    await expect(poll(bob, "Where shall we meet?").locator(".poll-state")).to_have_text("Ended early")
    await expect(answer(poll(bob, "Where shall we meet?"), "The café")).to_be_disabled()
    await shoot(bob, "polls-ended")
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)


async def test_post_with_a_poll_from_the_post_composer(aiohttp_server, tmp_path, browser) -> None:
    base = await serve(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Readers")
    await create_forum(alice, "books")
    await alice.get_by_role("link", name="New post").click()
    await alice.get_by_label("Title").fill("Next month's book")
    await alice.get_by_role("button", name="Add a poll").click()
    await fill_poll(alice.locator(".post-composer"), "Which one?", ["Dune", "Emma"])
    await alice.get_by_label("Allow several answers").check()
    await alice.get_by_role("button", name="Post", exact=True).click()
    card = poll(alice, "Which one?")
    await expect(card).to_contain_text("Choose one or more")
    # Two quick clicks while the first vote is still on its way keep both answers.
    held: list[str] = []

    async def slow_first_vote(route: Any) -> None:
        if not held:
            held.append(route.request.url)
            await asyncio.sleep(0.6)
        await route.continue_()

    await alice.route("**/api/v1/polls/*/vote", slow_first_vote)
    await answer(card, "Dune").click()
    await answer(card, "Emma").click()
    await expect(card.locator(".poll-voters")).to_have_text("1 voter")
    await expect(card.locator("button.poll-answer[aria-pressed=true]")).to_have_count(2)
    await alice.reload()
    await expect(poll(alice, "Which one?").locator("button.poll-answer[aria-pressed=true]")).to_have_count(2)
    await fits_phone(alice, "polls-post")
    # The feed shows it too, with the counts, and takes votes there (as Reddit's feed does).
    await alice.get_by_role("link", name="← Back to posts").click()
    card = poll(alice, "Which one?")
    await expect(answer(card, "Dune")).to_contain_text("1 · 50%")
    await answer(card, "Emma").click()
    await expect(answer(card, "Emma")).to_have_attribute("aria-pressed", "false")
    await expect(answer(card, "Dune")).to_contain_text("1 · 100%")
    await fits_phone(alice, "polls-feed")
    assert not alice.errors, alice.errors
