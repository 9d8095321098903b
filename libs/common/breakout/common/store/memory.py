"""In-memory event store: the same contract as Postgres, for unit tests, backtests and replays."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import msgspec

from breakout.common.clock import Clock, LiveClock
from breakout.common.events import NewEvent, RecordedEvent, StoredEvent, encode_event
from breakout.common.events.base import stream_category
from breakout.common.store.port import (
    ANY_VERSION,
    CheckpointConflict,
    EventFilter,
    Snapshot,
    StreamAppend,
    WrongExpectedVersion,
)


def matches(event: StoredEvent, filter: EventFilter | None) -> bool:
    """Whether a stored event passes a global-read filter."""
    if filter is None:
        return True
    if filter.categories is not None and stream_category(event.stream) not in filter.categories:
        return False
    return filter.types is None or event.type in filter.types


class InMemoryEventStore:
    """Event store held in process memory; every method is atomic (no await inside a write)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or LiveClock()
        self._log: list[StoredEvent] = []
        self._ids: set[uuid.UUID] = set()
        self._streams: dict[str, list[int]] = {}
        # Positions per stream category: a filtered read (a router following `order-*` among
        # millions of market-data rows in a backtest) must not scan the whole log.
        self._categories: dict[str, list[int]] = {}
        self._checkpoints: dict[str, int] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._appended = asyncio.Event()

    # -- writes ---------------------------------------------------------------------------

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: int | None = ANY_VERSION
    ) -> int:
        """Append to one stream atomically; return its new version."""
        append = StreamAppend(stream=stream, events=events, expected_version=expected_version)
        staged = self._stage([append])
        self._apply(staged)
        return self._version(stream)

    async def append_bulk(self, appends: Sequence[StreamAppend]) -> int:
        """Append many streams' events atomically; return rows written."""
        staged = self._stage(appends)
        self._apply(staged)
        return len(staged)

    async def commit(self, consumer: str, position: int, appends: Sequence[StreamAppend]) -> None:
        """Append outputs and advance the checkpoint, atomically."""
        current = self._checkpoints.get(consumer, 0)
        if position <= current:
            raise CheckpointConflict(consumer, position, current)
        staged = self._stage(appends)
        self._apply(staged)
        self._checkpoints[consumer] = position

    def _stage(self, appends: Sequence[StreamAppend]) -> list[StoredEvent]:
        # Validate everything before writing anything, so a conflict leaves no trace.
        staged: list[StoredEvent] = []
        versions: dict[str, int] = {}
        seen: set[uuid.UUID] = set()
        now = self._clock.now()
        for append in appends:
            fresh = [
                e for e in append.events if e.event_id not in self._ids and e.event_id not in seen
            ]
            if not fresh:
                continue
            version = versions.get(append.stream, self._version(append.stream))
            if append.expected_version is not None and append.expected_version != version:
                raise WrongExpectedVersion(append.stream, append.expected_version, version)
            for event in fresh:
                version += 1
                seen.add(event.event_id)
                staged.append(self._stored(append.stream, version, event, now))
            versions[append.stream] = version
        return staged

    def _stored(self, stream: str, version: int, event: NewEvent, now: datetime) -> StoredEvent:
        return StoredEvent(
            position=0,  # assigned in _apply
            stream=stream,
            version=version,
            event_id=event.event_id,
            type=event.type,
            occurred_at=event.occurred_at,
            recorded_at=now,
            producer=event.producer,
            causation_id=event.causation_id,
            correlation_id=event.correlation_id,
            data=msgspec.Raw(encode_event(event.data)),
        )

    def _apply(self, staged: list[StoredEvent]) -> None:
        for event in staged:
            positioned = msgspec.structs.replace(event, position=len(self._log) + 1)
            self._log.append(positioned)
            self._ids.add(event.event_id)
            self._streams.setdefault(event.stream, []).append(positioned.position)
            category = stream_category(event.stream)
            self._categories.setdefault(category, []).append(positioned.position)
        if staged:
            self._appended.set()
            self._appended = asyncio.Event()

    # -- reads ----------------------------------------------------------------------------

    def _version(self, stream: str) -> int:
        return len(self._streams.get(stream, ()))

    async def checkpoint(self, consumer: str) -> int:
        """The last position `consumer` committed."""
        return self._checkpoints.get(consumer, 0)

    async def read_stream(
        self, stream: str, after_version: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Events of one stream after `after_version`."""
        positions = self._streams.get(stream, [])[after_version:]
        if limit is not None:
            positions = positions[:limit]
        return [self._log[p - 1].decode() for p in positions]

    async def read_all_raw(
        self, after: int = 0, limit: int = 1000, filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        """Events after `after` in global order, payload as JSON."""
        out: list[StoredEvent] = []
        candidates: Iterable[StoredEvent]
        if filter is not None and filter.categories is not None:
            candidates = self._in_categories(filter.categories, after)
        else:
            candidates = self._log[after:]
        for event in candidates:
            if matches(event, filter):
                out.append(event)
                if len(out) >= limit:
                    break
        return out

    def _in_categories(self, categories: Sequence[str], after: int) -> Iterator[StoredEvent]:
        runs: list[Iterator[int]] = []
        for category in categories:
            positions = self._categories.get(category, [])
            runs.append(_tail(positions, bisect.bisect_right(positions, after)))
        for position in heapq.merge(*runs):
            yield self._log[position - 1]

    async def read_all(
        self, after: int = 0, limit: int = 1000, filter: EventFilter | None = None
    ) -> list[RecordedEvent]:
        """Events after `after` in global order, decoded."""
        return [e.decode() for e in await self.read_all_raw(after, limit, filter)]

    async def head_position(self) -> int:
        """Highest position."""
        return len(self._log)

    async def stream_version(self, stream: str) -> int:
        """Current version of `stream`."""
        return self._version(stream)

    async def save_snapshot(self, consumer: str, position: int, state: bytes) -> None:
        """Keep the consumer's latest snapshot."""
        self._snapshots[consumer] = Snapshot(
            consumer=consumer, position=position, state=state, taken_at=self._clock.now()
        )

    async def load_snapshot(self, consumer: str) -> Snapshot | None:
        """The consumer's latest snapshot."""
        return self._snapshots.get(consumer)

    async def wait_for_append(self, timeout_s: float) -> None:
        """Wait until the next append or the timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._appended.wait(), timeout_s)

    async def close(self) -> None:
        """Nothing to release."""


def _tail(positions: list[int], start: int) -> Iterator[int]:
    """`positions[start:]` without copying it."""
    for index in range(start, len(positions)):
        yield positions[index]
