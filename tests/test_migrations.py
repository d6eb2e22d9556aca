"""Migrations: applied in order and recorded with checksums; an edited one stops the node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryb_node import migrate
from cryb_node.clock import Clock
from cryb_node.db import connect
from tests.conftest import run_cryb


def test_migrate_applies_core_and_plugin_migrations_with_checksums(tmp_path: Path, demo_config_file: Path):
    data = tmp_path / "data"
    res = run_cryb("--config", str(demo_config_file), "--data", str(data), "migrate", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    # Core first, then each plugin's (built-in ones before the demo plugin named in the config).
    got = [(r["source"], r["version"], r["state"]) for r in rows]
    assert got[0] == ("core", 1, "applied")
    assert got[-2:] == [("demo", 1, "applied"), ("demo", 2, "applied")]
    assert {r["state"] for r in rows} == {"applied"}
    conn = connect(data / "cryb.db", busy_timeout_ms=100)
    stored = {r[0]: r[1] for r in conn.execute("SELECT source, checksum FROM schema_migrations")}
    assert all(len(v) == 64 for v in stored.values())
    status = run_cryb("--config", str(demo_config_file), "--data", str(data), "migrate", "--status")
    assert status.returncode == 0 and status.stdout.count("applied") == len(rows)


def test_edited_applied_migration_stops_the_node(tmp_path: Path):
    folder = tmp_path / "mig"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);\n")
    conn = connect(tmp_path / "m.db", busy_timeout_ms=100)
    migs = migrate.discover("p", folder)
    assert [m.name for m in migrate.apply(conn, migs, Clock())] == ["a"]
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER, y TEXT);\n")
    with pytest.raises(migrate.MigrationError, match=r"applied migration changed on disk: p/0001_a.sql"):
        migrate.apply(conn, migrate.discover("p", folder), Clock())
    assert [s.state for s in migrate.status(conn, migrate.discover("p", folder))] == ["modified"]


def test_failing_migration_leaves_nothing_behind(tmp_path: Path):
    folder = tmp_path / "mig"
    folder.mkdir()
    (folder / "0001_ok.sql").write_text("CREATE TABLE ok (x INTEGER);\n")
    (folder / "0002_bad.sql").write_text("CREATE TABLE half (x INTEGER);\nCREATE TABLE ok (x INTEGER);\n")
    conn = connect(tmp_path / "m.db", busy_timeout_ms=100)
    with pytest.raises(migrate.MigrationError, match="0002_bad.sql failed"):
        migrate.apply(conn, migrate.discover("p", folder), Clock())
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half" not in tables and "ok" in tables
    assert [s.state for s in migrate.status(conn, migrate.discover("p", folder))] == ["applied", "pending"]


def test_badly_named_migration_is_refused(tmp_path: Path):
    (tmp_path / "1_x.sql").write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError, match="NNNN_name.sql"):
        migrate.discover("p", tmp_path)


def test_serve_refuses_an_edited_core_migration_record(tmp_path: Path, node_process, demo_config_file):
    node = node_process(demo_config_file).start()
    assert node.terminate() == 0
    conn = connect(tmp_path / "data" / "cryb.db", busy_timeout_ms=1000)
    conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE source = 'demo'")
    conn.close()
    res = run_cryb(
        "--config", str(demo_config_file), "serve", "--port", "0", "--data", str(tmp_path / "data")
    )
    assert res.returncode == 1
    assert "applied migration changed on disk: demo/0001_notes.sql" in res.stderr
