"""Upgrades: an existing database is backed up before new migrations run; `migrate --dry-run` reports
on a copy; a node that cannot make the backup refuses to upgrade and leaves the database as it was."""

from __future__ import annotations

import json
from pathlib import Path

from cryb_node import config as configmod
from cryb_node.app import build_app
from cryb_node.db import connect
from tests.conftest import DEMO, run_cryb
from tests.users_fixtures import FAST_HASHING, register_user


def _config(data: Path, *, with_demo: bool) -> configmod.Config:
    return configmod.convert(
        {
            "node": {"data_dir": str(data)},
            "log": {"level": "WARNING"},
            "plugins": {"extra": [DEMO] if with_demo else []},
            "plugin": {"users": FAST_HASHING},
        }
    )


async def _previous_release(aiohttp_client, data: Path) -> str:
    """A node without the demo plugin (standing in for the previous release) with a user in it."""
    client = await aiohttp_client(build_app(_config(data, with_demo=False)))
    user_id, _ = await register_user(client, "olduser")
    await client.close()
    return user_id


async def test_new_migrations_run_after_a_backup_and_keep_the_data(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    user_id = await _previous_release(aiohttp_client, data)
    cfg = tmp_path / "cryb.toml"
    cfg.write_text(f'[plugins]\nextra = ["{DEMO}"]\n')

    plan = run_cryb("--config", str(cfg), "--data", str(data), "migrate", "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    steps = json.loads(plan.stdout)
    assert [(s["source"], s["name"]) for s in steps] == [("demo", "notes"), ("demo", "note_length")]
    assert "table demo_notes" in steps[0]["created"]
    conn = connect(data / "cryb.db", busy_timeout_ms=1000)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'demo_notes'").fetchone()[0] == 0
    conn.close()  # the dry run touched a copy only

    client = await aiohttp_client(build_app(_config(data, with_demo=True)))
    assert (await client.get(f"/api/v1/users/{user_id}")).status == 200
    assert (await client.post("/api/v1/demo/notes", json={"text": "new feature"})).status == 201
    await client.close()
    backups = sorted((data / "backups").glob("pre-upgrade-*.db"))
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600
    old = connect(backups[0], busy_timeout_ms=1000, readonly=True)
    assert old.execute("SELECT count(*) FROM users_accounts WHERE id = ?", (user_id,)).fetchone()[0] == 1
    assert old.execute("SELECT count(*) FROM sqlite_master WHERE name = 'demo_notes'").fetchone()[0] == 0
    old.close()


async def test_no_backup_for_a_fresh_database_or_when_nothing_is_pending(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    await _previous_release(aiohttp_client, data)
    again = await aiohttp_client(build_app(_config(data, with_demo=False)))
    await again.close()
    assert not (data / "backups").exists()


async def test_upgrade_is_refused_when_the_backup_cannot_be_made(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    await _previous_release(aiohttp_client, data)
    (data / "backups").write_text("a file where the backup folder should be")
    cfg = tmp_path / "cryb.toml"
    cfg.write_text(
        f'[plugins]\nextra = ["{DEMO}"]\n[plugin.users]\nargon2_opslimit = 1\nargon2_memlimit = 8192\n'
    )
    res = run_cryb("--config", str(cfg), "serve", "--port", "0", "--data", str(data))
    assert res.returncode == 1
    assert "could not back up the database before upgrading" in res.stderr
    conn = connect(data / "cryb.db", busy_timeout_ms=1000)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'demo_notes'").fetchone()[0] == 0
    conn.close()
