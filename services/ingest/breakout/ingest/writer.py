"""Batches market-data events into the store through COPY (`append_bulk`).

Events wait in memory for at most `flush_interval_s`; a flush writes every stream's pending
events in one transaction. A failed flush keeps the events and retries with backoff, so a
short database outage loses nothing; if the outage outlasts `max_buffered` events the writer
raises and the process dies, and the restarted process resumes from what the store holds
(trades are backfilled by id), which is the same recovery path as a SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

from breakout.common.backoff import Backoff
from breakout.common.events import NewEvent
from breakout.common.store.port import EventStore, StreamAppend

log = structlog.get_logger(__name__)

# Faults of the database connection (not of our data): worth waiting out.
_STORE_DOWN = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
)

WRITTEN = Counter("breakout_ingest_events_written_total", "md events appended", ["group"])
FLUSH_SECONDS = Histogram(
    "breakout_ingest_flush_seconds",
    "Time of one bulk append",
    ["group"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


class BufferOverflow(RuntimeError):
    """The store has refused writes for so long that memory would grow without bound."""


class MarketDataWriter:
    """Collects events per stream, in order, and appends them in bulk."""

    def __init__(
        self,
        store: EventStore,
        group: str,
        *,
        flush_interval_s: float = 0.05,
        max_batch: int = 5000,
        max_buffered: int = 500_000,
    ) -> None:
        self.store = store
        self.group = group
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self.max_buffered = max_buffered
        self._pending: dict[str, list[NewEvent]] = {}
        self._count = 0
        self._full = asyncio.Event()
        self._stopping = asyncio.Event()
        self.written = 0

    def put(self, stream: str, events: Sequence[NewEvent]) -> None:
        """Queue events of one stream (in stream order)."""
        if not events:
            return
        if self._count + len(events) > self.max_buffered:
            raise BufferOverflow(f"{self._count} md events unwritten; the store is not taking them")
        self._pending.setdefault(stream, []).extend(events)
        self._count += len(events)
        if self._count >= self.max_batch:
            self._full.set()

    @property
    def buffered(self) -> int:
        """Events queued and not yet written."""
        return self._count

    async def run(self) -> None:
        """Flush on a timer (or when a batch fills) until stopped, then flush what is left."""
        backoff = Backoff(base_s=0.1, max_s=5.0)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=self.flush_interval_s)
            try:
                await self.flush()
                backoff.reset()
            except _STORE_DOWN as failure:
                # Postgres unreachable or restarting: keep the events, retry.
                delay = backoff.next_delay_s()
                log.warning("md flush failed", error=repr(failure), retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)
        await self.flush()

    def stop(self) -> None:
        """Finish after one last flush."""
        self._stopping.set()
        self._full.set()

    async def flush(self) -> int:
        """Append everything pending now; on failure nothing is lost (it stays pending)."""
        self._full.clear()
        if not self._pending:
            return 0
        batch, count = self._pending, self._count
        self._pending, self._count = {}, 0
        appends = [StreamAppend(stream=s, events=e) for s, e in batch.items()]
        try:
            with FLUSH_SECONDS.labels(self.group).time():
                written = await self.store.append_bulk(appends)
        except BaseException:
            # Put the batch back in front of anything queued meanwhile, order kept per stream.
            for stream, events in self._pending.items():
                batch.setdefault(stream, []).extend(events)
            self._pending, self._count = batch, count + self._count
            raise
        self.written += written
        WRITTEN.labels(self.group).inc(written)
        return written
