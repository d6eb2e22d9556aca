"""The S3-compatible storage backend (AWS, MinIO, Garage, Ceph, R2, moto in the tests).

boto3, not aiobotocore: boto3 is AWS's own SDK and moves in lockstep with botocore, while
aiobotocore pins narrow botocore ranges that often clash with other packages. Our calls are few and
coarse (upload a file, fetch a byte range, delete), so a thread per call costs nothing that matters;
boto3 clients are thread-safe, and upload_file streams from disk (multipart for large files).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from .schemas import S3Settings
from .storage import CHUNK, check_key


class S3Storage:
    name = "s3"

    def __init__(self, settings: S3Settings) -> None:
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.endpoint or None,
            region_name=settings.region or None,
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            config=BotoConfig(
                s3={"addressing_style": "path" if settings.force_path_style else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
            ),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, src: Path, mime: str) -> None:
        if await self.exists(key):
            return
        await asyncio.to_thread(
            self.client.upload_file,
            str(src),
            self.bucket,
            self._key(key),
            ExtraArgs={"ContentType": mime},
        )

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def read(self, key: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        obj = await asyncio.to_thread(
            self.client.get_object, Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end}"
        )
        body = obj["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def keys(self) -> AsyncIterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = await asyncio.to_thread(
            lambda: [p for p in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix)]
        )
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix) :]
                if len(name) == 64:
                    yield name

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)
