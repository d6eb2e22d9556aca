"""A new edge's starting point: a consistent copy of the primary's database (SQLite's online backup,
safe while the primary serves) and its keys (an edge verifies the primary's access tokens and reads
its encrypted columns with them). The edge then joins the stream just past the copy's last position.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cryb_node.db import DB_FILE, connect
from cryb_node.identity import key_dir

# In an edge's data dir: its log is the primary's (same keys), so nothing run on it may append an
# event, not `cryb serve` without --role edge nor a CLI command (a second writer would fork the log).
EDGE_MARK = "EDGE"


def edge_marked(data_dir: Path) -> bool:
    return (data_dir / EDGE_MARK).exists()


def take(data_dir: Path, dest: Path) -> int:
    """Copy the node in ``data_dir`` to the new edge data dir ``dest``; the copy's last log position."""
    src_db = data_dir / DB_FILE
    if not src_db.exists():
        raise FileNotFoundError(f"no database at {src_db}")
    if (dest / DB_FILE).exists():
        raise FileExistsError(f"{dest / DB_FILE} exists: an edge's data dir starts empty")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    src = connect(src_db, busy_timeout_ms=5000, readonly=True)
    out = connect(dest / DB_FILE, busy_timeout_ms=5000)
    try:
        src.backup(out)
        # a copy of an edge names that edge's stream position: the new edge finds its own
        out.execute("DELETE FROM consumer_offsets WHERE name LIKE 'scale.%'")
        position = out.execute("SELECT max(pos) FROM events").fetchone()[0] or 0
    finally:
        out.close()
        src.close()
    shutil.copytree(key_dir(data_dir), key_dir(dest), dirs_exist_ok=False)
    key_dir(dest).chmod(0o700)
    (dest / EDGE_MARK).write_text(
        f"An edge's replica of the node in {data_dir.resolve()} (log position {position} when copied).\n"
        "It never writes events; `cryb scale promote` makes it a primary.\n",
        encoding="utf-8",
    )
    return position


def promote(data_dir: Path) -> int:
    """Turn a stopped edge's data dir into a primary's; its last log position."""
    from cryb_node.identity import rotate_log_key

    from .publisher import CONSUMER

    db = data_dir / DB_FILE
    if not db.exists():
        raise FileNotFoundError(f"no database at {db}")
    conn = connect(db, busy_timeout_ms=5000)
    try:
        position = conn.execute("SELECT max(pos) FROM events").fetchone()[0] or 0
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM consumer_offsets WHERE name LIKE 'scale.%'")
        # the stream holds everything up to here (the edge applied it from there)
        conn.execute(
            "INSERT INTO consumer_offsets (name, pos, updated_at) VALUES (?, ?, strftime('%s'))",
            (CONSUMER, position),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    rotate_log_key(data_dir)
    (data_dir / EDGE_MARK).unlink(missing_ok=True)
    return position
