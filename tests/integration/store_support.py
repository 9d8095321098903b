"""Shared pieces of the event-store tests: test-only event types, event factories, fixtures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from breakout.common.events import Event, NewEvent, register_upcaster
from breakout.common.store import InMemoryEventStore, PostgresEventStore, migrate
from breakout.common.store.port import EventStore

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class StoreThing(Event, frozen=True, kw_only=True, tag="test.store_thing.v2"):
    """The current version of a test-only event."""

    n: int
    note: str = ""


class StoreThingV1(Event, frozen=True, kw_only=True, tag="test.store_thing.v1"):
    """An old version of `StoreThing` that an old log still holds."""

    count: int


class StoreTick(Event, frozen=True, kw_only=True, tag="test.store_tick.v1"):
    """A test-only market-data event."""

    price: float


def _upcast_v1(raw: dict[str, Any]) -> dict[str, Any]:
    return {"n": raw["count"], "note": "upcast"}


register_upcaster("test.store_thing.v1", "test.store_thing.v2", _upcast_v1)


def thing(n: int, *, event_id: uuid.UUID | None = None) -> NewEvent:
    """A new domain test event."""
    return NewEvent(
        event_id=event_id or uuid.uuid4(),
        data=StoreThing(n=n),
        occurred_at=T0 + timedelta(seconds=n),
        producer="test",
    )


def tick(stream: str, i: int, at: datetime = T0) -> NewEvent:
    """A market-data test event whose id is deterministic from its stream and sequence `i`."""
    return NewEvent(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/{i}"),
        data=StoreTick(price=100.0 + i),
        occurred_at=at + timedelta(milliseconds=i),
        producer="test-ingest",
    )


def unique(category: str) -> str:
    """A stream category no other test uses (the Postgres database is shared per session)."""
    return f"{category}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
async def store_dsn(pg_dsn: str) -> AsyncIterator[str]:
    """The session's test database, migrated once."""
    await migrate(pg_dsn)
    yield pg_dsn


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
def store_backend(request: pytest.FixtureRequest) -> str | None:
    """Which backend a contract test runs on: None for memory, else a migrated database's DSN."""
    # Sync on purpose: only the Postgres case pulls in (and needs) a database.
    if request.param == "memory":
        return None
    dsn: str = request.getfixturevalue("store_dsn")
    return dsn


@pytest.fixture
async def store(store_backend: str | None) -> AsyncIterator[EventStore]:
    """Every backend of the store, for the contract suite."""
    backend: EventStore
    if store_backend is None:
        backend = InMemoryEventStore()
    else:
        backend = await PostgresEventStore.connect(store_backend)
    try:
        yield backend
    finally:
        await backend.close()
