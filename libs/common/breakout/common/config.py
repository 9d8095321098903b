"""Settings from the environment (secrets too: never from files in the repo, never logged)."""

from __future__ import annotations

import os

import msgspec

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/breakout"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


class InfraSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the store and the bus are, and this deployment's subject prefix."""

    database_url: str = DEFAULT_DATABASE_URL
    nats_url: str = DEFAULT_NATS_URL
    bus_prefix: str = ""

    @classmethod
    def from_env(cls) -> InfraSettings:
        """Read `DATABASE_URL`, `NATS_URL` and `BREAKOUT_BUS_PREFIX`."""
        return cls(
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            nats_url=os.environ.get("NATS_URL", DEFAULT_NATS_URL),
            bus_prefix=os.environ.get("BREAKOUT_BUS_PREFIX", ""),
        )
