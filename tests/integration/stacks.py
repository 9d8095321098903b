"""Both stacks the runtime must run on: in-memory (backtests, replays) and Postgres + NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from breakout.common.bus.memory import InMemoryBus
from breakout.common.bus.nats import NatsBus
from breakout.common.bus.port import Bus
from breakout.common.clock import SimulatedClock
from breakout.common.config import InfraSettings
from breakout.common.leader import InMemoryLeaderLock, LeaderLock, PostgresLeaderLock
from breakout.common.store import InMemoryEventStore
from breakout.common.store.migrate import migrate
from breakout.common.store.port import EventStore
from breakout.common.store.postgres import PostgresEventStore


@dataclass
class Stack:
    """A store, a bus and a way to make leader locks, on one backend."""

    kind: str
    store: EventStore
    bus: Bus
    dsn: str | None = None

    def leader(self, name: str) -> LeaderLock:
        """A leader lock on this backend."""
        if self.dsn is None:
            return InMemoryLeaderLock(f"{id(self)}/{name}")
        return PostgresLeaderLock(self.dsn, name, poll_s=0.2, watchdog_s=1.0)


def _with_database(url: str, database: str) -> str:
    return f"{url.rpartition('/')[0]}/{database}"


@asynccontextmanager
async def fresh_database(infra: InfraSettings) -> AsyncIterator[str]:
    """A new, migrated database for one test (dropped afterwards)."""
    name = f"bk_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_with_database(infra.database_url, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_database(infra.database_url, name)
    try:
        await migrate(dsn)
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def open_stack(kind: str, infra: InfraSettings, prefix: str) -> AsyncIterator[Stack]:
    """A ready stack of `kind` ("memory" or "real"), torn down afterwards."""
    if kind == "memory":
        bus = InMemoryBus(prefix=prefix)
        yield Stack(kind, InMemoryEventStore(SimulatedClock()), bus)
        return
    async with fresh_database(infra) as dsn:
        store = await PostgresEventStore.connect(dsn)
        nats = await NatsBus.connect(infra.nats_url, prefix=prefix)
        await nats.ensure_stream()
        try:
            yield Stack(kind, store, nats, dsn)
        finally:
            await nats.delete_stream()
            await nats.close()
            await store.close()
