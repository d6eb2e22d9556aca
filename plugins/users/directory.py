"""The core's Directory service: a local user's name and verified address, for mail other plugins
send (notifications). The address is decrypted only here and handed out only once verified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.services import Contact

from . import queries

if TYPE_CHECKING:
    from .service import Users


class UserDirectory:
    def __init__(self, users: Users) -> None:
        self.users = users

    async def contact(self, user_id: str) -> Contact | None:
        row = await queries.contact(self.users.node.db, user_id)
        if row is None:
            return None
        email_ct = row["email_ct"]
        email = self.users.keys.open(email_ct) if row["email_verified"] and email_ct else None
        return Contact(
            user_id=user_id, email=email, display_name=row["display_name"], username=row["username"]
        )
