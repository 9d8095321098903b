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
    # This service's own NATS user (least-privilege permissions, deploy/nats/permissions.conf).
    nats_user: str | None = None
    nats_password: str | None = None
    # The event stream's replicas in a JetStream cluster (3 on the k8s cluster); the relay
    # applies it, other services leave the stream as they find it.
    bus_replicas: int = 1

    @classmethod
    def from_env(cls) -> InfraSettings:
        """Read `DATABASE_URL`, `NATS_URL`, `BREAKOUT_BUS_PREFIX`, `NATS_USER`, `NATS_PASSWORD`,
        `BREAKOUT_BUS_REPLICAS`."""
        return cls(
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            nats_url=os.environ.get("NATS_URL", DEFAULT_NATS_URL),
            bus_prefix=os.environ.get("BREAKOUT_BUS_PREFIX", ""),
            nats_user=os.environ.get("NATS_USER") or None,
            nats_password=os.environ.get("NATS_PASSWORD") or None,
            bus_replicas=int(os.environ.get("BREAKOUT_BUS_REPLICAS", "1")),
        )

    def __repr__(self) -> str:
        # Settings end up in error messages and logs: never with the password in them.
        secret = "'***'" if self.nats_password else "None"
        return (
            f"InfraSettings(database_url=<hidden>, nats_url={self.nats_url!r}, "
            f"bus_prefix={self.bus_prefix!r}, nats_user={self.nats_user!r}, "
            f"nats_password={secret}, bus_replicas={self.bus_replicas})"
        )
