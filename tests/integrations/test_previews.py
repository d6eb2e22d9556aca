"""Link previews (issue 26, acceptance 4), from web sites served on loopback (the admin allow-list
names 127.0.0.1 only): title, description and image, the image re-encoded by the media plugin; a
redirect to an address outside the allow-list is not followed; a 50 MB page is cut off at the byte
cap; oEmbed fills what a page lacks; a community can turn previews off and an author can suppress
them on one message."""

from __future__ import annotations

import asyncio

import pyvips
from aiohttp import web
from yarl import URL

from cryb_node.appkeys import NODE
from tests.integrations.conftest import call, ok, serve
from tests.support.waiting import eventually

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>fallback title</title>
<meta property="og:title" content="The Loopback Gazette">
<meta property="og:description" content="All the news that fits in 127.0.0.1.">
<meta property="og:site_name" content="Gazette">
<meta property="og:image" content="/cover.png">
</head><body><p>hello</p></body></html>"""
HUGE = 50 * 1024 * 1024


class Site:
    """A small web site on one loopback address, counting what it serves."""

    def __init__(self, redirect_to: str = "") -> None:
        self.hits: dict[str, int] = {}
        self.huge_sent = 0
        self.huge_done = asyncio.Event()
        self.png = (
            pyvips.Image.black(120, 80)
            .draw_rect([200, 30, 30], 10, 10, 60, 40, fill=True)
            .write_to_buffer(".png")
        )
        self.redirect_to = redirect_to
        self.app = web.Application()
        for path in ("/page", "/cover.png", "/huge", "/redirect", "/video", "/oembed", "/secret"):
            self.app.router.add_get(path, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/page":
            return web.Response(text=PAGE, content_type="text/html")
        if path == "/cover.png":
            return web.Response(body=self.png, content_type="image/png")
        if path == "/redirect":
            raise web.HTTPFound(self.redirect_to)
        if path == "/video":
            link = (
                f'<link rel="alternate" type="application/json+oembed" href="{request.url.origin()}/oembed">'
            )
            return web.Response(text=f"<html><head>{link}</head></html>", content_type="text/html")
        if path == "/oembed":
            return web.json_response({"type": "video", "title": "A Talk", "provider_name": "TubeLoop",
                                      "author_name": "Ada", "thumbnail_url": "/cover.png"})  # fmt: skip
        if path == "/huge":
            resp = web.StreamResponse(headers={"Content-Type": "text/html"})
            resp.content_length = HUGE
            await resp.prepare(request)
            head = b'<html><head><meta property="og:title" content="Big Page"></head><body>'
            try:
                await resp.write(head)
                self.huge_sent = len(head)
                chunk = b"x" * 65536
                while self.huge_sent < HUGE:
                    await resp.write(chunk)
                    self.huge_sent += len(chunk)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                self.huge_done.set()
            return resp
        return web.Response(text="<title>secret</title>", content_type="text/html")


async def send(space, text, user=None):
    return await ok(space.client, "POST", f"/channels/{space.text}/messages", user or space.member,
                    json={"content": text})  # fmt: skip


async def embeds(space, ids, user=None, channel=None):
    got = await ok(space.client, "GET", f"/channels/{channel or space.text}/embeds", user or space.member,
                   params={"ids": ",".join(ids), "wait": "true"})  # fmt: skip
    return got["embeds"]


async def test_a_preview_from_a_loopback_site_with_its_image_re_encoded(space):
    site = Site()
    runner, base = await serve(site.app)
    try:
        msg = await send(space, f"look at this: {base}/page.")
        (embed,) = (await embeds(space, [msg["id"]]))[msg["id"]]
        assert embed["url"] == f"{base}/page"
        assert embed["title"] == "The Loopback Gazette"
        assert embed["description"] == "All the news that fits in 127.0.0.1."
        assert embed["site_name"] == "Gazette"
        image = embed["image"]
        assert (image["width"], image["height"]) == (120, 80)
        resp = await space.client.get(URL(image["url"]).path)  # the node's own media URL
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/webp"
        assert (await resp.read()) != site.png  # re-encoded by the media plugin, not the site's bytes
        # cached: a second message with the same link fetches nothing again
        again = await send(space, f"{base}/page")
        assert (await embeds(space, [again["id"]]))[again["id"]][0]["title"] == "The Loopback Gazette"
        assert site.hits == {"/page": 1, "/cover.png": 1}
    finally:
        await runner.cleanup()


async def test_a_redirect_to_a_refused_address_is_not_followed(space):
    # 127.0.0.2 is loopback too, but outside the allow-list (127.0.0.1/32): the hop is refused
    # before any connection, so the server there is never reached.
    inner = Site()
    inner_runner = web.AppRunner(inner.app, access_log=None)
    await inner_runner.setup()
    inner_site = web.TCPSite(inner_runner, "127.0.0.2", 0)
    await inner_site.start()
    port = inner_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    site = Site(redirect_to=f"http://127.0.0.2:{port}/secret")
    runner, base = await serve(site.app)
    try:
        msg = await send(space, f"{base}/redirect and <{base}/page>")
        assert await embeds(space, [msg["id"]]) == {}  # the angle-bracketed link is not previewed
        assert site.hits == {"/redirect": 1}
        assert inner.hits == {}
        previews = space.client.server.app[NODE]
        row = await previews.db.fetchone(
            "SELECT ok, error FROM integ_previews WHERE url = ?", (f"{base}/redirect",)
        )
        assert row[0] == 0 and "127.0.0.2" in row[1]
    finally:
        await runner.cleanup()
        await inner_runner.cleanup()


async def test_a_50_mb_page_is_cut_off_at_the_byte_cap(space):
    site = Site()
    runner, base = await serve(site.app)
    try:
        msg = await send(space, f"{base}/huge")
        (embed,) = (await embeds(space, [msg["id"]]))[msg["id"]]
        assert embed["title"] == "Big Page"
        await asyncio.wait_for(site.huge_done.wait(), 10)
        # The node read 1 MiB (preview_max_bytes) and hung up; what the site managed to write
        # before noticing is the cap plus the sockets' buffers, nowhere near 50 MB.
        assert site.huge_sent < 16 * 1024 * 1024, site.huge_sent
        from cryb_plugins.integrations import parts

        stats = parts(space.client.server.app[NODE]).previews.stats
        assert stats["truncated"] == 1 and stats["bytes_read"] <= 1_048_576
    finally:
        await runner.cleanup()


async def test_oembed_fills_what_the_page_lacks(space):
    site = Site()
    runner, base = await serve(site.app)
    try:
        msg = await send(space, f"{base}/video")
        (embed,) = (await embeds(space, [msg["id"]]))[msg["id"]]
        assert (embed["title"], embed["site_name"], embed["description"]) == ("A Talk", "TubeLoop", "by Ada")
        assert embed["image"]["width"] == 120
    finally:
        await runner.cleanup()


async def test_a_link_post_gets_a_preview(space):
    site = Site()
    runner, base = await serve(site.app)
    try:
        post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.member,
                        json={"title": "news", "url": f"{base}/page"})  # fmt: skip
        got = await embeds(space, [post["id"]], channel=space.forum)
        assert got[post["id"]][0]["title"] == "The Loopback Gazette"
    finally:
        await runner.cleanup()


async def test_the_author_suppresses_and_the_community_turns_previews_off(space):
    site = Site()
    runner, base = await serve(site.app)
    c = space.client
    try:
        a = await send(space, f"{base}/page")
        b = await send(space, f"{base}/page", user=space.owner)
        assert set(await embeds(space, [a["id"], b["id"]])) == {a["id"], b["id"]}
        path = f"/channels/{space.text}/embeds/{b['id']}/suppressed"
        assert (await call(c, "PUT", path, space.member))[0] == 403  # not the author, no MANAGE_MESSAGES
        await ok(c, "PUT", f"/channels/{space.text}/embeds/{a['id']}/suppressed", space.member)
        assert set(await embeds(space, [a["id"], b["id"]])) == {b["id"]}
        await ok(c, "DELETE", f"/channels/{space.text}/embeds/{a['id']}/suppressed", space.member)

        settings = f"/communities/{space.community}/integrations"
        assert (await call(c, "PUT", settings, space.member, json={"link_previews": False}))[0] == 403
        await ok(c, "PUT", settings, space.owner, json={"link_previews": False})
        assert (await ok(c, "GET", settings, space.member)) == {"link_previews": False}
        assert await embeds(space, [a["id"], b["id"]]) == {}
    finally:
        await runner.cleanup()


async def test_embeds_are_only_for_those_who_can_read_the_channel(space):
    c = space.client
    hidden = await ok(
        c, "POST", f"/communities/{space.community}/channels", space.owner, json={"name": "staff"}
    )
    await ok(c, "PUT", f"/channels/{hidden['id']}/overwrites/role/{space.community}", space.owner,
             json={"deny": 1})  # fmt: skip
    status, _ = await call(c, "GET", f"/channels/{hidden['id']}/embeds", space.member, params={"ids": "x"})
    assert status == 404


async def test_a_stale_preview_is_fetched_again_and_its_old_image_let_go(space):
    from cryb_plugins.integrations import parts

    site = Site()
    runner, base = await serve(site.app)
    node = space.client.server.app[NODE]
    try:
        first = await send(space, f"{base}/page")
        old = (await embeds(space, [first["id"]]))[first["id"]][0]["image"]["media_id"]
        site.png = pyvips.Image.black(90, 60).write_to_buffer(".png")  # the site changed its picture
        await node.db.write(lambda conn: conn.execute("UPDATE integ_previews SET fetched_at = 0"))
        await parts(node).previews.ensure(f"{base}/page")
        new = (await embeds(space, [first["id"]]))[first["id"]][0]["image"]
        assert new["media_id"] != old and (new["width"], new["height"]) == (90, 60)
        assert await node.db.fetchval("SELECT attached_ms FROM media WHERE id = ?", (old,)) is None
    finally:
        await runner.cleanup()


async def test_an_edit_changes_the_links_previewed(space):
    site = Site()
    runner, base = await serve(site.app)
    try:
        msg = await send(space, "no link yet")
        assert await embeds(space, [msg["id"]]) == {}
        path = f"/channels/{space.text}/messages/{msg['id']}"
        await ok(space.client, "PATCH", path, space.member, json={"content": f"now {base}/page"})
        assert (await embeds(space, [msg["id"]]))[msg["id"]][0]["title"] == "The Loopback Gazette"
        await ok(space.client, "PATCH", path, space.member, json={"content": f"rather {base}/video"})
        assert [e["title"] for e in (await embeds(space, [msg["id"]]))[msg["id"]]] == ["A Talk"]
        await ok(space.client, "PATCH", path, space.member, json={"content": "links removed"})
        assert await embeds(space, [msg["id"]]) == {}
    finally:
        await runner.cleanup()


async def test_a_page_in_its_own_charset_is_read_in_it(space):
    page = '<html><head><meta charset="windows-1252"><title>Café crème</title></head></html>'
    app = web.Application()

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=page.encode("cp1252"), headers={"Content-Type": "text/html"})

    app.router.add_get("/cafe", handle)
    runner, base = await serve(app)
    try:
        msg = await send(space, f"{base}/cafe")
        assert (await embeds(space, [msg["id"]]))[msg["id"]][0]["title"] == "Café crème"
    finally:
        await runner.cleanup()


async def test_two_pages_with_the_same_image_both_show_it(space):
    """The second page's image is bytes the node already holds: it is stored as a copy of the first
    (the media plugin's dedupe), not processed again; before, that copy failed (a second insert)."""
    site = Site()
    runner, base = await serve(site.app)
    try:
        first = await send(space, f"{base}/page")
        (a,) = (await embeds(space, [first["id"]]))[first["id"]]
        media_id = URL(a["image"]["url"]).path.split("/")[2]

        async def finished():  # the variants made after the answer (AVIF) exist: nothing to wait for
            return not (await ok(space.client, "GET", f"/media/{media_id}", space.member))["pending"]

        await eventually(finished, what="the first image's later variants")
        second = await send(space, f"{base}/video")
        (b,) = (await embeds(space, [second["id"]]))[second["id"]]
        assert a["image"] is not None and b["image"] is not None
        assert a["image"]["url"] != b["image"]["url"]  # two media records ...
        for image in (a["image"], b["image"]):  # ... each served
            resp = await space.client.get(URL(image["url"]).path)
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/webp"
        assert site.hits["/cover.png"] == 2
    finally:
        await runner.cleanup()
