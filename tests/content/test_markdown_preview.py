"""POST /api/v1/markdown/preview: the composer's preview is the server's own rendering, so what a
member previews is exactly what the saved post shows (scripts neutralised, links sanitized)."""

from __future__ import annotations

from cryb_node.app import build_app
from tests.content.conftest import call, content_config, new_user, ok
from tests.content.test_markdown import ALLOWED, EVIL, Elements

TEXT = (
    "# Hi\n\n<script>alert(1)</script> and a [link](https://example.test/x?a=1&b=2) **bold**\n\n- one\n- two"
)


async def test_preview_equals_the_rendering_of_the_saved_post_and_comment(space):
    preview = await ok(space.client, "POST", "/markdown/preview", space.member, json={"text": TEXT})
    post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.member,
                    json={"title": "t", "body": TEXT})  # fmt: skip
    saved = await ok(space.client, "GET", f"/posts/{post['id']}", space.member)
    assert preview["html"] == saved["body_html"]
    assert "<script" not in preview["html"] and "&lt;script&gt;" in preview["html"]
    assert 'href="https://example.test/x?a=1&amp;b=2"' in preview["html"]
    comment = await ok(
        space.client, "POST", f"/posts/{post['id']}/comments", space.member, json={"body": TEXT}
    )
    assert comment["body_html"] == preview["html"]


async def test_preview_neutralises_every_known_attack(space):
    for text, what in EVIL:
        html = (await ok(space.client, "POST", "/markdown/preview", space.member, json={"text": text}))[
            "html"
        ]
        parser = Elements()
        parser.feed(html)
        for tag, attrs in parser.found:
            assert tag in ALLOWED, (what, tag)
            assert not any(name.startswith("on") for name, _ in attrs), (what, attrs)
            hrefs = [v or "" for n, v in attrs if n == "href"]
            assert all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs), (what, hrefs)


async def test_preview_needs_a_session_a_text_field_and_a_bounded_size(cc):
    user = await new_user(cc)
    assert (await call(cc, "POST", "/markdown/preview", json={"text": "x"}))[0] == 401
    status, body = await call(cc, "POST", "/markdown/preview", user, json={"txt": "x"})
    assert (status, body["field"]) == (400, "txt")
    status, body = await call(cc, "POST", "/markdown/preview", user, json={"text": "x" * 40_001})
    assert (status, body["field"]) == (400, "text")
    assert (await call(cc, "POST", "/markdown/preview", user, json={"text": ""}))[1] == {"html": ""}


async def test_preview_has_its_own_rate_limit_bucket(aiohttp_client, tmp_path):
    cfg = content_config(tmp_path / "d")
    cfg.rate_limits.enabled = True
    cfg.rate_limits.buckets["preview"] = type(cfg.rate_limits.default)(limit=2, window_s=60)
    client = await aiohttp_client(build_app(cfg))
    user = await new_user(client)
    codes = [(await call(client, "POST", "/markdown/preview", user, json={"text": "x"}))[0] for _ in range(3)]
    assert codes == [200, 200, 429]
