"""Replication tests share one S3-compatible server (moto) for the whole session."""

from tests.replication_fixtures import s3_server  # noqa: F401
