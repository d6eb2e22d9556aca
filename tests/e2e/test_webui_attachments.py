"""Chat attachments, the emoji picker and spoilers, as two members use them: Alice attaches images
with the button, by pasting and by dropping them on the channel, watches a larger file's progress
(and cancels one), sends a sound file; Bob sees each live, opens the images full size in the
lightbox (arrows, Escape, focus back) and downloads the file from its card. Alice picks an emoji
and the community's custom emoji by searching; Bob reveals a spoiler with the keyboard. Desktop
and a 390 px phone."""

from __future__ import annotations

import base64
import io
import math
import os
import re
import shutil
import struct
import wave
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.test_webui_admin_media import serve_node
from tests.e2e.webui import (
    PHONE,
    SCREENSHOTS,
    accept_invite,
    create_community,
    create_forum,
    invite_link,
    message,
    new_page,
    png,
    register,
    shoot,
    until,
)

pytestmark = pytest.mark.browser


def wav(name: str, seconds: float, rate: int = 8000) -> dict[str, Any]:
    """A real WAV file (a 440 Hz tone): the media plugin takes audio, and shows it as a file card."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(i * 440 * 2 * math.pi / rate))) for i in range(frames)
            )
        )
    return {"name": name, "mimeType": "audio/wav", "buffer": buf.getvalue()}


async def drop_file(page: Any, selector: str, file: dict[str, Any], event: str = "drop") -> None:
    """What a drag from the desktop does: dragenter, dragover, then drop with the file (or a paste
    into the element with ``event="paste"``)."""
    await page.evaluate(
        """([selector, b64, name, type, event]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], name, { type }));
          const el = document.querySelector(selector);
          if (event === 'paste') {
            const init = { clipboardData: dt, bubbles: true, cancelable: true };
            el.dispatchEvent(new ClipboardEvent('paste', init));
            return;
          }
          for (const kind of ['dragenter', 'dragover', 'drop']) {
            el.dispatchEvent(new DragEvent(kind, { dataTransfer: dt, bubbles: true, cancelable: true }));
          }
        }""",
        [selector, base64.b64encode(file["buffer"]).decode(), file["name"], file["mimeType"], event],
    )


DOCS = ("attachments-desktop", "attachments-phone", "emoji-picker-desktop", "lightbox-phone")


async def snap(page: Any, name: str) -> None:
    """A screenshot to look at; UPDATE_SCREENSHOTS=1 also refreshes the README's copies."""
    shot = await shoot(page, name)
    if name in DOCS and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copy(shot, SCREENSHOTS / f"{name}.png")


def throttle(upload_bytes_per_s: int) -> dict[str, Any]:
    """DevTools network conditions: uploads at most this fast (-1: no limit), downloads free."""
    return {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload_bytes_per_s}


async def ready(page: Any, name: str) -> None:
    await expect(page.locator(".upload-item", has_text=name).locator(".upload-status")).to_have_text(
        "Ready", timeout=15000
    )


async def images_loaded(page: Any, selector: str) -> None:
    """Every <img> under the elements matching ``selector`` really decoded (not a broken link)."""
    expr = (
        f"(() => {{ const imgs = [...document.querySelectorAll({selector!r} + ' img')];"
        " return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); })()"
    )
    await until(page, expr, timeout=15)


