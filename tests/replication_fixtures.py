"""Fixtures for replication tests: an S3-compatible server (moto's server mode) with real
credential checks on loopback, a TCP proxy that can make it unreachable, and config helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cryb_node.scale.workers import wait_port
from tests.conftest import DEMO, free_port
from tests.support.waiting import eventually_blocking

BUCKET = "cryb-replica"


@dataclass
class S3Server:
    endpoint: str
    port: int
    bucket: str
    key: str
    secret: str

    def settings(self, prefix: str, **extra: Any) -> dict[str, Any]:
        return {
            "enabled": True,
            "type": "s3",
            "bucket": self.bucket,
            "path": prefix,
            "endpoint": self.endpoint,
            "region": "us-east-1",
            "force_path_style": True,
            "access_key_id": self.key,
            "secret_access_key": self.secret,
            **extra,
        }


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 on loopback that checks credentials (after the four set-up calls below)."""
    import boto3

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=20)  # a TCP probe: an HTTP one would use up an unauthenticated call
        endpoint = f"http://127.0.0.1:{port}"
        anon = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **anon)
        iam.create_user(UserName="cryb")
        key = iam.create_access_key(UserName="cryb")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="cryb", PolicyName="all", PolicyDocument=json.dumps(policy))
        boto3.client("s3", aws_access_key_id="setup", aws_secret_access_key="setup", **anon).create_bucket(
            Bucket=BUCKET
        )
        yield S3Server(endpoint, port, BUCKET, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        proc.terminate()
        proc.wait(10)


class TcpProxy:
    """Forwards 127.0.0.1:port to a target port; ``down()`` refuses and cuts every connection."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()
            self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def replication_toml(settings: dict[str, Any], **top: Any) -> str:
    """A cryb.toml with the demo plugin and a [replication] section."""

    def value(v: Any) -> str:
        return json.dumps(v) if not isinstance(v, bool) else ("true" if v else "false")

    lines = [f'[plugins]\nextra = ["{DEMO}"]', '[log]\nlevel = "WARNING"', "[rate_limits]\nenabled = false"]
    lines.append("[replication]\n" + "\n".join(f"{k} = {value(v)}" for k, v in settings.items()))
    for section, values in top.items():
        lines.append(f"[{section}]\n" + "\n".join(f"{k} = {value(v)}" for k, v in values.items()))
    return "\n".join(lines) + "\n"


def note_ids_in(db_file: Path) -> set[str]:
    import pysqlite3.dbapi2 as sqlite3

    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM demo_notes")}
    finally:
        conn.close()


def wait_until_sync(pred: Any, timeout: float = 20, what: str = "condition") -> Any:
    """Kept for tests/search (being rewritten on another branch); new code calls
    tests.support.waiting.eventually_blocking."""
    return eventually_blocking(pred, timeout, what=what)
