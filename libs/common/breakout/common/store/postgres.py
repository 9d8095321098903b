"""PostgreSQL event store (asyncpg): the production implementation of `EventStore`."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeAlias

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from breakout.common.events import NewEvent, RecordedEvent, StoredEvent, is_market_data
from breakout.common.store import postgres_sql as q
from breakout.common.store.port import (
    ANY_VERSION,
    CheckpointConflict,
    EventFilter,
    Snapshot,
    StreamAppend,
    WrongExpectedVersion,
)

BeforeCommit = Callable[[], Awaitable[None]]
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
_PARTITION_RACE = (asyncpg.UniqueViolationError, asyncpg.DuplicateTableError,
                   asyncpg.DuplicateObjectError)  # fmt: skip


async def _keep_session(conn: asyncpg.Connection) -> None:
    # The pool's default reset (UNLISTEN, RESET ALL, unlock all...) costs a round trip on every
    # release, and these connections never keep session state: locks are transaction-scoped,
    # the listener has its own connection, the staging table drops at commit.
    return None


class _Mode(enum.Enum):
    INSERT = "insert"  # one INSERT ... SELECT unnest: lowest latency for a few events
    COPY_TRUSTED = "copy"  # COPY, trusting that no event is stored yet (a unique index checks)
    COPY_CHECKED = "copy-checked"  # COPY of only the events not stored yet


class PostgresEventStore:
    """Event store on one partitioned append-only table; writers serialized by an advisory lock."""

    def __init__(
        self, pool: asyncpg.Pool, dsn: str, before_commit: BeforeCommit | None = None
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._before_commit = before_commit
        self._md_days: set[date] = set()
        self._listener: asyncpg.Connection | None = None
        self._listener_lock = asyncio.Lock()
        self._appended = asyncio.Event()

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        before_commit: BeforeCommit | None = None,
    ) -> PostgresEventStore:
        """Open a pool on a migrated database; `before_commit` is a test hook run in each write."""
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, reset=_keep_session
        )
        return cls(pool, dsn, before_commit)

    # -- writes ---------------------------------------------------------------------------

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: int | None = ANY_VERSION
    ) -> int:
        """Append to one stream atomically; return its new version."""
        if not events:
            return await self.stream_version(stream)
        append = StreamAppend(stream=stream, events=events, expected_version=expected_version)
        _, versions = await self._write([append])
        return versions.get(stream, 0)

    async def append_bulk(self, appends: Sequence[StreamAppend]) -> int:
        """Append many streams' events in one transaction through COPY; return rows written."""
        written, _ = await self._write(appends, bulk=True)
        return written

    async def commit(self, consumer: str, position: int, appends: Sequence[StreamAppend]) -> None:
        """Append a consumer's outputs and advance its checkpoint to `position`, atomically."""
        if position <= 0:
            raise CheckpointConflict(consumer, position, await self.checkpoint(consumer))
        await self._write(appends, checkpoint=(consumer, position))

    async def _write(
        self,
        appends: Sequence[StreamAppend],
        *,
        bulk: bool = False,
        checkpoint: tuple[str, int] | None = None,
    ) -> tuple[int, dict[str, int]]:
        encoded = q.encode_appends(appends)
        await self._ensure_md_days(appends)
        if not bulk:
            return await self._transaction(appends, encoded, checkpoint, _Mode.INSERT)
        try:
            # Fast path: assume nothing is stored yet and COPY straight in.
            return await self._transaction(appends, encoded, checkpoint, _Mode.COPY_TRUSTED)
        except (asyncpg.UniqueViolationError, WrongExpectedVersion):
            # A retried batch breaks a unique index (or its stale expected versions): only then
            # pay for finding out which events are stored, in a second transaction. Retrying
            # the whole transaction is cheaper on the common path than a savepoint around COPY.
            return await self._transaction(appends, encoded, checkpoint, _Mode.COPY_CHECKED)

    async def _transaction(
        self,
        appends: Sequence[StreamAppend],
        encoded: Sequence[list[q.Row]],
        checkpoint: tuple[str, int] | None,
        mode: _Mode,
    ) -> tuple[int, dict[str, int]]:
        async with self._pool.acquire() as conn, conn.transaction():
            if checkpoint is not None:
                # Before the writer lock: a second instance of the consumer waits on the row
                # lock here, not while holding up every other writer.
                await self._advance_checkpoint(conn, *checkpoint)
            if not any(a.events for a in appends):
                # A checkpoint-only commit (the common case for most consumers) draws no
                # positions, so it need not queue behind the writers.
                return 0, {}
            await self._take_writer_lock(conn)
            if mode is _Mode.INSERT:
                versions, existing = await self._versions_and_existing(conn, appends)
                rows = q.stage(appends, encoded, versions, existing)
                if rows:
                    await conn.execute(q.INSERT_AND_NOTIFY, *zip(*rows, strict=True))
                    streams, heads = q.md_heads(rows)
                    if streams:
                        await conn.execute(q.MD_HEADS_ADVANCE, streams, heads)
            else:
                versions = await self._stream_versions(conn, appends)
                if mode is _Mode.COPY_TRUSTED:
                    rows = q.stage(appends, encoded, versions, set(), dedupe=False)
                else:
                    existing = await self._staged_existing_ids(conn, appends)
                    rows = q.stage(appends, encoded, versions, existing)
                if rows:
                    await self._copy_rows(conn, rows)
                    await conn.execute(q.MD_HEADS_AND_NOTIFY, *q.md_heads(rows))
            if self._before_commit is not None:
                await self._before_commit()
        return len(rows), versions

    async def _take_writer_lock(self, conn: Conn) -> None:
        # Why every writer takes one lock, here, right before its rows draw their positions:
        #
        # Positions come from a sequence, and a sequence hands out numbers in the order
        # transactions *ask*, not the order they *commit*. Without this lock, writer A could
        # draw 10, writer B draw 11, B commit, and a reader following `position > cursor` see
        # 11, move its cursor to 11, and never see 10 when A commits a moment later: an event
        # silently skipped by the relay and every catch-up consumer.
        #
        # Holding a transaction-scoped advisory lock from before the first nextval() until
        # commit makes "draw positions, commit" a critical section, so positions are handed
        # out in commit order. PostgreSQL's commit sequence makes a transaction's rows visible
        # (ProcArrayEndTransaction) before it releases its locks, so by the time the next
        # writer draws a number, every smaller number is either visible or rolled back (a gap
        # that will never fill). Hence a reader never sees position N while a smaller position
        # may still appear, and head = max(visible position) is safe to jump to.
        #
        # The cost is that writers commit one at a time. Everything that can happen outside
        # the critical section does: payload encoding, partition creation, the checkpoint row
        # lock. Inside, a domain append is 3 statements; a bulk append a version read, one COPY
        # per day partition and a stream-heads update.
        # The alternative (xid8 + snapshot xmin on the read side) is discussed in
        # docs/adr/0001-store-ordering.md. The lock must be its own statement: in READ
        # COMMITTED each statement takes its snapshot when it starts, so reads in the same
        # statement as the lock would not see the previous holder's rows.
        await conn.execute(q.WRITER_LOCK, q.WRITER_LOCK_KEY)

    async def _stream_versions(self, conn: Conn, appends: Sequence[StreamAppend]) -> dict[str, int]:
        streams = list({a.stream for a in appends})
        rows = await conn.fetch(q.STREAM_VERSIONS, streams)
        return {r["stream"]: r["version"] for r in rows}

    async def _versions_and_existing(
        self, conn: Conn, appends: Sequence[StreamAppend]
    ) -> tuple[dict[str, int], set[uuid.UUID]]:
        streams = list({a.stream for a in appends})
        ids = [e.event_id for a in appends for e in a.events]
        md_times = [e.occurred_at for a in appends if is_market_data(a.stream) for e in a.events]
        lo, hi = (min(md_times), max(md_times)) if md_times else (None, None)
        row = await conn.fetchrow(q.VERSIONS_AND_EXISTING, streams, ids, lo, hi)
        assert row is not None  # an aggregate query always returns one row
        return dict(zip(row["streams"], row["versions"], strict=True)), set(row["existing"])

    async def _copy_rows(self, conn: Conn, rows: list[q.Row]) -> None:
        # One COPY per leaf partition, in batch order: positions are drawn per COPY, so a batch
        # spanning two partitions still gets increasing positions within each stream.
        for table, part in q.copy_targets(rows).items():
            await conn.copy_records_to_table(table, records=part, columns=q.COLUMNS)

    async def _staged_existing_ids(
        self, conn: Conn, appends: Sequence[StreamAppend]
    ) -> set[uuid.UUID]:
        # A join against a COPY-filled temp table scales to batches far larger than an array
        # parameter would.
        keys = [
            (e.event_id, e.occurred_at, is_market_data(a.stream)) for a in appends for e in a.events
        ]
        await conn.execute(q.STAGING_CREATE)
        await conn.copy_records_to_table("breakout_staging", records=keys)
        return {r["event_id"] for r in await conn.fetch(q.STAGING_EXISTING)}

    async def _advance_checkpoint(self, conn: Conn, consumer: str, position: int) -> None:
        if await conn.fetchval(q.CHECKPOINT_ADVANCE, consumer, position) is None:
            current = await conn.fetchval(q.CHECKPOINT, consumer)
            raise CheckpointConflict(consumer, position, current or 0)

    async def _ensure_md_days(self, appends: Sequence[StreamAppend]) -> None:
        # Partitions are created in their own short transaction before the append's: DDL on the
        # partitioned table must never run while the writer lock is held.
        for day in sorted(q.md_days(appends) - self._md_days):
            for attempt in range(3):
                try:
                    await self._pool.execute(q.ENSURE_MD_DAY, day)
                    break
                except _PARTITION_RACE:
                    # Another writer created the same day between our check and our CREATE.
                    if attempt == 2:
                        raise
            self._md_days.add(day)

    # -- reads ----------------------------------------------------------------------------

    async def checkpoint(self, consumer: str) -> int:
        """The last global position `consumer` committed (0 if none)."""
        position: int | None = await self._pool.fetchval(q.CHECKPOINT, consumer)
        return position or 0

    async def read_stream(
        self, stream: str, after_version: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Events of one stream with version > `after_version`, in version order."""
        rows = await self._pool.fetch(
            q.READ_STREAM, stream, after_version, limit, is_market_data(stream)
        )
        return [stored_event(r).decode() for r in rows]

    async def read_all_raw(
        self, after: int = 0, limit: int = 1000, filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        """Events with position > `after` in global order, payloads left as JSON."""
        sql, args = q.read_all_query(filter)
        return [stored_event(r) for r in await self._pool.fetch(sql, after, limit, *args)]

    async def read_all(
        self, after: int = 0, limit: int = 1000, filter: EventFilter | None = None
    ) -> list[RecordedEvent]:
        """Events with position > `after` in global order, decoded."""
        return [e.decode() for e in await self.read_all_raw(after, limit, filter)]

    async def head_position(self) -> int:
        """The highest visible position: every smaller one is visible or never will be."""
        head: int = await self._pool.fetchval(q.HEAD)
        return head

    async def stream_version(self, stream: str) -> int:
        """Current version of `stream` (0 if it does not exist)."""
        version: int = await self._pool.fetchval(q.STREAM_VERSION, [stream])
        return version

    async def save_snapshot(self, consumer: str, position: int, state: bytes) -> None:
        """Keep `state` as `consumer`'s snapshot at `position`."""
        await self._pool.execute(q.SNAPSHOT_SAVE, consumer, position, state)

    async def load_snapshot(self, consumer: str) -> Snapshot | None:
        """The consumer's latest snapshot, or None."""
        row = await self._pool.fetchrow(q.SNAPSHOT_LOAD, consumer)
        if row is None:
            return None
        return Snapshot(
            consumer=row["consumer"],
            position=row["position"],
            state=bytes(row["state"]),
            taken_at=row["taken_at"],
        )

    # -- notifications --------------------------------------------------------------------

    async def wait_for_append(self, timeout_s: float) -> None:
        """Return when a NOTIFY says something was appended, or after `timeout_s` (a hint)."""
        await self._ensure_listener()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._appended.wait(), timeout_s)
        # Cleared after waking, not before waiting: a NOTIFY that lands while the caller was
        # reading makes the next wait return at once instead of being lost.
        self._appended.clear()

    async def _ensure_listener(self) -> None:
        async with self._listener_lock:
            if self._listener is not None and not self._listener.is_closed():
                return
            self._listener = await asyncpg.connect(self._dsn)
            await self._listener.add_listener(q.NOTIFY_CHANNEL, self._on_notify)
            # Anything may have been appended while no one listened.
            self._appended.set()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        self._appended.set()

    async def close(self) -> None:
        """Release the pool and the listening connection."""
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self._pool.close()


def stored_event(row: asyncpg.Record) -> StoredEvent:
    """A row selected with `postgres_sql.ENVELOPE`, as a `StoredEvent`."""
    return StoredEvent(
        position=row[0],
        stream=row[1],
        version=row[2],
        event_id=row[3],
        type=row[4],
        occurred_at=row[5],
        recorded_at=row[6],
        producer=row[7],
        causation_id=row[8],
        correlation_id=row[9],
        data=msgspec.Raw(row[10]),
    )
