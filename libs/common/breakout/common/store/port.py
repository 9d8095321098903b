"""The event store port: what every backend (in-memory, PostgreSQL) promises.

The store is the source of truth. It keeps one total order (the global `position`), per-stream
versions with optimistic concurrency, idempotent appends by event id, consumer checkpoints that
commit with the consumer's outputs, and snapshots of consumer state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from breakout.common.events import NewEvent, RecordedEvent, StoredEvent

ANY_VERSION: None = None
"""`expected_version` meaning: append whatever the stream's current version is."""
NO_STREAM = 0
"""`expected_version` meaning: the stream must not exist yet."""


class StoreError(Exception):
    """Base of the store's typed errors."""


class WrongExpectedVersion(StoreError):
    """An append's `expected_version` did not match the stream's current version."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream!r}: expected version {expected}, found {actual}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class CheckpointConflict(StoreError):
    """A consumer tried to commit a position it (or another instance of it) already passed."""

    def __init__(self, consumer: str, position: int, checkpoint: int) -> None:
        super().__init__(
            f"consumer {consumer!r}: cannot commit position {position}, checkpoint is {checkpoint}"
        )
        self.consumer = consumer
        self.position = position
        self.checkpoint = checkpoint


class StreamAppend(msgspec.Struct, frozen=True, kw_only=True):
    """Events for one stream, with the version the writer expects the stream to be at."""

    stream: str
    events: Sequence[NewEvent]
    expected_version: int | None = ANY_VERSION


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A consumer's serialized state as of a global position."""

    consumer: str
    position: int
    state: bytes
    taken_at: datetime


class EventFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which events a global read returns: by stream category and/or type tag (None = all)."""

    categories: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None


class EventStore(Protocol):
    """Append-only event log with a global order, checkpoints and snapshots."""

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: int | None = ANY_VERSION
    ) -> int:
        """Append to one stream atomically; return its new version.

        Raises `WrongExpectedVersion` on a conflict. Events whose id is already stored are
        skipped (a retry is a no-op); if every event is already stored nothing is checked.
        """
        ...

    async def append_bulk(self, appends: Sequence[StreamAppend]) -> int:
        """Append many streams' events in one transaction (COPY in Postgres); return rows written.

        Meant for high-volume streams (market data) with one writer per stream, and for a
        writer that must know whether its events were new: an id already stored is skipped
        and not counted (the gateway answers a command raced by another replica 409 on 0).
        """
        ...

    async def commit(self, consumer: str, position: int, appends: Sequence[StreamAppend]) -> None:
        """Append a consumer's outputs and advance its checkpoint to `position`, atomically.

        Raises `CheckpointConflict` if the checkpoint is already at or past `position`, and
        `WrongExpectedVersion` on an output conflict; either way nothing is written.
        """
        ...

    async def checkpoint(self, consumer: str) -> int:
        """The last global position `consumer` committed (0 if none)."""
        ...

    async def read_stream(
        self, stream: str, after_version: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Events of one stream with version > `after_version`, in version order."""
        ...

    async def read_all(
        self, after: int = 0, limit: int = 1000, filter: EventFilter | None = None
    ) -> list[RecordedEvent]:
        """Events with position > `after` in global order, decoded.

        Never returns an event while an event with a smaller position may still appear (a
        transaction that has not committed yet): a reader that follows `after` skips nothing.
        """
        ...

    async def read_all_raw(
        self, after: int = 0, limit: int = 1000, filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        """As `read_all`, payloads left as JSON (for the relay and exporters)."""
        ...

    async def head_position(self) -> int:
        """The highest position a reader may currently see (0 for an empty store)."""
        ...

    async def stream_version(self, stream: str) -> int:
        """Current version of `stream` (0 if it does not exist)."""
        ...

    async def save_snapshot(self, consumer: str, position: int, state: bytes) -> None:
        """Keep `state` as `consumer`'s snapshot at `position` (replacing an older one)."""
        ...

    async def load_snapshot(self, consumer: str) -> Snapshot | None:
        """The consumer's latest snapshot, or None."""
        ...

    async def wait_for_append(self, timeout_s: float) -> None:
        """Return when something may have been appended, or after `timeout_s` (a hint only)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


async def follow(
    store: EventStore,
    after: int = 0,
    filter: EventFilter | None = None,
    batch_size: int = 1000,
    idle_wait_s: float = 1.0,
) -> AsyncIterator[RecordedEvent]:
    """Catch-up subscription: every event after `after` in global order, then new ones forever.

    Relies on `read_all`'s guarantee that no late-committing transaction is ever skipped; the
    append notification only shortens the wait, it never carries events.
    """
    cursor = after
    while True:
        # Read the head first: everything at or below it is already decided (committed or
        # never), so a short filtered batch proves the range up to the head holds no more
        # matches and the cursor may jump there instead of rescanning it.
        head = await store.head_position()
        events = await store.read_all(after=cursor, limit=batch_size, filter=filter)
        for event in events:
            yield event
            cursor = event.position
        if len(events) < batch_size:
            cursor = max(cursor, head)
            await store.wait_for_append(idle_wait_s)
