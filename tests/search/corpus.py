"""The fixed corpus the syntax table runs against: three people, two public communities (the member
has joined only one), a private channel, a pinned message, a mention, an image, a video, a sound, a
link and a link post. Every document has a short name the tables use."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.media.conftest import mp3_like, png_with_alpha, upload_ok
from tests.search.conftest import User, World, found, indexed, make_world, ok, say


@dataclass
class Corpus:
    world: World
    ids: dict[str, str]  # short name -> document id
    names: dict[str, str]  # O, M, I -> username (owner, member, insider)
    book: str  # the Book Club community id

    @property
    def client(self) -> Any:
        return self.world.client

    def user(self, who: str) -> User:
        sp = self.world.space
        return {"O": sp.owner, "M": sp.member, "I": self.world.insider}[who]

    def query(self, template: str) -> str:
        """A table's query with {O}, {M}, {I}, {today}, {yesterday}, {month} filled in."""
        today = dt.datetime.now(dt.UTC).date()
        return template.format(
            **self.names, today=today, yesterday=today - dt.timedelta(days=1), month=today.strftime("%Y-%m")
        )

    async def names_found(self, template: str, who: str = "M", **params: Any) -> set[str]:
        body = await found(self.client, self.user(who), self.query(template), limit=50, **params)
        back = {v: k for k, v in self.ids.items()}
        return {back.get(r["id"], r["kind"] + ":" + r["id"]) for r in body["results"]}


def _mp4(tmp: Path) -> bytes:
    if shutil.which("ffmpeg") is None:  # an MP4 header is enough when video is not decoded
        return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(2000)
    import subprocess

    out = tmp / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "1",
         "-pix_fmt", "yuv420p", "-c:v", "mpeg4", "-y", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


async def _with_file(c: Any, user: User, channel: str, text: str, data: bytes, filename: str) -> str:
    media = await upload_ok(c, user.token, data, filename=filename)
    msg = await ok(
        c, "POST", f"/channels/{channel}/messages", user, json={"content": text, "attachments": [media["id"]]}
    )
    return msg["id"]


async def make_corpus(client: Any, tmp: Path) -> Corpus:
    world = await make_world(client)
    c, sp, insider = client, world.space, world.insider
    names = {}
    for key, user in (("O", sp.owner), ("M", sp.member), ("I", insider)):
        names[key] = (await ok(c, "GET", "/users/@me", user))["username"]
    book = await ok(c, "POST", "/communities", sp.owner, json={"name": "Book Club", "public": True})
    chans = await ok(c, "GET", f"/communities/{book['id']}/channels", sp.owner)
    book_text = next(ch["id"] for ch in chans["channels"] if ch["kind"] == "text")
    ids = {
        "g1": await say(c, sp.owner, sp.text, "the quarterly garden report is ready"),
        "g2": await say(c, sp.member, sp.text, "garden party at https://example.test/party"),
        "g3": await say(c, insider, sp.text, f"garden hose for <@{sp.member.id}>"),
        "g4": await _with_file(c, sp.member, sp.text, "garden photo", png_with_alpha(24, 24), "photo.png"),
        "g5": await _with_file(c, sp.owner, sp.text, "garden clip", _mp4(tmp), "clip.mp4"),
        "g6": await say(c, sp.member, sp.text, "reporting the broken gate"),
        "g7": await _with_file(c, sp.member, sp.text, "voice memo", mp3_like(4000), "memo.mp3"),
        "b1": await say(c, sp.owner, book_text, "next garden novel discussion"),
        "s1": await say(c, insider, world.secret, "garden secret plans"),
    }
    post = await ok(
        c,
        "POST",
        f"/channels/{sp.forum}/posts",
        sp.member,
        json={"title": "Garden tools", "body": "rakes and hoes", "url": "https://example.test/tools"},
    )
    ids["p1"] = post["id"]
    await ok(c, "PUT", f"/channels/{sp.text}/pins/{ids['g1']}", sp.owner)
    await indexed(c)
    return Corpus(world, ids, names, book["id"])