async def test_attach_preview_lightbox_file_card_emoji_and_spoiler(aiohttp_server, tmp_path, browser):
    base, node = await serve_node(aiohttp_server, tmp_path)
    alice, bob = await new_page(browser), await new_page(browser, accept_downloads=True)
    await register(alice, base, "alice")
    await register(bob, base, "bob")
    await create_community(alice, "Photos")
    await accept_invite(bob, await invite_link(alice))
    composer = alice.locator("#composer-input")

    # The picker's list is not part of the first load: it comes only when the picker opens.
    loaded_before = await alice.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert not [u for u in loaded_before if u.endswith(("/emoji_picker.js", "/emoji.js", "/lightbox.js"))]

    # 1. The attach button: a file chosen, its progress row, then sent with the text.
    await alice.get_by_role("button", name="Attach files").wait_for()
    await alice.locator(".composer input[type=file]").set_input_files([png("sunset.png", (230, 120, 40))])
    await ready(alice, "sunset.png")
    await composer.fill("look at this sunset")
    await composer.press("Enter")
    await expect(alice.locator(".upload-tray")).to_be_hidden()
    sunset_b = message(bob, "look at this sunset")
    await expect(sunset_b.locator(".att-image")).to_have_count(1)
    await images_loaded(bob, "article.msg .attachments")

    # A file the node refuses (not an image, video or sound): its row says why, and the message
    # waits; once the file is removed, the text goes alone.
    notes = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just some text\n" * 20}
    await alice.locator(".composer input[type=file]").set_input_files([notes])
    refused = alice.locator(".upload-item.failed", has_text="notes.txt")
    await expect(refused.locator(".upload-status")).to_contain_text("not an allowed type")
    await composer.fill("my notes")
    await composer.press("Enter")
    await expect(alice.locator(".composer-error")).to_have_text(
        "A file could not be uploaded: remove it, or add it again."
    )
    await expect(composer).to_have_value("my notes")
    await snap(alice, "upload-refused-desktop")
    await refused.get_by_role("button", name="Remove notes.txt").click()
    await composer.press("Enter")
    await expect(message(bob, "my notes")).to_be_visible()
    await expect(message(bob, "my notes").locator(".attachments")).to_have_count(0)

    # 2. Paste and drop: two images in one message (no text needed).
    await composer.focus()
    await drop_file(alice, "#composer-input", png("pasted.png", (40, 160, 90)), event="paste")
    await drop_file(alice, ".chat-view", png("dropped.png", (60, 80, 220)))
    await ready(alice, "pasted.png")
    await ready(alice, "dropped.png")
    await composer.press("Enter")
    pair = bob.locator("article.msg:not(.pending)").filter(has=bob.locator(".att-image")).last
    await expect(pair.locator(".att-image")).to_have_count(2)
    await images_loaded(bob, "article.msg:last-child .attachments")
    await snap(bob, "attachments-desktop")

    # Until a thumbnail arrives, its BlurHash (decoded in the page) stands in for it.
    backdrop = await pair.locator(".att-image").first.evaluate("el => getComputedStyle(el).backgroundImage")
    assert backdrop.startswith('url("data:image/png;base64,')

    # Bob opens the first full size: the lightbox, arrows move, Escape closes, focus comes back.
    first = pair.locator(".att-image").first
    await first.click()
    box = bob.get_by_role("dialog", name="pasted.png (1 of 2)")
    await expect(box).to_be_visible()
    await until(bob, "document.querySelector('.lightbox-img').naturalWidth > 0")
    await expect(box.get_by_role("button", name="Close")).to_be_focused()
    await snap(bob, "lightbox-desktop")
    await bob.keyboard.press("ArrowRight")
    await expect(bob.get_by_role("dialog", name="dropped.png (2 of 2)")).to_be_visible()
    await bob.keyboard.press("ArrowRight")  # wraps around
    await expect(bob.get_by_role("dialog", name="pasted.png (1 of 2)")).to_be_visible()
    for _ in range(6):  # Tab stays inside the lightbox
        await bob.keyboard.press("Tab")
        assert await bob.evaluate("!!document.activeElement.closest('dialog.lightbox')")
    await bob.keyboard.press("Escape")
    await expect(bob.locator("dialog.lightbox")).to_have_count(0)
    await expect(first).to_be_focused()

    # 3. A larger file, uploaded slowly (the upload throttled): its bar moves; one is cancelled.
    cdp = await alice.context.new_cdp_session(alice)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", throttle(400_000))
    big = wav("concert.wav", 60)  # ~960 KB: a few seconds at 400 KB/s
    await alice.locator(".composer input[type=file]").set_input_files([big])
    row = alice.locator(".upload-item", has_text="concert.wav")
    await until(
        alice,
        "(() => { const p = document.querySelector('.upload-item progress');"
        " return p && p.value > 0.05 && p.value < 0.95; })()",
    )
    await expect(row.locator(".upload-status")).to_have_text(re.compile(r"^\d+%$"))
    await snap(alice, "upload-progress-desktop")
    await row.get_by_role("button", name="Remove concert.wav").click()
    await expect(alice.locator(".upload-item")).to_have_count(0)
    # Cancelled mid-way, it never became an upload on the node.
    assert await node.db.fetchone("SELECT 1 FROM media WHERE filename = 'concert.wav'") is None
    await cdp.send("Network.emulateNetworkConditions", throttle(-1))

    # 4. A sound file: a file card; Bob downloads it and gets the same bytes.
    song = wav("birdsong.wav", 1)
    await alice.locator(".composer input[type=file]").set_input_files([song])
    await ready(alice, "birdsong.wav")
    await composer.fill("a recording")
    await composer.press("Enter")
    card = message(bob, "a recording").locator(".file-card")
    await expect(card.locator(".file-name")).to_have_text("birdsong.wav")
    await expect(card.locator(".file-info")).to_contain_text("audio/wav")
    async with bob.expect_download() as info:
        await card.get_by_role("link", name="Download birdsong.wav").click()
    download = await info.value
    assert download.suggested_filename == "birdsong.wav"
    assert (await download.path()).read_bytes() == song["buffer"]

    # 5. Emoji: search in the picker, a unicode one and then the community's custom one.
    await alice.evaluate(
        """async (b64) => {
          const api = await import('/web/js/api.js');
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const form = new FormData();
          form.append('file', new File([bytes], 'party.png', { type: 'image/png' }));
          const headers = { Authorization: `Bearer ${api.token()}` };
          const up = await fetch('/api/v1/media', { method: 'POST', body: form, headers });
          const media = await up.json();
          const store = await import('/web/js/store.js');
          const community = store.state.current.communityId;
          const emoji = { name: 'partyparrot', media_id: media.id };
          await api.post(`/api/v1/communities/${community}/emojis`, emoji);
        }""",
        base64.b64encode(png("party.png", (250, 0, 200))["buffer"]).decode(),
    )
    await composer.fill("sunset ")
    await alice.get_by_role("button", name="Emoji", exact=True).click()
    picker = alice.get_by_role("dialog", name="Emoji")
    await expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    await expect(picker.locator("section[data-group='Custom'] .emoji-btn")).to_have_count(1)
    await snap(alice, "emoji-picker-desktop")
    await alice.keyboard.type("sun with")
    await picker.get_by_role("gridcell", name="🌞 sun with face").click()
    await expect(composer).to_have_value("sunset 🌞")
    await alice.get_by_role("button", name="Emoji", exact=True).click()
    await expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    await alice.keyboard.type("party")
    await picker.get_by_role("gridcell", name=":partyparrot: (custom)").click()
    await expect(composer).to_have_value("sunset 🌞:partyparrot: ")
    # By keyboard alone: type to search, down into the results, Enter picks.
    # A second press while the picker loads (a double click, or a space typed before it has focus)
    # opens no second picker.
    await alice.evaluate(
        "() => { const b = document.querySelector('button.emoji-open'); b.click(); b.click(); }"
    )
    await expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    await expect(picker).to_have_count(1)
    await alice.keyboard.type("thumbs up")
    await alice.keyboard.press("ArrowDown")
    await expect(picker.get_by_role("gridcell", name="👍 thumbs up")).to_be_focused()
    await alice.keyboard.press("Enter")
    await expect(composer).to_have_value("sunset 🌞:partyparrot: 👍")
    await composer.press("Enter")
    # Sent and stored first (alice's own copy leaves "pending"), so a failure below says which side.
    await expect(message(alice, "sunset 🌞")).to_be_visible()
    got = message(bob, "sunset 🌞")
    await expect(got.locator("img.custom-emoji")).to_have_attribute("alt", ":partyparrot:")
    await until(
        bob, "[...document.querySelectorAll('img.custom-emoji')].some(i => i.complete && i.naturalWidth > 0)"
    )
    assert [
        u
        for u in await alice.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        if "emoji.js" in u
    ]
    # The recently used come first next time.
    await alice.get_by_role("button", name="Emoji", exact=True).click()
    recent = alice.locator("section[data-group='Recently used'] .emoji-btn")
    await expect(recent).to_have_count(3)
    await alice.keyboard.press("Escape")

    # Bob reacts with the custom emoji through the same picker.
    await got.hover()
    await got.get_by_role("button", name="Add reaction").click()
    await bob.get_by_role("dialog", name="Add reaction").get_by_role("searchbox").fill("parrot")
    await (
        bob.get_by_role("dialog", name="Add reaction")
        .get_by_role("gridcell", name=":partyparrot: (custom)")
        .click()
    )
    # (How a custom reaction is drawn is the community settings work's; here: it counts.)
    reaction = message(alice, "sunset 🌞").get_by_role("button", name="partyparrot")
    await expect(reaction).to_have_attribute("aria-label", re.compile(r"partyparrot.* 1 reaction$"))

    # 6. A spoiler: hidden, then revealed with the keyboard (a button, aria-expanded).
    await composer.fill("the ending: ||the butler did it|| no more")
    await composer.press("Enter")
    spoiler = message(bob, "no more").get_by_role("button", name="Spoiler, hidden: activate to show")
    await expect(spoiler).to_have_attribute("aria-expanded", "false")
    await expect(spoiler.locator(".spoiler-text")).to_be_hidden()
    await snap(bob, "spoiler-hidden-desktop")
    await spoiler.focus()
    await bob.keyboard.press("Enter")
    shown = message(bob, "no more").get_by_role("button", name="Spoiler, shown")
    await expect(shown).to_have_attribute("aria-expanded", "true")
    await expect(shown.locator(".spoiler-text")).to_be_visible()
    await expect(shown).to_have_text("the butler did it")

    # 7. A phone: Bob's previews fit, the lightbox fills the screen and closes with its button.
    await bob.set_viewport_size(PHONE)
    await pair.scroll_into_view_if_needed()
    width = await pair.locator(".att-image").first.evaluate("el => el.getBoundingClientRect().right")
    assert width <= PHONE["width"]
    await snap(bob, "attachments-phone")
    await pair.locator(".att-image").nth(1).click()
    box = bob.get_by_role("dialog", name="dropped.png (2 of 2)")
    await expect(box).to_be_visible()
    rect = await bob.locator(".lightbox-img").evaluate("el => el.getBoundingClientRect().toJSON()")
    assert rect["right"] <= PHONE["width"] + 1 and rect["width"] > 200
    await snap(bob, "lightbox-phone")
    await box.get_by_role("button", name="Next image").click()
    await expect(bob.get_by_role("dialog", name="pasted.png (1 of 2)")).to_be_visible()
    await bob.get_by_role("dialog", name="pasted.png (1 of 2)").get_by_role("button", name="Close").click()
    await expect(bob.locator("dialog.lightbox")).to_have_count(0)
    await alice.set_viewport_size(PHONE)
    await alice.get_by_role("button", name="Emoji", exact=True).click()
    await expect(alice.get_by_role("dialog", name="Emoji")).to_be_visible()
    await snap(alice, "emoji-picker-phone")
    picker_box = await alice.locator("dialog.emoji-picker").evaluate(
        "el => el.getBoundingClientRect().toJSON()"
    )
    assert picker_box["right"] <= PHONE["width"]
    await alice.keyboard.press("Escape")

    for page in (alice, bob):
        assert page.external_requests == []
        assert page.errors == []


