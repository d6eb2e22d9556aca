"""The environment a benchmarked `cryb serve` runs with: load from one address, measured as it is."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_env(**extra: str) -> dict[str, str]:
    """This process's environment without CRYB_* settings, plus what every load bench needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYB_")}
    env.update(
        PYTHONPATH=str(ROOT),
        CRYB_RATE_LIMITS__ENABLED="false",
        # every load client connects from 127.0.0.1: lift the per-address cap meant for the internet
        CRYB_SERVER__MAX_CONNECTIONS_PER_ADDRESS="1000000",
        CRYB_LOG__LEVEL="WARNING",
        # Registration cost is not what the benches measure: libsodium's minimum argon2id cost.
        CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT="1",
        CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT="8192",
        CRYB_REALTIME__CLIENT_FRAMES="100000",
    )
    env.update(extra)
    return env
