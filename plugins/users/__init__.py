"""The users plugin: accounts, sign-in and tokens, sessions, profiles, relationships and the audit log.

It provides the core's Authenticator service (bearer access tokens -> Principal) to every route.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable

import click
import msgspec
from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.bus import Subscription
from cryb_node.events import EventType
from cryb_node.export import ExportSink
from cryb_node.http.api import Api
from cryb_node.http.middleware import AUTHENTICATOR
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.scheduler import Job
from cryb_node.services import AUDIT, DIRECTORY, RELATIONSHIPS

from . import moves
from .account_routes import account_routes
from .admin_routes import admin_routes
from .admin_user_routes import admin_user_routes
from .audit import AuditService
from .bot_routes import bot_routes
from .console import LIVE_ENDED, end_live, live_ended_elsewhere
from .directory import UserDirectory
from .events import EVENT_TYPES
from .export_data import export_account
from .export_routes import export_routes
from .exports import EXPORTER, Exporter
from .oauth_routes import oauth_routes
from .registration import REGISTRATION, Registration
from .registration_routes import registration_routes
from .relationship_routes import relationship_routes
from .relationships import RELATIONSHIP_SERVICE, RelationshipService
from .report_routes import report_routes
from .routes import auth_routes, user_routes
from .schemas import Settings
from .service import USERS, Users

REVOKED = "users.sessions_revoked"  # node.signals topic: session ids revoked in another process
ADMINS = "users.admin_changed"  # node.signals topic: [user id, is a node admin] changed in another process


class UsersPlugin(Plugin):
    name = "users"
    config_type = Settings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def event_types(self) -> Iterable[EventType]:
        return EVENT_TYPES

    def routes(self, api: Api, node: Node) -> None:
        auth_routes(api, node)
        user_routes(api, node)
        account_routes(api, node)
        relationship_routes(api, node)
        oauth_routes(api, node)
        admin_routes(api, node)
        admin_user_routes(api, node)
        export_routes(api, node)
        report_routes(api, node)
        registration_routes(api, node)
        bot_routes(api, node)

    def setup(self, node: Node) -> None:
        users = Users(node, node.settings(self.name))
        users.tokens.on_ended = lambda user_ids: end_live(node, user_ids)  # a CLI disable closes sockets
        # with edges, a session revoked in one process is refused by all (cryb_node/signals.py)
        users.tokens.share = lambda ids: node.signals.publish(REVOKED, msgspec.json.encode(ids))
        node.signals.subscribe(
            REVOKED, lambda data: users.tokens.revoked_elsewhere(msgspec.json.decode(data))
        )
        users.tokens.edge = node.config.scale.role == "edge"
        users.tokens.share_admin = lambda user_id, admin: node.signals.publish(
            ADMINS, msgspec.json.encode([user_id, admin])
        )
        node.signals.subscribe(
            ADMINS,
            lambda data: users.tokens.admin_changed_elsewhere(
                *msgspec.json.decode(data, type=tuple[str, bool])
            ),
        )
        closing: set[asyncio.Task[None]] = set()  # and an account ended there loses its sockets here
        node.signals.subscribe(LIVE_ENDED, lambda data: live_ended_elsewhere(node, data, closing))
        node.services.provide(USERS, users)
        node.services.provide(AUTHENTICATOR, users.tokens)
        relationships = RelationshipService(node.db, users)
        node.services.provide(RELATIONSHIP_SERVICE, relationships)
        node.services.provide(RELATIONSHIPS, relationships)
        node.services.provide(DIRECTORY, UserDirectory(users))
        node.services.provide(AUDIT, AuditService(node.db, users.keys, node.clock))
        node.services.provide(REGISTRATION, Registration(users))
        if node.serving:  # a CLI command prepares no exports
            node.services.provide(EXPORTER, Exporter(node, users))

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        users = node.services.require(USERS)
        await users.open()
        registration = node.services.require(REGISTRATION)
        await registration.open()
        exporter = node.services.get(EXPORTER)
        if exporter is not None:
            await exporter.start()
        try:
            yield
        finally:
            if exporter is not None:
                await exporter.stop()
            await registration.close()
            await users.close()

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        return [moves.subscription(node, node.services.require(USERS))]

    def jobs(self, node: Node) -> Iterable[Job]:
        async def sweep() -> None:
            # Forget expired failure counts and lockouts so memory stays bounded.
            node.services.require(USERS).throttle.sweep()

        yield Job("users.sweep", sweep, IntervalTrigger(minutes=5))

        async def expire_exports() -> None:
            exporter = node.services.get(EXPORTER)
            if exporter is not None:
                await exporter.expire()

        yield Job("users.exports-expire", expire_exports, IntervalTrigger(hours=1))

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        await export_account(node.services.require(USERS), user_id, sink)

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        # Credentials (hashes, TOTP secrets), sealed PII and its blind index, provider account ids.
        return {
            "users_accounts": ("email_ct", "email_index", "password_hash", "totp_secret_ct", "last_ip_ct"),
            "users_sessions": ("ip_ct",),
            "users_refresh_tokens": ("token_hash",),
            "users_email_tokens": ("token_hash", "email_ct", "email_index"),
            "users_recovery_codes": ("code_hash",),
            "users_oauth_links": ("subject",),
            "users_audit": ("ip_ct",),
            "users_registration_tokens": ("token_hash",),
            "users_applications": ("answer_ct",),  # sealed: admins read it on the Sign-ups tab
        }

    def cli(self) -> list[click.Command]:
        from .cli import COMMANDS
        from .registration_cli import token_group  # also adds `cryb user approve|reject|applications`
        from .report_cli import report_group

        return [*COMMANDS, report_group, token_group]


plugin = UsersPlugin()