async def test_spoilers_in_forum_posts_and_comments(aiohttp_server, tmp_path, browser):
    base, _node = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Books")
    await create_forum(alice, "reviews")
    await alice.get_by_role("link", name="New post").click()
    await alice.get_by_label("Title").fill("The Murder of Roger Ackroyd")
    await alice.get_by_label("Body (Markdown)").fill("A classic. **Twist**: ||the narrator did it||.")
    await alice.get_by_role("button", name="Post", exact=True).click()
    await expect(alice.get_by_role("heading", name="The Murder of Roger Ackroyd")).to_be_visible()
    body = alice.locator(".post-body")
    hidden = body.get_by_role("button", name="Spoiler, hidden: activate to show")
    await expect(hidden.locator(".spoiler-text")).to_be_hidden()
    await expect(body.locator("strong")).to_have_text("Twist")
    form = alice.locator("section.comments > form.reply-form")
    await form.locator("textarea").fill("no ||spoilers|| please")
    await form.get_by_role("button", name="Comment").click()
    comment = alice.locator("li.comment .comment-body", has_text="please")
    await expect(comment.get_by_role("button", name="Spoiler, hidden: activate to show")).to_have_count(1)
    await snap(alice, "spoiler-forum-desktop")
    await hidden.click()
    shown = body.get_by_role("button", name="Spoiler, shown")
    await expect(shown).to_have_attribute("aria-expanded", "true")
    await expect(shown.locator(".spoiler-text")).to_be_visible()
    await expect(shown).to_have_text("the narrator did it")
    await shown.press("Space")  # activated again, it hides again
    await expect(body.get_by_role("button", name="Spoiler, hidden: activate to show")).to_have_count(1)
    assert alice.errors == []
    assert alice.external_requests == []


