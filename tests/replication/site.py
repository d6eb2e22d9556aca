"""Blocking HTTP helpers for the drills against `cryb serve` processes: a user, a community, an
uploaded image attached to a message, search, and fetching a media variant's bytes."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from tests.support.waiting import eventually_blocking

PASSWORD = "correct horse battery staple"


def request(url: str, method: str = "GET", body: Any = None, token: str = "", **kw: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if "raw" in kw:
        data, headers["Content-Type"] = kw["raw"]
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw and "json" in resp.headers.get(
                "Content-Type", ""
            ) else raw
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def ok(url: str, method: str = "GET", body: Any = None, token: str = "", **kw: Any) -> Any:
    status, out = request(url, method, body, token, **kw)
    assert status < 300, (method, url, status, out)
    return out


def multipart(field: str, filename: str, data: bytes, mime: str) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {mime}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Site:
    url: str
    username: str
    token: str
    channel: str = ""

    @classmethod
    def register(cls, url: str) -> Site:
        name = f"u_{secrets.token_hex(4)}"
        body = {"username": name, "email": f"{name}@example.test", "password": PASSWORD}
        out = ok(f"{url}/api/v1/auth/register", "POST", body)
        site = cls(url, name, out["access_token"])
        com = site.api("POST", "/communities", {"name": "drill", "public": True})
        chans = site.api("GET", f"/communities/{com['id']}/channels")
        site.channel = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
        return site

    def login(self, url: str) -> None:
        """Sign in again (on a restored node: its signing keys are new, old tokens may be void)."""
        self.url = url
        self.token = ok(f"{url}/api/v1/auth/login", "POST", {"login": self.username, "password": PASSWORD})[
            "access_token"
        ]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return ok(f"{self.url}/api/v1{path}", method, body, self.token)

    def upload(self, data: bytes, filename: str = "photo.png", mime: str = "image/png") -> dict[str, Any]:
        out = ok(
            f"{self.url}/api/v1/media", "POST", token=self.token, raw=multipart("file", filename, data, mime)
        )
        assert isinstance(out, dict) and out["kind"] == "image", out
        for _ in range(3000):  # AVIF is made after the answer: wait until every variant exists
            if not out.get("pending"):
                return out
            time.sleep(0.02)
            out = self.api("GET", f"/media/{out['id']}")
        raise AssertionError(f"variants still pending: {out['pending']}")

    def message(self, content: str, attachments: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        return self.api(
            "POST", f"/channels/{self.channel}/messages", {"content": content, "attachments": attachments}
        )

    def variants(self, media_id: str) -> dict[str, bytes]:
        """Every variant of a media item, fetched through the URLs the node hands out."""
        media = self.api("GET", f"/media/{media_id}")
        out = {}
        for v in media["variants"]:
            parts = urlsplit(v["url"])
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            status, body = request(self.url + path, token=self.token)
            assert status == 200, (v["name"], status)
            out[v["name"]] = body
        return out

    def search(self, word: str) -> list[Any]:
        status, out = request(f"{self.url}/api/v1/search?q={quote(word)}", token=self.token)
        return out.get("results", []) if status == 200 and isinstance(out, dict) else []

    def wait_found(self, word: str, timeout: float = 30) -> list[Any]:
        return eventually_blocking(
            lambda: self.search(word), timeout, interval=0.2, what=f"a hit for {word!r}"
        )
