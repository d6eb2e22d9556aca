"""First run: while the node has no admin, a one-time link lets whoever started it create one.

The token is printed to the console only (never to the JSON log) and written to
``data/setup-link.txt`` (mode 600) for services without a terminal. It is held in memory: a restart
makes a new one, and using it ends it, as does any admin appearing (the CLI that makes one removes
the file; the serving node checks for an admin before honouring the token).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import sys
from pathlib import Path

from cryb_node.node import Node

LINK_FILE = "setup-link.txt"


class FirstRun:
    def __init__(self, node: Node) -> None:
        self.node = node
        self._digest: bytes | None = None
        # Serialises setup attempts so the link can never make two admins.
        self.lock = asyncio.Lock()

    @property
    def link_file(self) -> Path:
        return self.node.data_dir / LINK_FILE

    async def open(self) -> None:
        if not self.node.serving:
            return  # a CLI command (e.g. `cryb user create --admin`): only a serving node offers the link
        has_admin = await self.node.db.fetchval("SELECT 1 FROM users_accounts WHERE admin = 1 LIMIT 1")
        if has_admin:
            self.link_file.unlink(missing_ok=True)
            return
        token = secrets.token_urlsafe(24)
        self._digest = hashlib.sha256(token.encode()).digest()
        link = f"{self.node.config.base_url}/setup#token={token}"
        self.link_file.write_text(link + "\n")
        self.link_file.chmod(0o600)
        print(
            f"No admin yet. Create the node's admin account (link works once):\n  {link}\n"
            f"(also in {self.link_file}; or run `cryb user create NAME --email E --admin`)",
            file=sys.stderr,
            flush=True,
        )

    def pending(self) -> bool:
        return self._digest is not None

    async def valid(self, token: str) -> bool:
        """Constant-time check of the token; it stays usable until ``done`` or until any admin exists.

        The database is asked each time: `cryb user create --admin` (or `promote`) runs in another
        process, and the link must die the moment that admin exists, not at the next restart."""
        if self._digest is None:
            return False
        if await self.node.db.fetchval("SELECT 1 FROM users_accounts WHERE admin = 1 LIMIT 1"):
            self.done()
            return False
        digest = hashlib.sha256(token.encode()).digest()
        return hmac.compare_digest(digest, self._digest)

    def done(self) -> None:
        self._digest = None
        self.link_file.unlink(missing_ok=True)
