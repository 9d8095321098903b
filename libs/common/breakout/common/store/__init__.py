"""Event store: the port, the in-memory twin and the PostgreSQL implementation."""

from breakout.common.store.memory import InMemoryEventStore
from breakout.common.store.migrate import migrate
from breakout.common.store.port import (
    ANY_VERSION,
    NO_STREAM,
    CheckpointConflict,
    EventFilter,
    EventStore,
    Snapshot,
    StoreError,
    StreamAppend,
    WrongExpectedVersion,
    follow,
)
from breakout.common.store.postgres import PostgresEventStore

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "CheckpointConflict",
    "EventFilter",
    "EventStore",
    "InMemoryEventStore",
    "PostgresEventStore",
    "Snapshot",
    "StoreError",
    "StreamAppend",
    "WrongExpectedVersion",
    "follow",
    "migrate",
]