async def test_after_picking_an_emoji_typing_goes_on_in_the_composer(aiohttp_server, tmp_path, browser):
    # The picker's dialog handed focus back to the Emoji button a moment after the pick had put it in
    # the composer: the next key went to the button, and Enter opened the picker again instead of
    # sending (the full suite's flake of the test above).
    base, _node = await serve_node(aiohttp_server, tmp_path)
    alice = await new_page(browser)
    await register(alice, base, "alice")
    await create_community(alice, "Smiles")
    composer = alice.locator("#composer-input")
    await composer.fill("hi ")
    await alice.get_by_role("button", name="Emoji", exact=True).click()
    picker = alice.get_by_role("dialog", name="Emoji")
    await picker.get_by_role("gridcell", name="😀 grinning face").click()
    await expect(picker).to_have_count(0)
    await expect(composer).to_be_focused()
    await alice.wait_for_timeout(300)  # long after the dialog's close event: the focus stays
    await expect(composer).to_be_focused()
    await alice.keyboard.type(" there")
    # By keyboard alone: open, search, pick, go on typing, send.
    await alice.keyboard.press("Tab")
    await expect(alice.get_by_role("button", name="Emoji", exact=True)).to_be_focused()
    await alice.keyboard.press("Enter")
    await expect(picker.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    await alice.keyboard.type("thumbs up")
    await alice.keyboard.press("Enter")
    await expect(picker).to_have_count(0)
    await alice.wait_for_timeout(300)
    await alice.keyboard.type("!")
    await alice.keyboard.press("Enter")
    await expect(message(alice, "hi 😀 there👍!")).to_be_visible()
    await expect(picker).to_have_count(0)
    assert alice.errors == []
