"""The integrations plugin's SQL: incoming webhooks, event subscriptions and their deliveries, slash
commands, bot endpoints and interactions, and link previews. Rows are read by column name."""

from __future__ import annotations

from typing import Any

from cryb_node.db import Connection

# -- incoming webhooks ------------------------------------------------------------------------------

WEBHOOK_COLUMNS = "id, community_id, channel_id, name, avatar, owner_id, created_at, last_used_at"
WEBHOOK = f"SELECT {WEBHOOK_COLUMNS} FROM integ_webhooks WHERE id = ?"
CHANNEL_WEBHOOKS = f"SELECT {WEBHOOK_COLUMNS} FROM integ_webhooks WHERE channel_id = ? ORDER BY id"
COMMUNITY_WEBHOOKS = (
    f"SELECT {WEBHOOK_COLUMNS} FROM integ_webhooks WHERE community_id = ? ORDER BY channel_id, id"
)
# What posting through a webhook needs, its token's hash included.
WEBHOOK_SECRET = (
    "SELECT id, community_id, channel_id, name, avatar, owner_id, token_hash FROM integ_webhooks WHERE id = ?"
)


def insert_webhook(conn: Connection, row: dict[str, Any], token_hash: bytes) -> None:
    """``row``: every column of WEBHOOK_COLUMNS."""
    conn.execute(
        f"INSERT INTO integ_webhooks ({WEBHOOK_COLUMNS}, token_hash) VALUES (:id, :community_id,"
        " :channel_id, :name, :avatar, :owner_id, :created_at, :last_used_at, :token_hash)",
        {**row, "token_hash": token_hash},
    )


def rename_webhook(conn: Connection, webhook_id: str, name: str, avatar: str | None) -> None:
    conn.execute("UPDATE integ_webhooks SET name = ?, avatar = ? WHERE id = ?", (name, avatar, webhook_id))


def set_webhook_token(conn: Connection, webhook_id: str, token_hash: bytes) -> None:
    conn.execute("UPDATE integ_webhooks SET token_hash = ? WHERE id = ?", (token_hash, webhook_id))


def delete_webhook(conn: Connection, webhook_id: str) -> None:
    conn.execute("DELETE FROM integ_webhooks WHERE id = ?", (webhook_id,))


def touch_webhook(conn: Connection, webhook_id: str, now: int) -> None:
    conn.execute("UPDATE integ_webhooks SET last_used_at = ? WHERE id = ?", (now, webhook_id))


# -- outgoing event webhooks ------------------------------------------------------------------------

SUBSCRIPTION_COLUMNS = (
    "id, community_id, url, kinds, owner_id, created_at, last_status, last_error, last_attempt_at,"
    " last_success_at, (SELECT count(*) FROM integ_deliveries d"
    " WHERE d.subscription_id = integ_subscriptions.id AND d.sent_at IS NULL AND d.failed_at IS NULL)"
    " AS pending"
)
SUBSCRIPTION = f"SELECT {SUBSCRIPTION_COLUMNS} FROM integ_subscriptions WHERE id = ?"
SUBSCRIPTIONS_OF = (
    f"SELECT {SUBSCRIPTION_COLUMNS} FROM integ_subscriptions WHERE community_id IS ? ORDER BY id"
)
# What the consumer matches each event against.
SUBSCRIBED = "SELECT id, community_id, kinds, created_at FROM integ_subscriptions"
DELIVERIES_OF = (
    "SELECT id, event_id, kind, attempts, created_at, next_at, sent_at, failed_at, last_status,"
    " last_error FROM integ_deliveries WHERE subscription_id = ? ORDER BY created_at DESC, id DESC"
    " LIMIT 100"
)
# Deliveries due now, with what an attempt needs of their subscription.
DUE = (
    "SELECT d.id, d.subscription_id, d.kind, d.channel_id, d.body, d.attempts, s.url, s.secret,"
    " s.owner_id, s.community_id FROM integ_deliveries d JOIN integ_subscriptions s"
    " ON s.id = d.subscription_id WHERE d.sent_at IS NULL AND d.failed_at IS NULL AND d.next_at <= ?"
    " ORDER BY d.next_at, d.id LIMIT 50"
)


