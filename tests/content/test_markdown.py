"""Markdown bodies are rendered on the server and sanitized: scripts, event handlers, javascript:
URLs and raw HTML are neutralised."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from cryb_plugins.content.render import markdown_html

from tests.content.conftest import ok

EVIL = [
    ("<script>alert(1)</script>", "<script"),
    ('<img src=x onerror="alert(1)">', "<img"),
    ("[click](javascript:alert(1))", "javascript:"),
    ("[click](JaVaScRiPt:alert(1))", "javascript:"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
    ('<a href="https://x" onclick="steal()">x</a>', "onclick"),
    ("<iframe src=https://evil></iframe>", "<iframe"),
    ("<style>body{display:none}</style>", "<style"),
    ('<div style="background:url(javascript:alert(1))">x</div>', "<div"),
    ("![t](https://evil.example/pixel.png)", "<img"),
    ("<svg onload=alert(1)>", "<svg"),
]


ALLOWED = {"p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
           "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}  # fmt: skip


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


@pytest.mark.parametrize(("source", "what"), EVIL, ids=[e[0][:30] for e in EVIL])
def test_dangerous_markup_is_neutralised(source, what):
    parser = Elements()
    parser.feed(markdown_html(source))
    for tag, attrs in parser.found:
        assert tag in ALLOWED, (what, tag)
        for name, value in attrs:
            assert not name.startswith("on"), (what, name)
            if name == "href":
                assert (value or "").startswith(("http://", "https://", "mailto:")), (what, value)


def test_markdown_still_renders():
    html = markdown_html("**bold** _em_ `code`\n\n- a\n- b\n\n[link](https://example.org)")
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html and "<code>code</code>" in html
    assert "<li>a</li>" in html
    assert 'href="https://example.org"' in html and 'rel="nofollow noopener noreferrer ugc"' in html


def test_raw_html_is_shown_as_text():
    assert "&lt;b&gt;hi&lt;/b&gt;" in markdown_html("<b>hi</b>")


async def test_post_body_html_is_sanitized_end_to_end(space):
    body = "hello <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.member,
                    json={"title": "t", "body": body})  # fmt: skip
    html = post["body_html"]
    assert "<script" not in html and "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    assert 'href="javascript' not in html
    assert post["body"] == body  # the source is kept as written
    comment = await ok(
        space.client, "POST", f"/posts/{post['id']}/comments", space.member, json={"body": body}
    )
    assert "<script" not in comment["body_html"] and 'href="javascript' not in comment["body_html"]
