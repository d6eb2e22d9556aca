"""The node's side of ``sfu`` mode: it drives Debian's Janus (VideoRoom plugin) over Janus's HTTP API.
One VideoRoom per voice channel, private, with a secret only the node knows; a member who may join
gets a one-off token the room admits (VideoRoom's ``allowed`` list), and a member who leaves or is
dropped has their token withdrawn and is kicked, so they stop sending and receiving at once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class JanusError(Exception):
    pass


def room_of(channel_id: str) -> int:
    """A stable VideoRoom number for a channel (Janus rooms are numbered)."""
    return int.from_bytes(hashlib.sha256(channel_id.encode()).digest()[:6], "big")


class Janus:
    def __init__(self, url: str, admin_key: str) -> None:
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.secret = secrets.token_urlsafe(24)  # the rooms' secret: only this node edits them
        self.http: aiohttp.ClientSession | None = None
        self.session: int | None = None
        self.handle: int | None = None
        self.rooms: set[int] = set()
        self.lock = asyncio.Lock()
        self._keepalive: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self.http is not None:
            await self.http.close()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.http is not None
        body = {**body, "transaction": secrets.token_hex(8)}
        async with self.http.post(self.url + path, json=body) as resp:
            out: dict[str, Any] = await resp.json(content_type=None)
        if out.get("janus") == "error":
            raise JanusError(str(out.get("error")))
        return out

    async def _ready(self) -> None:
        if self.handle is not None:
            return
        self.session = (await self._post("", {"janus": "create"}))["data"]["id"]
        attached = await self._post(
            f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        self.handle = attached["data"]["id"]
        self._keepalive = asyncio.create_task(self._beat(), name="janus-keepalive")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(20)
            try:
                await self._post(f"/{self.session}", {"janus": "keepalive"})
            except (aiohttp.ClientError, JanusError, TimeoutError):
                log.warning("janus keepalive failed; the next request opens a new session")
                self.handle = None
                return

    async def _room(self, body: dict[str, Any]) -> dict[str, Any]:
        out = await self._post(f"/{self.session}/{self.handle}", {"janus": "message", "body": body})
        data: dict[str, Any] = out.get("plugindata", {}).get("data", {})
        if data.get("videoroom") == "event" and data.get("error_code"):
            raise JanusError(f"{data.get('error_code')}: {data.get('error')}")
        return data

    async def admit(self, channel_id: str, max_publishers: int) -> tuple[int, str]:
        """The channel's room (made if needed) and a fresh token it admits."""
        token = secrets.token_urlsafe(18)
        room = room_of(channel_id)
        async with self.lock:
            await self._ready()
            if room not in self.rooms:
                exists = await self._room({"request": "exists", "room": room})
                if not exists.get("exists"):
                    await self._room({
                        "request": "create", "room": room, "admin_key": self.admin_key, "secret": self.secret,
                        "is_private": True, "publishers": max_publishers, "audiocodec": "opus",
                        "allowed": [], "notify_joining": False,
                    })  # fmt: skip
                self.rooms.add(room)
            await self._room({"request": "allowed", "room": room, "secret": self.secret, "action": "enable"})
            await self._room(
                {
                    "request": "allowed",
                    "room": room,
                    "secret": self.secret,
                    "action": "add",
                    "allowed": [token],
                }
            )
        return room, token

    async def evict(self, channel_id: str, user_id: str, token: str | None) -> None:
        """Withdraw the member's token and kick every participant they have in the room."""
        room = room_of(channel_id)
        async with self.lock:
            await self._ready()
            if token:
                await self._room(
                    {
                        "request": "allowed",
                        "room": room,
                        "secret": self.secret,
                        "action": "remove",
                        "allowed": [token],
                    }
                )
            listed = await self._room({"request": "listparticipants", "room": room})
            for p in listed.get("participants", []):
                if p.get("display") == user_id:
                    try:
                        await self._room(
                            {"request": "kick", "room": room, "secret": self.secret, "id": p["id"]}
                        )
                    except JanusError as err:  # gone already (their session was just destroyed)
                        log.debug("janus kick: %s", err)


# What a browser may ask Janus through the node (routes.py): its own session's plumbing and the
# VideoRoom requests of a participant; never a room's creation, edits or kicks (those take the secret
# anyway).
CLIENT_VERBS = {"create", "attach", "message", "trickle", "detach", "destroy", "keepalive"}
CLIENT_REQUESTS = {"joinandconfigure", "join", "start", "configure", "leave", "publish", "unpublish"}


class JanusProxy:
    """Forwards a member's calls to Janus's HTTP API under the node's own origin (the page's CSP
    allows no other), and only to Janus sessions that member created."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.owners: dict[int, str] = {}
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # A long poll waits up to 30 s for events.
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=40))

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()

    def _owned(self, user_id: str, path: list[str]) -> bool:
        if not path:
            return True
        try:
            return self.owners.get(int(path[0])) == user_id
        except ValueError:
            return False

    async def forward(self, user_id: str, path: list[str], body: dict[str, Any] | None) -> tuple[int, bytes]:
        assert self.http is not None
        if len(path) > 2 or not self._owned(user_id, path):
            return 404, b'{"janus":"error","error":{"code":458,"reason":"no such session"}}'
        url = "/".join([self.url, *path])
        if body is None:  # the long poll for a session's events
            async with self.http.get(url, params={"maxev": "10"}) as resp:
                return resp.status, await resp.read()
        verb = body.get("janus")
        plugin = body.get("plugin")
        request = (body.get("body") or {}).get("request") if isinstance(body.get("body"), dict) else None
        if (
            verb not in CLIENT_VERBS
            or (verb == "create" and path)
            or (verb == "attach" and plugin != "janus.plugin.videoroom")
            or (verb == "message" and request not in CLIENT_REQUESTS)
        ):
            return 403, b'{"janus":"error","error":{"code":403,"reason":"not allowed"}}'
        async with self.http.post(url, json=body) as resp:
            status, data = resp.status, await resp.read()
        if verb == "create" and status == 200:
            import json

            created = json.loads(data)
            if created.get("janus") == "success":
                self.owners[int(created["data"]["id"])] = user_id
        if verb == "destroy" and path:
            self.owners.pop(int(path[0]), None)
        return status, data

    async def end(self, user_id: str) -> None:
        """Destroy every Janus session the member opened: their publisher and all their
        subscriptions end at once, whatever their page does."""
        assert self.http is not None
        for session in [s for s, owner in self.owners.items() if owner == user_id]:
            self.owners.pop(session, None)
            body = {"janus": "destroy", "transaction": secrets.token_hex(8)}
            async with self.http.post(f"{self.url}/{session}", json=body) as resp:
                await resp.read()
