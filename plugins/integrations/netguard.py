"""Where the node may connect when a member or admin names a URL (outgoing webhooks, link previews):
public addresses only, unless the admin's allow-list names a network. The check runs on the address
actually connected to (a resolver that drops refused answers, so a name cannot resolve to a public
address when checked and a private one when used), on literal IPs before connecting, and again on
every redirect hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_S = 5.0  # a name that does not resolve in this long is refused when a URL is registered


class AddressRefused(aiohttp.ClientConnectionError):
    """The URL points at (or resolves only to) an address the node does not connect to."""


class Guard:
    """The address policy: ``allow`` are networks (CIDR) admitted although not public."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = [ipaddress.ip_network(n, strict=False) for n in allow]

    def permits(self, ip: IP) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allow):
            return True
        return ip.is_global and not ip.is_multicast

    def check_url(self, url: str) -> tuple[str, int]:
        """The URL's host and port, after its syntax and (for a literal IP) its address are checked.
        Raises AddressRefused or ValueError (not an http(s) URL)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http or https URL")
        if parts.username or parts.password:
            raise ValueError("a URL with credentials in it")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            literal = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return parts.hostname, port
        if not self.permits(literal):
            raise AddressRefused(f"{literal} is not a public address")
        return parts.hostname, port

    async def check_resolves(self, url: str) -> None:
        """check_url, then that the name resolves to at least one permitted address (for a friendly
        400 when a URL is registered; connecting checks again)."""
        host, port = self.check_url(url)
        resolver = GuardedResolver(self)
        try:
            async with asyncio.timeout(RESOLVE_S):
                await resolver.resolve(host, port, socket.AF_UNSPEC)
        except (OSError, TimeoutError) as err:
            if isinstance(err, AddressRefused):
                raise
            raise AddressRefused(f"{host} does not resolve") from None
        finally:
            await resolver.close()

    def session(self, *, connect_s: float, total_s: float, **kw: Any) -> aiohttp.ClientSession:
        """A client session that can only connect to permitted addresses (never through a proxy
        from the environment)."""
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self), use_dns_cache=False)
        timeout = aiohttp.ClientTimeout(total=total_s, sock_connect=connect_s, connect=connect_s)
        return aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False, **kw)


class GuardedResolver(AbstractResolver):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        kept = [r for r in found if self.guard.permits(ipaddress.ip_address(r["host"]))]
        if not kept:
            raise AddressRefused(f"{host} resolves only to addresses the node does not connect to")
        return kept

    async def close(self) -> None:
        await self.inner.close()
