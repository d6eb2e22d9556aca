"""Scheduled events in the browser (issue 26): the owner (in Berlin) plans an event from the Events
page reached through the community sidebar; a member (in New York) who has the page open sees it
appear live with the time in their own zone, answers Going, and the owner sees the count change
live; a reload keeps the answer; the page fits a 390 px phone."""

from __future__ import annotations

import re

import aiohttp
import icalendar
import pytest
from playwright.async_api import expect

from tests.e2e.webui import (
    DESKTOP,
    PHONE,
    accept_invite,
    create_community,
    invite_link,
    new_page,
    register,
    serve,
    shoot,
)
from tests.users_fixtures import PASSWORD

pytestmark = pytest.mark.browser


def png() -> bytes:
    from tests.content.test_emoji_icon_media import png as make

    return make()


async def open_events(page) -> None:
    await page.get_by_role("link", name="Events").click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Events · "))).to_be_visible()


async def test_plan_an_event_and_answer_it_live(aiohttp_server, tmp_path, browser) -> None:
    base = await serve(aiohttp_server, tmp_path)
    alice = await new_page(browser, timezone_id="Europe/Berlin", locale="en-GB")
    bob = await new_page(browser, timezone_id="America/New_York", locale="en-GB")
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Harbour")
    await accept_invite(bob, await invite_link(alice))

    await open_events(bob)
    await expect(bob.get_by_text("No upcoming events yet.")).to_be_visible()
    await expect(bob.get_by_role("button", name="Create event")).to_have_count(0)  # no Manage events

    await open_events(alice)
    await alice.get_by_role("button", name="Create event").click()
    form = alice.get_by_role("form", name="New event")
    await expect(form.get_by_label("Time zone")).to_have_value("Europe/Berlin")  # the browser's own
    await form.get_by_label("Title").fill("Harbour cleanup")
    await form.get_by_label("Starts").fill("2031-12-24T18:00")
    await form.get_by_label("Ends (optional)").fill("2031-12-24T20:00")
    await form.get_by_label("Where (a place, or pick a channel below)").fill("North pier")
    cover = {"name": "pier.png", "mimeType": "image/png", "buffer": png()}
    await form.get_by_label("Cover image (optional)").set_input_files(cover)
    await expect(form.get_by_text("Uploaded.")).to_be_visible()
    await form.get_by_role("button", name="Create event").click()
    card_a = alice.get_by_role("article", name="Harbour cleanup")
    await expect(card_a).to_contain_text("24 Dec 2031, 18:00")
    await expect(card_a.get_by_test_id("event-counts")).to_have_text("0 going · 0 interested")
    await expect(card_a.locator("img.event-cover")).to_be_visible()

    # bob's open page shows it without a reload, at 12:00 New York time (18:00 in Berlin)
    card_b = bob.get_by_role("article", name="Harbour cleanup")
    await expect(card_b).to_contain_text("24 Dec 2031, 12:00")
    await expect(card_b).to_contain_text("18:00 in Europe/Berlin")
    await expect(card_b).to_contain_text("Where: North pier")
    await shoot(bob, "events-member-sees-new-event")
    await card_b.get_by_role("button", name="Going").click()
    await expect(card_b.get_by_role("button", name="Going")).to_have_attribute("aria-pressed", "true")
    await expect(card_b.get_by_test_id("event-counts")).to_have_text("1 going · 0 interested")

    # the owner's page follows
    await expect(card_a.get_by_test_id("event-counts")).to_have_text("1 going · 0 interested")
    await expect(card_a).to_contain_text("Going: bob")
    await shoot(alice, "events-owner-sees-count")

    # a reload keeps bob's answer (deep link to the page)
    await bob.reload()
    card_b = bob.get_by_role("article", name="Harbour cleanup")
    await expect(card_b.get_by_role("button", name="Going")).to_have_attribute("aria-pressed", "true")
    await card_b.get_by_role("button", name="Interested").click()
    await expect(card_a.get_by_test_id("event-counts")).to_have_text("0 going · 1 interested")

    # phone width: nothing wider than the screen, the form included
    for page, name in ((bob, "events-member-phone"), (alice, "events-owner-phone")):
        await page.set_viewport_size(PHONE)
        if page is alice:
            await page.get_by_role("button", name="Create event").click()
        await page.wait_for_timeout(200)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width} px wide"
        await shoot(page, name)
        await page.set_viewport_size(DESKTOP)

    # the owner moves it an hour later and renames it; bob's page follows
    await card_a.get_by_role("button", name="Edit").click()
    edit = alice.get_by_role("form", name="Edit Harbour cleanup")
    await expect(edit.get_by_label("Starts")).to_have_value("2031-12-24T18:00")
    await expect(edit.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    await edit.get_by_label("Title").fill("Harbour cleanup and picnic")
    await edit.get_by_label("Starts").fill("2031-12-24T19:00")
    await edit.get_by_role("button", name="Save changes").click()
    card_a = alice.get_by_role("article", name="Harbour cleanup and picnic")
    card_b = bob.get_by_role("article", name="Harbour cleanup and picnic")
    await expect(card_b).to_contain_text("24 Dec 2031, 13:00")
    await expect(card_b).to_contain_text("Where: North pier")
    await expect(card_b.get_by_test_id("event-counts")).to_have_text("0 going · 1 interested")

    # the owner cancels it: bob's open page marks it at once, and his buttons stop
    await card_a.get_by_role("button", name="Cancel event").click()
    await (
        alice.get_by_role("dialog", name="Cancel this event?")
        .get_by_role("button", name="Cancel event")
        .click()
    )
    await expect(card_b).to_contain_text("Cancelled")
    await expect(card_b.get_by_role("button", name="Going")).to_be_disabled()
    await shoot(bob, "events-member-sees-cancelled")

    # the page's feed link is the public community's subscribable feed: anyone may fetch it
    href = await bob.get_by_role("link", name="Calendar feed (iCal)").get_attribute("href")
    async with aiohttp.ClientSession() as http, http.get(base + href) as resp:
        cal = icalendar.Calendar.from_ical(await resp.read())
    (vevent,) = cal.walk("VEVENT")
    assert (str(vevent["SUMMARY"]), str(vevent["STATUS"])) == ("Harbour cleanup and picnic", "CANCELLED")
    assert alice.errors == [] and bob.errors == []
    assert alice.external_requests == [] and bob.external_requests == []


async def test_a_private_communitys_calendar_downloads_for_its_member(
    aiohttp_server, tmp_path, browser
) -> None:
    base = await serve(aiohttp_server, tmp_path)
    async with aiohttp.ClientSession(base_url=base) as http:
        body = {"username": "carol", "email": "carol@example.test", "password": PASSWORD}
        async with http.post("/api/v1/auth/register", json=body) as resp:
            token = (await resp.json())["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        async with http.post(
            "/api/v1/communities", json={"name": "Attic", "public": False}, headers=h
        ) as resp:
            cid = (await resp.json())["id"]
        plan = {"title": "Attic sale", "start": "2031-04-04T10:00", "time_zone": "Europe/Lisbon"}
        async with http.post(f"/api/v1/communities/{cid}/events", json=plan, headers=h) as resp:
            assert resp.status == 201
        async with http.get(f"/api/v1/communities/{cid}/events.ics") as resp:
            assert resp.status == 404  # not for anyone without a sign-in
    page = await new_page(browser, timezone_id="Europe/Lisbon", locale="en-GB", accept_downloads=True)
    await page.goto(f"{base}/login")
    await page.get_by_label("Username or email").fill("carol")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/channels/**")
    await page.goto(f"{base}/channels/{cid}/@events")
    await expect(page.get_by_role("article", name="Attic sale")).to_contain_text("4 Apr 2031, 10:00")
    await expect(page.get_by_role("link", name="Calendar feed (iCal)")).to_have_count(0)
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download calendar (.ics)").click()
    download = await info.value
    assert download.suggested_filename == "Attic.ics"
    cal = icalendar.Calendar.from_ical(open(await download.path(), "rb").read())
    assert [str(v["SUMMARY"]) for v in cal.walk("VEVENT")] == ["Attic sale"]
    await shoot(page, "events-private-download")
    assert page.errors == [] and page.external_requests == []