def insert_subscription(conn: Connection, row: dict[str, Any]) -> Any:
    """A new subscription (``row``: id, community_id, url, secret, kinds, owner_id, created_at), read
    back as SUBSCRIPTION reads it."""
    conn.execute(
        "INSERT INTO integ_subscriptions (id, community_id, url, secret, kinds, owner_id, created_at)"
        " VALUES (:id, :community_id, :url, :secret, :kinds, :owner_id, :created_at)",
        row,
    )
    return conn.execute(SUBSCRIPTION, (row["id"],)).fetchone()


def delete_subscription(conn: Connection, sid: str) -> None:
    conn.execute("DELETE FROM integ_subscriptions WHERE id = ?", (sid,))


def insert_delivery(conn: Connection, row: tuple[Any, ...]) -> None:
    """``row``: (id, subscription_id, event_id, kind, channel_id, body, next_at, created_at)."""
    conn.execute(
        "INSERT OR IGNORE INTO integ_deliveries (id, subscription_id, event_id, kind, channel_id, body,"
        " next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        row,
    )


def record_attempt(
    conn: Connection, *, did: str, sid: str, attempts: int, next_at: int, sent_at: int | None,
    failed_at: int | None, status: int | None, error: str | None, now: int,
) -> None:  # fmt: skip
    """One attempt's outcome, on the delivery and as its subscription's last status."""
    conn.execute(
        "UPDATE integ_deliveries SET attempts = ?, next_at = ?, sent_at = ?, failed_at = ?,"
        " last_status = ?, last_error = ? WHERE id = ?",
        (attempts, next_at, sent_at, failed_at, status, error, did),
    )
    conn.execute(
        "UPDATE integ_subscriptions SET last_status = ?, last_error = ?, last_attempt_at = ?,"
        " last_success_at = CASE WHEN ? IS NULL THEN ? ELSE last_success_at END WHERE id = ?",
        (status, error, now, error, now, sid),
    )


def prune_deliveries(conn: Connection, before: int) -> int:
    return conn.execute(
        "DELETE FROM integ_deliveries WHERE coalesce(sent_at, failed_at) < ?", (before,)
    ).rowcount


# -- slash commands, bot endpoints, interactions ----------------------------------------------------

COMMAND = (
    "SELECT c.id, c.community_id, c.bot_id, coalesce(p.username, '') AS bot_name, c.name, c.description,"
    " c.options FROM integ_commands c LEFT JOIN users_profiles p ON p.user_id = c.bot_id"
)
COMMAND_BY_ID = COMMAND + " WHERE c.id = ?"
COMMAND_BY_NAME = COMMAND + " WHERE c.community_id = ? AND c.name = ?"
COMMANDS_OF = COMMAND + " WHERE c.community_id = ? ORDER BY c.name"
# Who holds a command name in a community.
COMMAND_OWNER = "SELECT id, bot_id FROM integ_commands WHERE community_id = ? AND name = ?"
ENDPOINT = "SELECT url, secret FROM integ_bot_endpoints WHERE bot_id = ?"
INTERACTION = "SELECT bot_id, user_id, community_id, channel_id, name FROM integ_interactions WHERE id = ?"
OVERDUE = "SELECT id FROM integ_interactions WHERE state = 'pending' AND deadline_at <= ?"
# An answer claims a pending interaction before its deadline (once).
CLAIM = (
    "UPDATE integ_interactions SET state = 'answered' WHERE id = ? AND state = 'pending' AND deadline_at > ?"
)


def count_commands(conn: Connection, community_id: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM integ_commands WHERE community_id = ?", (community_id,)
    ).fetchone()[0]


def insert_command(conn: Connection, row: dict[str, Any]) -> None:
    """``row``: id, community_id, bot_id, name, description, options, created_at."""
    conn.execute(
        "INSERT INTO integ_commands (id, community_id, bot_id, name, description, options, created_at)"
        " VALUES (:id, :community_id, :bot_id, :name, :description, :options, :created_at)",
        row,
    )


def update_command(conn: Connection, command_id: str, description: str, options: str) -> None:
    conn.execute(
        "UPDATE integ_commands SET description = ?, options = ? WHERE id = ?",
        (description, options, command_id),
    )


def delete_command(conn: Connection, command_id: str) -> None:
    conn.execute("DELETE FROM integ_commands WHERE id = ?", (command_id,))


def set_endpoint(conn: Connection, bot_id: str, url: str, secret: str, now: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO integ_bot_endpoints (bot_id, url, secret, created_at) VALUES (?, ?, ?, ?)",
        (bot_id, url, secret, now),
    )


def delete_endpoint(conn: Connection, bot_id: str) -> None:
    conn.execute("DELETE FROM integ_bot_endpoints WHERE bot_id = ?", (bot_id,))


def insert_interaction(conn: Connection, row: dict[str, Any]) -> None:
    """``row``: id, command_id, name, community_id, channel_id, bot_id, user_id, created_at,
    deadline_at."""
    conn.execute(
        "INSERT INTO integ_interactions (id, command_id, name, community_id, channel_id, bot_id, user_id,"
        " created_at, deadline_at) VALUES (:id, :command_id, :name, :community_id, :channel_id, :bot_id,"
        " :user_id, :created_at, :deadline_at)",
        row,
    )


def expire_interaction(conn: Connection, interaction_id: str, now: int) -> Any:
    """Fail a pending interaction past its deadline; its (user_id, channel_id, name), or None if it
    was not pending or not due."""
    return conn.execute(
        "UPDATE integ_interactions SET state = 'expired' WHERE id = ? AND state = 'pending'"
        " AND deadline_at <= ? RETURNING user_id, channel_id, name",
        (interaction_id, now),
    ).fetchone()


def forget_interactions(conn: Connection, before: int) -> None:
    conn.execute("DELETE FROM integ_interactions WHERE created_at < ?", (before,))


# -- link previews ----------------------------------------------------------------------------------

PREVIEW_AGE = "SELECT fetched_at, image FROM integ_previews WHERE url = ?"
PREVIEW_COLUMNS = ("ok", "title", "description", "site_name", "image", "image_width", "image_height")
PREVIEWS_OF = f"SELECT url, {', '.join(PREVIEW_COLUMNS)} FROM integ_previews WHERE url IN ({{marks}})"
# A channel's messages' links ({marks}: one per id), in order, unless their author suppressed them.
LINKS_OF = (
    "SELECT l.target_id, l.url, l.community_id FROM integ_links l WHERE l.channel_id = ?"
    " AND l.target_id IN ({marks})"
    " AND NOT EXISTS (SELECT 1 FROM integ_suppressed x WHERE x.target_id = l.target_id)"
    " ORDER BY l.target_id, l.position"
)
LINK_OWNER = "SELECT author_id FROM integ_links WHERE target_id = ? AND channel_id = ? LIMIT 1"
PREVIEWS_ON = "SELECT link_previews FROM integ_community_settings WHERE community_id = ?"
LINK_VERSION = "SELECT hlc, author_id FROM integ_link_versions WHERE target_id = ?"


def replace_links(conn: Connection, target_id: str, rows: list[tuple[Any, ...]]) -> None:
    """``rows``: (position, url, channel_id, community_id, author_id) of the target's links now."""
    conn.execute("DELETE FROM integ_links WHERE target_id = ?", (target_id,))
    conn.executemany(
        "INSERT INTO integ_links (target_id, position, url, channel_id, community_id, author_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(target_id, *r) for r in rows],
    )


def set_link_version(conn: Connection, target_id: str, hlc: int, author_id: str | None) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO integ_link_versions (target_id, hlc, author_id) VALUES (?, ?, ?)",
        (target_id, hlc, author_id),
    )


def store_preview(conn: Connection, url: str, values: dict[str, Any], now: int) -> None:
    """A fetch's outcome (``values``: PREVIEW_COLUMNS and ``error``, missing ones NULL)."""
    cols = [*PREVIEW_COLUMNS, "error"]
    conn.execute(
        f"INSERT OR REPLACE INTO integ_previews (url, {', '.join(cols)}, fetched_at)"
        f" VALUES (?, {', '.join('?' * len(cols))}, ?)",
        (url, *[values.get(c) for c in cols], now),
    )


def set_previews_on(conn: Connection, community_id: str, on: bool) -> None:
    conn.execute(
        "INSERT INTO integ_community_settings (community_id, link_previews) VALUES (?, ?)"
        " ON CONFLICT (community_id) DO UPDATE SET link_previews = excluded.link_previews",
        (community_id, int(on)),
    )


def suppress(conn: Connection, target_id: str, user_id: str, now: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO integ_suppressed (target_id, user_id, created_at) VALUES (?, ?, ?)",
        (target_id, user_id, now),
    )


def unsuppress(conn: Connection, target_id: str) -> None:
    conn.execute("DELETE FROM integ_suppressed WHERE target_id = ?", (target_id,))
